/**
 * Step plans: how much load each step offers, for how long, and when to stop.
 *
 * Two load models:
 * - `closed` (the default): the load is a number of virtual users, each waiting for its response before it sends the
 *   next request (users grow; the breakpoint is the most users that kept the threshold);
 * - `open`: the load is an arrival rate of journeys per second, started on schedule whether or not earlier ones have
 *   finished (k6's constant-arrival-rate; the breakpoint is the highest offered rate that kept the threshold).
 *
 * A run grows the load geometrically (start, start x growth, ... capped at the maximum), or follows an explicit
 * list, until the first step fails the threshold. It then bisects between the last passing and the first failing
 * load, for at most `bisectSteps` extra steps. The breakpoint is the largest load that passed (null when even the
 * first step failed). Steps are independent measurements (a per-step verdict, not a whole-run one: see k6 issues
 * 1136/2379).
 *
 * Pure: no clock, no I/O. The orchestrator asks {@link Planner.next} for a step, runs it, and reports the verdict
 * with {@link Planner.record}.
 */

export const LOAD_MODELS = ['closed', 'open'] as const;
export type LoadModel = (typeof LOAD_MODELS)[number];

/** How one model's load grows. */
export interface LoadGrowth {
  /** Load of the first step (users, or journeys per second). */
  start: number;
  /** Growth stops here (the last growth step runs exactly max). */
  max: number;
  /** Explicit loads instead of the geometric growth (ascending); `start`/`max` are then their first and last. */
  steps?: number[];
  /** Load at which the cost per request is read (below saturation, the same for every combination). */
  costAt: number;
}

export interface PlanProfile {
  name: string;
  closed: LoadGrowth;
  open: LoadGrowth;
  /** Multiplier between consecutive growth steps (> 1); loads are rounded up and always grow by at least 1. */
  growthFactor: number;
  /** Measured seconds per step. */
  stepSeconds: number;
  /** Unrecorded warm-up before each step's measurement (new connections, JIT), seconds. */
  warmupSeconds: number;
  /** Warm-up of the very first step of a run (a cold app), seconds; replaces `warmupSeconds` there. */
  initialWarmupSeconds: number;
  /** Extra steps allowed after the first failure to narrow the breakpoint (0 = none). */
  bisectSteps: number;
  /** How many times the orchestrator runs the whole plan per combination (the report takes the median). */
  repeats: number;
}

export const PROFILE_NAMES = ['smoke', 'quick', 'full'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

/**
 * Budgets (worst case = growth reaches the maximum and every bisection step runs; see {@link worstCaseSeconds}):
 * - smoke: 1, 2 users (2, 4 journeys/s); 2 s steps. Worst case 1 + 2 + 0.5 + 2 = 5.5 s per combination. For CI.
 * - quick (default): 1, 2, 4 ... 1024 users (11 growth steps) + 2 bisection steps, 4 s steps, 0.5 s warm-up (2 s
 *   for the first step). Worst case 2 + 13 x 4 + 12 x 0.5 = 60 s of load per combination: the 8 combinations of the
 *   default selection = 8 min, leaving ~15 s per combination for app start, database reset and verification inside
 *   the 10-minute budget. Typical runs break well before 1024 and take less.
 * - full: the same growth + 5 bisection steps (the breakpoint to 1/32 of the last doubling, ~3 %, below the
 *   repeat spread it is compared with), 5 s steps, 1 s warm-up (3 s first), 3 repeats. Worst case
 *   3 + 16 x 5 + 15 x 1 = 98 s per run: 8 combinations x 3 repeats = 39 min of load inside 45 minutes.
 * The open model grows journeys/s from 4 (smoke 2) to 4096 with the same step lengths.
 * The cost per request is read at 8 users / 32 journeys per second (2 users / 4 per second in smoke): below the
 * breakpoint of every default combination here, per-request connections included.
 */
export const PROFILES: Readonly<Record<ProfileName, PlanProfile>> = {
  smoke: {
    name: 'smoke',
    closed: { start: 1, max: 2, costAt: 2 },
    open: { start: 2, max: 4, costAt: 4 },
    growthFactor: 2,
    stepSeconds: 2,
    warmupSeconds: 0.5,
    initialWarmupSeconds: 1,
    bisectSteps: 0,
    repeats: 1,
  },
  quick: {
    name: 'quick',
    closed: { start: 1, max: 1024, costAt: 8 },
    open: { start: 4, max: 4096, costAt: 32 },
    growthFactor: 2,
    stepSeconds: 4,
    warmupSeconds: 0.5,
    initialWarmupSeconds: 2,
    bisectSteps: 2,
    repeats: 1,
  },
  full: {
    name: 'full',
    closed: { start: 1, max: 1024, costAt: 8 },
    open: { start: 4, max: 4096, costAt: 32 },
    growthFactor: 2,
    stepSeconds: 5,
    warmupSeconds: 1,
    initialWarmupSeconds: 3,
    bisectSteps: 5,
    repeats: 3,
  },
};

export const DEFAULT_PROFILE: ProfileName = 'quick';

export function isProfileName(value: string): value is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(value);
}

