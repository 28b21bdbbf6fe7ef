import { describe, expect, it } from 'vitest';
import {
  DEFAULT_PROFILE,
  LOAD_MODELS,
  PROFILES,
  PROFILE_NAMES,
  Planner,
  fixedSchedule,
  growthLoads,
  isProfileName,
  resolveProfile,
  summarizeSteps,
  worstCaseSeconds,
  type LoadModel,
  type PlanProfile,
} from '../src/index.js';

/** Runs a planner against a synthetic stack that passes up to `capacity` (users, or journeys per second). */
function simulate(profile: PlanProfile, capacity: number | ((load: number) => boolean), model: LoadModel = 'closed') {
  const passes = typeof capacity === 'number' ? (u: number) => u <= capacity : capacity;
  const planner = new Planner(profile, model);
  const loads: number[] = [];
  for (let guard = 0; guard < 1_000; guard++) {
    const step = planner.next();
    if (!step) break;
    expect(step.model).toBe(model);
    loads.push(step.load);
    planner.record(passes(step.load));
  }
  return { loads, outcome: planner.outcome(), planner };
}

const DOUBLING_USERS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const DOUBLING_RATES = [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];

describe('profiles', () => {
  it('quick is the default; names are checked', () => {
    expect(DEFAULT_PROFILE).toBe('quick');
    expect(PROFILE_NAMES).toEqual(['smoke', 'quick', 'full']);
    expect(isProfileName('full')).toBe(true);
    expect(isProfileName('huge')).toBe(false);
  });

  it('smoke runs 1, 2 users or 2, 4 journeys/s in seconds', () => {
    expect(growthLoads(PROFILES.smoke, 'closed')).toEqual([1, 2]);
    expect(growthLoads(PROFILES.smoke, 'open')).toEqual([2, 4]);
    // 1 s first warm-up + 2 steps x 2 s + one 0.5 s warm-up.
    expect(worstCaseSeconds(PROFILES.smoke)).toBe(5.5);
    expect(worstCaseSeconds(PROFILES.smoke, 'open')).toBe(5.5);
  });

  it('quick covers 1..1024 users and 4..4096 journeys/s and fits the 8 default combinations in 10 minutes with ~15 s overhead each', () => {
    expect(growthLoads(PROFILES.quick)).toEqual(DOUBLING_USERS);
    expect(growthLoads(PROFILES.quick, 'open')).toEqual(DOUBLING_RATES);
    expect(PROFILES.quick.bisectSteps).toBeGreaterThanOrEqual(2);
    for (const model of LOAD_MODELS) {
      expect(worstCaseSeconds(PROFILES.quick, model)).toBe(60);
      expect(8 * (worstCaseSeconds(PROFILES.quick, model) + 15)).toBeLessThanOrEqual(600);
    }
  });

  it('full runs longer steps, more bisection, three repeats: 39 min of load for the 8 default combinations, inside 45 minutes', () => {
    expect(PROFILES.full.stepSeconds).toBeGreaterThan(PROFILES.quick.stepSeconds);
    expect(PROFILES.full.bisectSteps).toBeGreaterThan(PROFILES.quick.bisectSteps);
    expect(PROFILES.full.repeats).toBe(3);
    for (const model of LOAD_MODELS) {
      const load = 8 * PROFILES.full.repeats * worstCaseSeconds(PROFILES.full, model);
      expect(load).toBeLessThanOrEqual(40 * 60);
      // What is left covers app start, database reset and verification: >= 14 s per run.
      expect(45 * 60 - load).toBeGreaterThanOrEqual(8 * PROFILES.full.repeats * 14);
    }
  });

  it('reads the cost per request at a load every profile runs as a growth step', () => {
    for (const name of PROFILE_NAMES) {
      for (const model of LOAD_MODELS) {
        const profile = PROFILES[name];
        expect(growthLoads(profile, model), `${name} ${model}`).toContain(profile[model].costAt);
      }
    }
  });

  it('resolveProfile applies and validates overrides without touching the presets', () => {
    expect(resolveProfile('quick', { stepSeconds: 10 }).stepSeconds).toBe(10);
    expect(PROFILES.quick.stepSeconds).toBe(4); // not mutated
    const open = resolveProfile('quick', { open: { max: 100 } });
    expect(open.open).toEqual({ start: 4, max: 100, costAt: 32 });
    expect(open.closed).toEqual(PROFILES.quick.closed);
    expect(PROFILES.quick.open.max).toBe(4096); // not mutated
    expect(() => resolveProfile('quick', { closed: { max: 0 } })).toThrow(RangeError);
    expect(() => resolveProfile('quick', { growthFactor: 1 })).toThrow(/growthFactor/);
    expect(() => resolveProfile('quick', { closed: { start: 2000 } })).toThrow(/max/);
    expect(() => resolveProfile('quick', { open: { costAt: 0 } })).toThrow(/cost/);
    expect(() => resolveProfile('quick', { stepSeconds: 0 })).toThrow(/stepSeconds/);
    expect(() => resolveProfile('quick', { warmupSeconds: -1 })).toThrow(/warmupSeconds/);
    expect(() => resolveProfile('quick', { bisectSteps: 1.5 })).toThrow(/bisectSteps/);
    expect(() => resolveProfile('quick', { repeats: 0 })).toThrow(/repeats/);
    expect(() => resolveProfile('nope' as 'quick')).toThrow(/unknown profile/);
  });

  it('an explicit step list replaces the growth and defines the range', () => {
    const p = resolveProfile('quick', { closed: { steps: [40, 50, 60, 70, 80] } });
    expect(p.closed).toMatchObject({ start: 40, max: 80, steps: [40, 50, 60, 70, 80] });
    expect(growthLoads(p)).toEqual([40, 50, 60, 70, 80]);
    expect(growthLoads(p, 'open')).toEqual(DOUBLING_RATES);
    expect(() => resolveProfile('quick', { closed: { steps: [40, 40, 60] } })).toThrow(/ascending/);
    expect(() => resolveProfile('quick', { closed: { steps: [0, 10] } })).toThrow(RangeError);
    expect(() => resolveProfile('quick', { closed: { steps: [5, 2.5] } })).toThrow(RangeError);
    expect(() => resolveProfile('quick', { open: { steps: [] } })).toThrow(/at least one load/);
  });
});

