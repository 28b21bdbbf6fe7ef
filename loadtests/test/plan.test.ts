import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILE,
  PROFILES,
  Planner,
  fixedSchedule,
  growthUsers,
  resolveProfile,
  summarizeSteps,
  worstCaseSeconds,
  type PlanProfile,
} from '../src/index.js';

/** Runs a planner against a synthetic stack that passes up to `capacity` users. */
function simulate(profile: PlanProfile, capacity: number | ((users: number) => boolean)) {
  const passes = typeof capacity === 'number' ? (u: number) => u <= capacity : capacity;
  const planner = new Planner(profile);
  const users: number[] = [];
  for (let guard = 0; guard < 1_000; guard++) {
    const step = planner.next();
    if (!step) break;
    users.push(step.users);
    planner.record(passes(step.users));
  }
  return { users, outcome: planner.outcome(), planner };
}

describe('profiles', () => {
  it('quick is the default', () => {
    expect(DEFAULT_PROFILE).toBe('quick');
  });

  it('smoke runs users 1 and 2 in seconds', () => {
    expect(growthUsers(PROFILES.smoke)).toEqual([1, 2]);
    expect(worstCaseSeconds(PROFILES.smoke)).toBeLessThanOrEqual(10);
  });

  it('quick covers 1..1024 users and fits the 8 default combinations in 10 minutes with ~15 s overhead each', () => {
    expect(growthUsers(PROFILES.quick)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    expect(PROFILES.quick.bisectSteps).toBeGreaterThanOrEqual(2);
    expect(8 * (worstCaseSeconds(PROFILES.quick) + 15)).toBeLessThanOrEqual(600);
  });

  it('full runs longer steps, three repeats, and fits the 8 default combinations in 45 minutes with ~20 s overhead per run', () => {
    expect(PROFILES.full.stepSeconds).toBeGreaterThan(PROFILES.quick.stepSeconds);
    expect(PROFILES.full.repeats).toBe(3);
    expect(8 * PROFILES.full.repeats * (worstCaseSeconds(PROFILES.full) + 20)).toBeLessThanOrEqual(45 * 60);
  });

  it('resolveProfile applies and validates overrides', () => {
    expect(resolveProfile('quick', { stepSeconds: 10 }).stepSeconds).toBe(10);
    expect(PROFILES.quick.stepSeconds).toBe(4); // not mutated
    expect(() => resolveProfile('quick', { maxUsers: 0 })).toThrow(RangeError);
    expect(() => resolveProfile('quick', { growthFactor: 1 })).toThrow(/growthFactor/);
    expect(() => resolveProfile('quick', { startUsers: 2000 })).toThrow(/maxUsers/);
    expect(() => resolveProfile('nope' as 'quick')).toThrow(/unknown profile/);
  });
});

describe('growthUsers', () => {
  it('grows geometrically, strictly, and ends exactly at maxUsers', () => {
    expect(growthUsers({ startUsers: 1, growthFactor: 1.5, maxUsers: 20 })).toEqual([1, 2, 3, 5, 8, 12, 18, 20]);
    expect(growthUsers({ startUsers: 10, growthFactor: 2, maxUsers: 50 })).toEqual([10, 20, 40, 50]);
    expect(growthUsers({ startUsers: 5, growthFactor: 2, maxUsers: 5 })).toEqual([5]);
    const tiny = growthUsers({ startUsers: 1, growthFactor: 1.01, maxUsers: 5 });
    expect(tiny).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('Planner', () => {
  it('every step passing: the whole growth sequence, breakpoint = maxUsers, capped', () => {
    const { users, outcome } = simulate(PROFILES.quick, Infinity);
    expect(users).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]);
    expect(outcome.breakpoint).toBe(1024);
    expect(outcome.firstFailing).toBeNull();
    expect(outcome.capped).toBe(true);
  });

  it('first step failing: breakpoint null, nothing more runs', () => {
    const { users, outcome } = simulate(PROFILES.quick, 0);
    expect(users).toEqual([1]);
    expect(outcome.breakpoint).toBeNull();
    expect(outcome.firstFailing).toBe(1);
    expect(outcome.capped).toBe(false);
  });

  it('bisects between the last passing and the first failing count, bounded', () => {
    const { users, outcome } = simulate(PROFILES.quick, 50);
    // growth 1..32 pass, 64 fails; bisection: 48 passes, 56 fails (2 steps).
    expect(users).toEqual([1, 2, 4, 8, 16, 32, 64, 48, 56]);
    expect(outcome.breakpoint).toBe(48);
    expect(outcome.firstFailing).toBe(56);
    expect(outcome.steps.filter((s) => s.phase === 'bisect')).toHaveLength(2);
  });

  it('with more bisection steps it narrows further', () => {
    const { users, outcome } = simulate(resolveProfile('quick', { bisectSteps: 10 }), 50);
    expect(users.slice(7)).toEqual([48, 56, 52, 50, 51]);
    expect(outcome.breakpoint).toBe(50);
  });

  it('stops bisecting when there is nothing between the bounds', () => {
    const { users, outcome } = simulate(PROFILES.quick, 1);
    expect(users).toEqual([1, 2]);
    expect(outcome.breakpoint).toBe(1);
  });

  it('full: first step at 1 user, up to 3 bisection steps', () => {
    const { users, outcome } = simulate(PROFILES.full, 100);
    expect(users).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 96, 112, 104]);
    expect(outcome.breakpoint).toBe(96);
  });

  it('gives the first step the initial warm-up and the others the short one', () => {
    const p = new Planner(PROFILES.quick);
    const first = p.next()!;
    expect(first).toEqual({ index: 0, users: 1, phase: 'growth', warmupSeconds: 2, stepSeconds: 4 });
    expect(p.next()).toBe(first); // same step until recorded
    p.record(true);
    expect(p.next()).toMatchObject({ index: 1, users: 2, warmupSeconds: 0.5 });
  });

  it('record() needs a pending step; abort() ends the run', () => {
    const p = new Planner(PROFILES.quick);
    expect(() => p.record(true)).toThrow(/next/);
    p.next();
    p.record(true);
    p.next();
    p.abort();
    expect(p.next()).toBeNull();
    expect(p.done).toBe(true);
    expect(p.outcome()).toMatchObject({ breakpoint: 1, firstFailing: null, capped: false });
  });

  it('the worst case matches the simulated maximum number of steps', () => {
    const { users } = simulate(PROFILES.quick, 1023);
    expect(users.length).toBe(growthUsers(PROFILES.quick).length + PROFILES.quick.bisectSteps);
  });
});

describe('summarizeSteps', () => {
  it('ignores a noisy pass above the first failure', () => {
    const o = summarizeSteps([
      { users: 1, passed: true, phase: 'growth' },
      { users: 2, passed: true, phase: 'growth' },
      { users: 4, passed: false, phase: 'growth' },
      { users: 8, passed: true, phase: 'growth' },
    ]);
    expect(o.breakpoint).toBe(2);
    expect(o.firstFailing).toBe(4);
  });

  it('is null for no steps', () => {
    expect(summarizeSteps([]).breakpoint).toBeNull();
  });
});

describe('fixedSchedule', () => {
  it('is the growth sequence with warm-ups (for k6)', () => {
    const s = fixedSchedule(PROFILES.smoke);
    expect(s).toEqual([
      { index: 0, users: 1, phase: 'growth', warmupSeconds: 1, stepSeconds: 2 },
      { index: 1, users: 2, phase: 'growth', warmupSeconds: 0.5, stepSeconds: 2 },
    ]);
  });
});
