/**
 * Step plans: how many virtual users each step runs, for how long, and when to stop.
 *
 * A run grows the user count geometrically (start, start x growth, ... capped at maxUsers) until the first step fails
 * the threshold. It then bisects between the last passing and the first failing count, for at most `bisectSteps`
 * extra steps. The breakpoint is the largest user count that passed (null when even the first step failed). Steps
 * are independent measurements (a per-step verdict, not a whole-run one: see k6 issues 1136/2379).
 *
 * Pure: no clock, no I/O. The orchestrator asks {@link Planner.next} for a step, runs it, and reports the verdict
 * with {@link Planner.record}.
 */

export interface PlanProfile {
  name: string;
  /** Users of the first step. */
  startUsers: number;
  /** Multiplier between consecutive growth steps (> 1); counts are rounded up and always grow by at least 1. */
  growthFactor: number;
  /** Measured seconds per step. */
  stepSeconds: number;
  /** Unrecorded warm-up before each step's measurement (new connections, JIT), seconds. */
  warmupSeconds: number;
  /** Warm-up of the very first step of a run (a cold app), seconds; replaces `warmupSeconds` there. */
  initialWarmupSeconds: number;
  /** Growth stops here (the last growth step runs exactly maxUsers). */
  maxUsers: number;
  /** Extra steps allowed after the first failure to narrow the breakpoint (0 = none). */
  bisectSteps: number;
  /** How many times the orchestrator runs the whole plan per combination (the report takes the median). */
  repeats: number;
}

export const PROFILE_NAMES = ['smoke', 'quick', 'full'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/**
 * Budgets (worst case = growth reaches maxUsers and every bisection step runs; see {@link worstCaseSeconds}):
 * - smoke: users 1, 2; 2 s steps. Worst case 1 + 2 + 0.5 + 2 = 5.5 s per combination. For CI.
 * - quick (default): 1, 2, 4 ... 1024 (11 growth steps) + 2 bisection steps, 4 s steps, 0.5 s warm-up (2 s for
 *   the first step). Worst case 2 + 13 x 4 + 12 x 0.5 = 60 s of load per combination: the 8 combinations of the
 *   default selection = 8 min, leaving ~15 s per combination for app start, database reset and verification inside
 *   the 10-minute budget. The cap is 1024 because pooled Fastify on pg passed 256 users here: a cap below the
 *   breakpoint makes stacks unranked ties. Typical runs break well before it and take less.
 * - full: 1, 2, 4 ... 1024 (11 growth steps) + 3 bisection steps, 5 s steps, 1 s warm-up (3 s first), 3 repeats.
 *   Worst case 3 + 14 x 5 + 13 x 1 = 86 s per run: 8 combinations x 3 repeats = 34.4 min of load, leaving ~20 s
 *   per run for start/reset inside 45 minutes. It starts at 1 user like every plan: per-request combinations can
 *   break at a handful of users, and a breakpoint of 1 must be measurable. Three bisection steps resolve the
 *   breakpoint to 1/8 of the last doubling.
 */
export const PROFILES: Readonly<Record<ProfileName, PlanProfile>> = {
  smoke: {
    name: 'smoke',
    startUsers: 1,
    growthFactor: 2,
    stepSeconds: 2,
    warmupSeconds: 0.5,
    initialWarmupSeconds: 1,
    maxUsers: 2,
    bisectSteps: 0,
    repeats: 1,
  },
  quick: {
    name: 'quick',
    startUsers: 1,
    growthFactor: 2,
    stepSeconds: 4,
    warmupSeconds: 0.5,
    initialWarmupSeconds: 2,
    maxUsers: 1024,
    bisectSteps: 2,
    repeats: 1,
  },
  full: {
    name: 'full',
    startUsers: 1,
    growthFactor: 2,
    stepSeconds: 5,
    warmupSeconds: 1,
    initialWarmupSeconds: 3,
    maxUsers: 1024,
    bisectSteps: 3,
    repeats: 3,
  },
};

export const DEFAULT_PROFILE: ProfileName = 'quick';

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value);
}

/** A profile by name, with optional overrides (validated). Throws RangeError on a bad value. */
export function resolveProfile(name: ProfileName = DEFAULT_PROFILE, overrides: Partial<Omit<PlanProfile, 'name'>> = {}): PlanProfile {
  const base = PROFILES[name];
  if (!base) throw new RangeError(`unknown profile "${String(name)}" (known: ${PROFILE_NAMES.join(', ')})`);
  const profile: PlanProfile = Object.assign({}, base);
  for (const key of Object.keys(overrides) as Array<keyof typeof overrides>) {
    const value = overrides[key];
    if (value !== undefined) (profile as unknown as Record<string, number>)[key] = value;
  }
  validateProfile(profile);
  return profile;
}

export function validateProfile(p: PlanProfile): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  const num = (v: number, name: string, min: number, strict: boolean) => {
    if (!Number.isFinite(v) || (strict ? v <= min : v < min)) {
      throw new RangeError(`${name} must be a number ${strict ? '>' : '>='} ${min}, got ${v}`);
    }
  };
  int(p.startUsers, 'startUsers', 1);
  int(p.maxUsers, 'maxUsers', 1);
  if (p.maxUsers < p.startUsers) throw new RangeError(`maxUsers (${p.maxUsers}) must be >= startUsers (${p.startUsers})`);
  num(p.growthFactor, 'growthFactor', 1, true);
  num(p.stepSeconds, 'stepSeconds', 0, true);
  num(p.warmupSeconds, 'warmupSeconds', 0, false);
  num(p.initialWarmupSeconds, 'initialWarmupSeconds', 0, false);
  int(p.bisectSteps, 'bisectSteps', 0);
  int(p.repeats, 'repeats', 1);
}