describe('growthLoads', () => {
  it('grows geometrically, strictly, and ends exactly at max', () => {
    const closed = (start: number, max: number, growthFactor: number) => growthLoads({ growthFactor, closed: { start, max, costAt: start } });
    expect(closed(1, 20, 1.5)).toEqual([1, 2, 3, 5, 8, 12, 18, 20]);
    expect(closed(10, 50, 2)).toEqual([10, 20, 40, 50]);
    expect(closed(5, 5, 2)).toEqual([5]);
    expect(closed(1, 5, 1.01)).toEqual([1, 2, 3, 4, 5]);
    expect(growthLoads({ growthFactor: 3, open: { start: 2, max: 100, costAt: 2 } }, 'open')).toEqual([2, 6, 18, 54, 100]);
  });

  it('returns a copy of an explicit list, and refuses a model the profile lacks', () => {
    const profile = { growthFactor: 2, closed: { start: 3, max: 9, steps: [3, 7, 9], costAt: 3 } };
    const loads = growthLoads(profile);
    loads.push(99);
    expect(growthLoads(profile)).toEqual([3, 7, 9]);
    expect(() => growthLoads({ growthFactor: 2 }, 'open')).toThrow(/no open plan/);
  });
});

describe('Planner', () => {
  it('every step passing: the whole growth sequence, breakpoint = max, capped', () => {
    const { loads, outcome } = simulate(PROFILES.quick, Infinity);
    expect(loads).toEqual(DOUBLING_USERS);
    expect(outcome.breakpoint).toBe(1024);
    expect(outcome.firstFailing).toBeNull();
    expect(outcome.capped).toBe(true);
  });

  it('first step failing: breakpoint null, nothing more runs', () => {
    const { loads, outcome } = simulate(PROFILES.quick, 0);
    expect(loads).toEqual([1]);
    expect(outcome.breakpoint).toBeNull();
    expect(outcome.firstFailing).toBe(1);
    expect(outcome.capped).toBe(false);
  });

  it('bisects between the last passing and the first failing load, bounded', () => {
    const { loads, outcome } = simulate(PROFILES.quick, 50);
    // growth 1..32 pass, 64 fails; bisection: 48 passes, 56 fails (2 steps).
    expect(loads).toEqual([1, 2, 4, 8, 16, 32, 64, 48, 56]);
    expect(outcome.breakpoint).toBe(48);
    expect(outcome.firstFailing).toBe(56);
    expect(outcome.capped).toBe(false);
    expect(outcome.steps.filter((s) => s.phase === 'bisect')).toHaveLength(2);
  });

  it('with more bisection steps it narrows further', () => {
    const { loads, outcome } = simulate(resolveProfile('quick', { bisectSteps: 10 }), 50);
    expect(loads.slice(7)).toEqual([48, 56, 52, 50, 51]);
    expect(outcome.breakpoint).toBe(50);
    expect(outcome.firstFailing).toBe(51);
  });

  it('stops bisecting when there is nothing between the bounds', () => {
    const { loads, outcome } = simulate(PROFILES.quick, 1);
    expect(loads).toEqual([1, 2]);
    expect(outcome.breakpoint).toBe(1);
  });

  it('full: five bisection steps narrow the last doubling to 1/32', () => {
    const { loads, outcome } = simulate(PROFILES.full, 100);
    expect(loads).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 96, 112, 104, 100, 102]);
    expect(outcome.breakpoint).toBe(100);
    expect(outcome.firstFailing).toBe(102);
  });

  it('open model: grows journeys per second and bisects the same way', () => {
    const { loads, outcome } = simulate(PROFILES.quick, 300, 'open');
    expect(loads).toEqual([4, 8, 16, 32, 64, 128, 256, 512, 384, 320]);
    expect(outcome).toMatchObject({ breakpoint: 256, firstFailing: 320, capped: false });
    const all = simulate(PROFILES.smoke, Infinity, 'open');
    expect(all.loads).toEqual([2, 4]);
    expect(all.outcome).toMatchObject({ breakpoint: 4, capped: true });
  });

  it('explicit steps 40..80, then bisection between the last passing and the first failing one', () => {
    const profile = resolveProfile('quick', { closed: { steps: [40, 50, 60, 70, 80] } });
    const { loads, outcome } = simulate(profile, 65);
    expect(loads).toEqual([40, 50, 60, 70, 65, 67]);
    expect(outcome).toMatchObject({ breakpoint: 65, firstFailing: 67, capped: false });
    const all = simulate(profile, Infinity);
    expect(all.loads).toEqual([40, 50, 60, 70, 80]);
    expect(all.outcome).toMatchObject({ breakpoint: 80, firstFailing: null, capped: true });
    const none = simulate(profile, 10);
    expect(none.loads).toEqual([40]);
    expect(none.outcome.breakpoint).toBeNull();
  });

  it('gives the first step the initial warm-up and the others the short one', () => {
    const p = new Planner(PROFILES.quick);
    const first = p.next()!;
    expect(first).toEqual({ index: 0, model: 'closed', load: 1, phase: 'growth', warmupSeconds: 2, stepSeconds: 4 });
    expect(p.next()).toBe(first); // same step until recorded
    p.record(true);
    expect(p.next()).toMatchObject({ index: 1, load: 2, warmupSeconds: 0.5 });
    const open = new Planner(PROFILES.full, 'open');
    expect(open.next()).toEqual({ index: 0, model: 'open', load: 4, phase: 'growth', warmupSeconds: 3, stepSeconds: 5 });
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

  it('refuses an invalid profile', () => {
    expect(() => new Planner({ ...PROFILES.quick, growthFactor: 0.5 })).toThrow(/growthFactor/);
  });

  it('the worst case matches the simulated maximum number of steps', () => {
    for (const model of LOAD_MODELS) {
      for (const name of PROFILE_NAMES) {
        const profile = PROFILES[name];
        const growth = growthLoads(profile, model);
        // Failing at the last growth step with a breakpoint just below it runs every bisection step.
        const { loads } = simulate(profile, growth[growth.length - 1]! - 1, model);
        const steps = growth.length + profile.bisectSteps;
        expect(loads.length, `${name} ${model}`).toBe(steps);
        expect(worstCaseSeconds(profile, model)).toBe(profile.initialWarmupSeconds + steps * profile.stepSeconds + (steps - 1) * profile.warmupSeconds);
      }
    }
  });
});