export type ProfileOverrides = Partial<Omit<PlanProfile, 'name' | 'closed' | 'open'>> & {
  closed?: Partial<LoadGrowth>;
  open?: Partial<LoadGrowth>;
};

/** A profile by name, with optional overrides (validated). Throws RangeError on a bad value. */
export function resolveProfile(name: ProfileName = DEFAULT_PROFILE, overrides: ProfileOverrides = {}): PlanProfile {
  const base = PROFILES[name];
  if (!base) throw new RangeError(`unknown profile "${String(name)}" (known: ${PROFILE_NAMES.join(', ')})`);
  const profile: PlanProfile = Object.assign({}, base, { closed: Object.assign({}, base.closed), open: Object.assign({}, base.open) });
  for (const key of Object.keys(overrides) as Array<keyof ProfileOverrides>) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (key === 'closed' || key === 'open') {
      const growth = value as Partial<LoadGrowth>;
      const target = profile[key];
      for (const k of Object.keys(growth) as Array<keyof LoadGrowth>) if (growth[k] !== undefined) (target as unknown as Record<string, unknown>)[k] = growth[k];
      // An explicit list defines the range.
      if (growth.steps) {
        target.start = growth.steps[0]!;
        target.max = growth.steps[growth.steps.length - 1]!;
      }
    } else {
      (profile as unknown as Record<string, number>)[key] = value as number;
    }
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
  for (const model of LOAD_MODELS) {
    const g = p[model];
    const unit = model === 'closed' ? 'users' : 'rate';
    // The list first: an empty one leaves start/max undefined, which would hide the real reason.
    if (g.steps) {
      if (g.steps.length === 0) throw new RangeError(`${model}: an explicit step list needs at least one load`);
      g.steps.forEach((v, i) => {
        int(v, `${model} step ${i + 1}`, 1);
        if (i > 0 && v <= g.steps![i - 1]!) throw new RangeError(`${model}: explicit steps must be strictly ascending, got ${g.steps!.join(',')}`);
      });
    }
    int(g.start, `${model} start ${unit}`, 1);
    int(g.max, `${model} max ${unit}`, 1);
    if (g.max < g.start) throw new RangeError(`${model}: max (${g.max}) must be >= start (${g.start})`);
    num(g.costAt, `${model} cost load`, 0, true);
  }
  num(p.growthFactor, 'growthFactor', 1, true);
  num(p.stepSeconds, 'stepSeconds', 0, true);
  num(p.warmupSeconds, 'warmupSeconds', 0, false);
  num(p.initialWarmupSeconds, 'initialWarmupSeconds', 0, false);
  int(p.bisectSteps, 'bisectSteps', 0);
  int(p.repeats, 'repeats', 1);
}

/** The growth sequence of a model: its explicit list, or start, ceil(prev x factor) (at least prev + 1), ..., max. */
export function growthLoads(profile: Pick<PlanProfile, 'growthFactor'> & Partial<Pick<PlanProfile, LoadModel>>, model: LoadModel = 'closed'): number[] {
  const g = profile[model];
  if (!g) throw new RangeError(`the profile has no ${model} plan`);
  if (g.steps) return g.steps.slice();
  const loads: number[] = [];
  let u = g.start;
  // Bounded: every step grows by >= 1 and stops at max; the 10 000 cap guards silly inputs.
  while (loads.length < 10_000) {
    loads.push(u);
    if (u >= g.max) break;
    u = Math.min(g.max, Math.max(u + 1, Math.ceil(u * profile.growthFactor - 1e-9)));
  }
  return loads;
}

/** Worst-case seconds of load for one run of the plan (growth reaches the maximum, then every bisection step runs). */
export function worstCaseSeconds(profile: PlanProfile, model: LoadModel = 'closed'): number {
  const steps = growthLoads(profile, model).length + profile.bisectSteps;
  return profile.initialWarmupSeconds + steps * profile.stepSeconds + (steps - 1) * profile.warmupSeconds;
}