/** The growth sequence: start, ceil(prev x factor) (at least prev + 1), ..., ending exactly at maxUsers. */
export function growthUsers(profile: Pick<PlanProfile, 'startUsers' | 'growthFactor' | 'maxUsers'>): number[] {
  const users: number[] = [];
  let u = profile.startUsers;
  // Bounded: every step grows by >= 1 and stops at maxUsers; the 10 000 cap guards silly inputs.
  while (users.length < 10_000) {
    users.push(u);
    if (u >= profile.maxUsers) break;
    u = Math.min(profile.maxUsers, Math.max(u + 1, Math.ceil(u * profile.growthFactor - 1e-9)));
  }
  return users;
}

/** Worst-case seconds of load for one run of the plan (growth reaches maxUsers, then every bisection step runs). */
export function worstCaseSeconds(profile: PlanProfile): number {
  const steps = growthUsers(profile).length + profile.bisectSteps;
  return profile.initialWarmupSeconds + steps * profile.stepSeconds + (steps - 1) * profile.warmupSeconds;
}

export type StepPhase = 'growth' | 'bisect';

export interface PlannedStep {
  /** 0-based position in the run. */
  index: number;
  users: number;
  phase: StepPhase;
  warmupSeconds: number;
  stepSeconds: number;
}

export interface StepVerdict {
  users: number;
  passed: boolean;
  phase: StepPhase;
}

export interface PlanOutcome {
  /** Largest user count that passed; null when the first step failed (or nothing ran). */
  breakpoint: number | null;
  /** Smallest user count that failed; null when every step passed. */
  firstFailing: number | null;
  /** Every growth step up to maxUsers passed: the real breakpoint may be higher. */
  capped: boolean;
  steps: StepVerdict[];
}

/**
 * Drives one run of a profile. `next()` returns the step to run (the same step until it is recorded) or null when
 * the run is over; `record(passed)` gives that step's verdict.
 */
export class Planner {
  readonly profile: PlanProfile;
  private readonly growth: number[];
  private growthIndex = 0;
  private bisectLeft: number;
  private lo: number | null = null;
  private hi: number | null = null;
  private current: PlannedStep | null = null;
  private finished = false;
  private readonly verdicts: StepVerdict[] = [];

  constructor(profile: PlanProfile) {
    validateProfile(profile);
    this.profile = profile;
    this.growth = growthUsers(profile);
    this.bisectLeft = profile.bisectSteps;
  }

  get done(): boolean {
    return this.finished;
  }

  next(): PlannedStep | null {
    if (this.current) return this.current;
    if (this.finished) return null;
    let users: number;
    let phase: StepPhase;
    if (this.hi === null) {
      if (this.growthIndex >= this.growth.length) return this.finish();
      users = this.growth[this.growthIndex]!;
      phase = 'growth';
    } else {
      if (this.lo === null || this.bisectLeft <= 0) return this.finish();
      const mid = Math.floor((this.lo + this.hi) / 2);
      if (mid <= this.lo) return this.finish();
      users = mid;
      phase = 'bisect';
    }
    const index = this.verdicts.length;
    this.current = {
      index,
      users,
      phase,
      warmupSeconds: index === 0 ? this.profile.initialWarmupSeconds : this.profile.warmupSeconds,
      stepSeconds: this.profile.stepSeconds,
    };
    return this.current;
  }

  record(passed: boolean): void {
    const step = this.current;
    if (!step) throw new Error('record() without a pending step: call next() first');
    this.current = null;
    this.verdicts.push({ users: step.users, passed, phase: step.phase });
    if (step.phase === 'growth') {
      this.growthIndex++;
      if (passed) this.lo = step.users;
      else this.hi = step.users;
    } else {
      this.bisectLeft--;
      if (passed) this.lo = step.users;
      else this.hi = step.users;
    }
  }

  /** Stops the run early (e.g. the app crashed): the outcome covers the steps recorded so far. */
  abort(): void {
    this.current = null;
    this.finished = true;
  }

  outcome(): PlanOutcome {
    return summarizeSteps(this.verdicts, this.profile.maxUsers);
  }

  private finish(): null {
    this.finished = true;
    return null;
  }
}

/**
 * The outcome of a list of step verdicts: breakpoint = the largest user count that passed below the smallest count
 * that failed (a noisy pass above a failure does not count), null if none passed.
 */
export function summarizeSteps(steps: StepVerdict[], maxUsers?: number): PlanOutcome {
  let firstFailing: number | null = null;
  for (const s of steps) if (!s.passed && (firstFailing === null || s.users < firstFailing)) firstFailing = s.users;
  let breakpoint: number | null = null;
  for (const s of steps) {
    if (s.passed && (firstFailing === null || s.users < firstFailing) && (breakpoint === null || s.users > breakpoint)) {
      breakpoint = s.users;
    }
  }
  const capped = firstFailing === null && breakpoint !== null && maxUsers !== undefined && breakpoint >= maxUsers;
  return { breakpoint, firstFailing, capped, steps: steps.slice() };
}

/** The step list of a non-adaptive engine (k6 runs a fixed schedule): the growth sequence only, no bisection. */
export function fixedSchedule(profile: PlanProfile): PlannedStep[] {
  return growthUsers(profile).map((users, index) => ({
    index,
    users,
    phase: 'growth' as const,
    warmupSeconds: index === 0 ? profile.initialWarmupSeconds : profile.warmupSeconds,
    stepSeconds: profile.stepSeconds,
  }));
}