describe('summarizeSteps', () => {
  it('ignores a noisy pass above the first failure', () => {
    const o = summarizeSteps([
      { load: 1, passed: true, phase: 'growth' },
      { load: 2, passed: true, phase: 'growth' },
      { load: 4, passed: false, phase: 'growth' },
      { load: 8, passed: true, phase: 'growth' },
    ]);
    expect(o.breakpoint).toBe(2);
    expect(o.firstFailing).toBe(4);
  });

  it('is capped only when the largest load passed and nothing failed', () => {
    const passed = [
      { load: 1, passed: true, phase: 'growth' as const },
      { load: 2, passed: true, phase: 'growth' as const },
    ];
    expect(summarizeSteps(passed, 2).capped).toBe(true);
    expect(summarizeSteps(passed, 4).capped).toBe(false);
    expect(summarizeSteps(passed).capped).toBe(false);
  });

  it('is null for no steps', () => {
    expect(summarizeSteps([]).breakpoint).toBeNull();
  });
});

describe('fixedSchedule', () => {
  it('is the growth sequence with warm-ups, per model (for k6 on its own)', () => {
    expect(fixedSchedule(PROFILES.smoke)).toEqual([
      { index: 0, model: 'closed', load: 1, phase: 'growth', warmupSeconds: 1, stepSeconds: 2 },
      { index: 1, model: 'closed', load: 2, phase: 'growth', warmupSeconds: 0.5, stepSeconds: 2 },
    ]);
    expect(fixedSchedule(PROFILES.smoke, 'open')).toEqual([
      { index: 0, model: 'open', load: 2, phase: 'growth', warmupSeconds: 1, stepSeconds: 2 },
      { index: 1, model: 'open', load: 4, phase: 'growth', warmupSeconds: 0.5, stepSeconds: 2 },
    ]);
    const explicit = resolveProfile('smoke', { open: { steps: [5, 10, 20] } });
    expect(fixedSchedule(explicit, 'open').map((s) => s.load)).toEqual([5, 10, 20]);
  });
});