export type StepPhase = 'growth' | 'bisect';

export interface PlannedStep {
  /** 0-based position in the run. */
  index: number;
  model: LoadModel;
  /** Virtual users (closed) or offered journeys per second (open). */
  load: number;
  phase: StepPhase;
  warmupSeconds: number;
  stepSeconds: number;
}

export interface StepVerdict {
  load: number;
  passed: boolean;
  phase: StepPhase;
}

export interface PlanOutcome {
  /** Largest load that passed; null when the first step failed (or nothing ran). */
  breakpoint: number | null;
  /** Smallest load that failed; null when every step passed. */
  firstFailing: number | null;
  /** Every growth step up to the maximum passed: the real breakpoint may be higher. */
  capped: boolean;
  steps: StepVerdict[];
}

/**
 * Drives one run of a profile. `next()` returns the step to run (the same step until it is recorded) or null when
 * the run is over; `record(passed)` gives that step's verdict.
 */
export class Planner {
  readonly profile: PlanProfile;
  readonly model: LoadModel;
  private readonly growth: number[];
  private growthIndex = 0;
  private bisectLeft: number;
  private lo: number | null = null;
  private hi: number | null = null;
  private current: PlannedStep | null = null;
  private finished = false;
  private readonly verdicts: StepVerdict[] = [];

  constructor(profile: PlanProfile, model: LoadModel = 'closed') {
    validateProfile(profile);
    this.profile = profile;
    this.model = model;
    this.growth = growthLoads(profile, model);
    this.bisectLeft = profile.bisectSteps;
  }

  get done(): boolean {
    return this.finished;
  }

  next(): PlannedStep | null {
    if (this.current) return this.current;
    if (this.finished) return null;
    let load: number;
    let phase: StepPhase;
    if (this.hi === null) {
      if (this.growthIndex >= this.growth.length) return this.finish();
      load = this.growth[this.growthIndex]!;
      phase = 'growth';
    } else {
      if (this.lo === null || this.bisectLeft <= 0) return this.finish();
      const mid = Math.floor((this.lo + this.hi) / 2);
      if (mid <= this.lo) return this.finish();
      load = mid;
      phase = 'bisect';
    }
    const index = this.verdicts.length;
    this.current = {
      index,
      model: this.model,
      load,
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
    this.verdicts.push({ load: step.load, passed, phase: step.phase });
    if (step.phase === 'growth') this.growthIndex++;
    else this.bisectLeft--;
    if (passed) this.lo = step.load;
    else this.hi = step.load;
  }

  /** Stops the run early (e.g. the app crashed): the outcome covers the steps recorded so far. */
  abort(): void {
    this.current = null;
    this.finished = true;
  }

  outcome(): PlanOutcome {
    return summarizeSteps(this.verdicts, this.profile[this.model].max);
  }

  private finish(): null {
    this.finished = true;
    return null;
  }
}

/**
 * The outcome of a list of step verdicts: breakpoint = the largest load that passed below the smallest load that
 * failed (a noisy pass above a failure does not count), null if none passed.
 */
export function summarizeSteps(steps: StepVerdict[], maxLoad?: number): PlanOutcome {
  let firstFailing: number | null = null;
  for (const s of steps) if (!s.passed && (firstFailing === null || s.load < firstFailing)) firstFailing = s.load;
  let breakpoint: number | null = null;
  for (const s of steps) {
    if (s.passed && (firstFailing === null || s.load < firstFailing) && (breakpoint === null || s.load > breakpoint)) {
      breakpoint = s.load;
    }
  }
  const capped = firstFailing === null && breakpoint !== null && maxLoad !== undefined && breakpoint >= maxLoad;
  return { breakpoint, firstFailing, capped, steps: steps.slice() };
}

/** The step list of a non-adaptive run (k6 on its own runs a fixed schedule): the growth sequence only, no bisection. */
export function fixedSchedule(profile: PlanProfile, model: LoadModel = 'closed'): PlannedStep[] {
  return growthLoads(profile, model).map((load, index) => ({
    index,
    model,
    load,
    phase: 'growth' as const,
    warmupSeconds: index === 0 ? profile.initialWarmupSeconds : profile.warmupSeconds,
    stepSeconds: profile.stepSeconds,
  }));
}
