import { parseThreshold, PROFILES, type StepRun, type UsageWindow } from '@stackbench/loadtests';
import type { Combo, Results, Step } from '@stackbench/report';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchConfig } from '../src/orchestrator/config.js';
import { Progress, summaryTable } from '../src/orchestrator/progress.js';
import { writeResults } from '../src/orchestrator/results-file.js';
import { breakpointOf, costOf, resourceUse, toStep, type Resources } from '../src/orchestrator/run.js';
import { validateResults } from '@stackbench/report';

/** results.json assembly: the step record (verdict, driver judgement, resources per request), schema validation, terminal output. */

const tmp = mkdtempSync(join(tmpdir(), 'stackbench-results-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lat = { avg: 5, p50: 4, p90: 8, p95: 9, p99: 12, max: 30 };
const run: StepRun = {
  measurement: {
    model: 'closed',
    load: 4,
    seconds: 4,
    requests: 4000,
    rps: 1000,
    errors: 2,
    errorRate: 0.0005,
    errorsByKind: { status: 2, body: 0, timeout: 0, connection: 0, dropped: 0 },
    latencyMs: lat,
    serverMs: { avg: 3, p50: 2.5, p90: 6, p95: 7, p99: 10, max: 25 },
    endpoints: { list: { requests: 1000, errors: 0, latencyMs: lat }, order: { requests: 1000, errors: 2, latencyMs: lat } },
    driver: { engine: 'node', cpuPct: 55, parallelism: 1, eventLoopDelayP99Ms: 12.3 },
    maxRequestsReached: false,
    errorSamples: ['order: expected 201, got 500'],
  },
  createdOrders: [{ id: 1, productId: 10, quantity: 1 }],
  window: { startMs: 1000, endMs: 5000 },
};
const config = { threshold: parseThreshold('p95<100', '1%') } as BenchConfig;
const resources = { machineCores: 2 } as Resources;
const window = (cpuSeconds: number, peakRssMiB: number | null, throttledPct: number | null): UsageWindow => ({ cpuPct: (cpuSeconds / 4) * 100, cpuSeconds, peakRssMiB, throttledPct, samples: 17, seconds: 4 });

const step = toStep(run, { index: 2, phase: 'growth' }, { config, resources }, window(2, 80.04, 12.34), window(1.2, null, null));

function results(combos: Combo[]): Results {
  return {
    schemaVersion: 2,
    runId: '2026-01-01T00-00-00Z-abcdef',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    command: 'stackbench bench',
    environment: {
      cpuModel: 'x',
      cores: 2,
      memoryGiB: 4,
      os: 'Linux',
      node: '20.0.0',
      postgres: '17.10',
      packages: { pg: '8.0.0' },
      gitSha: 'unknown',
      cpuLayout: 'shared',
      envelope: { mechanism: 'none', periodUs: null, app: { cpus: null, memoryMiB: null, applied: false }, db: { cpus: null, memoryMiB: null, applied: false } },
      registry: { apps: [{ name: 'fastify' }], stores: [{ name: 'pg' }], conns: ['pool', 'per-request'], baseline: { app: 'fastify', store: 'pg', conn: 'pool' } },
    },
    method: { engine: 'node', model: 'closed', profile: 'smoke', preset: null, threshold: config.threshold, thinkMs: 0, stepSeconds: 2, warmupSeconds: 0.5, initialWarmupSeconds: 1, bisectSteps: 0, repeats: 1, costAt: 2 },
    combos,
  };
}

const combo: Combo = {
  app: 'fastify',
  store: 'pg',
  conn: 'pool',
  poolSize: 10,
  runtime: '20.0.0',
  repeat: 1,
  status: 'measured',
  breakpoint: breakpointOf([step], 4),
  steps: [step],
  appUsage: { peakRssMiB: 80, avgCpuPct: 70 },
  cost: costOf([step], 8),
  integrity: { ok: true, orders: 1, problems: [] },
};

describe('toStep', () => {
  it('keeps the measurement, and adds the verdict, the driver judgement and the resources per request of the window', () => {
    expect(step).toMatchObject({
      load: 4,
      requests: 4000,
      rps: 1000,
      latencyMs: lat,
      serverMs: { p95: 7 },
      order: 3,
      phase: 'growth',
      passed: true,
      reasons: [],
      // 2 CPU seconds over 4000 requests: 500 µs each; 1.2 s of PostgreSQL: 300 µs.
      app: { cpuPct: 50, cpuUsPerRequest: 500, rssMiB: 80, throttledPct: 12.3 },
      db: { cpuPct: 30, cpuUsPerRequest: 300, rssMiB: null, throttledPct: null },
      driverBound: true,
      driverBoundReasons: ['driver event-loop delay p99 12.3 ms >= 10 ms'],
    });
  });

  it('judges the threshold and the generator with the shared rules', () => {
    const slow = toStep({ ...run, measurement: { ...run.measurement, latencyMs: { ...lat, p95: 140 }, driver: { engine: 'k6', cpuPct: 95, parallelism: 2, eventLoopDelayP99Ms: null } } }, { index: 0, phase: 'bisect' }, { config, resources }, window(2, 80, null), window(2, null, null));
    expect(slow.passed).toBe(false);
    expect(slow.reasons).toEqual(['p95 140 ms is not < 100 ms']);
    // k6 at 0.95 core, with app (0.5) and database (0.5) leaving it 1 core: bound.
    expect(slow.driverBound).toBe(true);
    expect(slow.driverBoundReasons[0]).toMatch(/load generator CPU 0\.95 cores >= 90 % of the 1 cores app and database left/);
    expect(resourceUse(null, 100)).toBeNull();
    expect(resourceUse(window(1, 50, 0), 0)!.cpuUsPerRequest).toBeNull();
  });

  it('marks a generator above the share the envelope leaves it, from the resources of the run', () => {
    // k6 at 0.7 of a core, app 0.5 and database 0.3: 1.5 of 2 cores, under the capacity rule, over the 0.5 share.
    const k6Step = (share: number | null) =>
      toStep({ ...run, measurement: { ...run.measurement, driver: { engine: 'k6', cpuPct: 70, parallelism: 1, eventLoopDelayP99Ms: null } } }, { index: 0, phase: 'growth' }, { config, resources: { ...resources, generatorShareCores: () => share } }, window(2, 80, null), window(1.2, null, null));
    expect(k6Step(0.5)).toMatchObject({ driverBound: true, driverBoundReasons: [expect.stringMatching(/^load generator CPU 0\.7 cores > the 0\.5 cores the envelope leaves it/)] });
    expect(k6Step(null)).toMatchObject({ driverBound: false, driverBoundReasons: [] });
  });

  it('gives k6 the CPUs the envelope leaves the generator, rounded up, at least one', async () => {
    const { envelopeGeneratorCpus, envelopeShareCores } = await import('../src/commands/bench.js');
    const envelope = { appCpus: 0.5, appMemoryMiB: 512, dbCpus: 1, dbMemoryMiB: 1024 };
    // The share the driver-bound rule judges against, and what the processors are rounded up from.
    expect(envelopeShareCores(envelope, 2, 1)).toBe(0.5);
    expect(envelopeShareCores(envelope, 2, 3)).toBe(-0.5);
    expect(envelopeShareCores({ ...envelope, dbCpus: null }, 2, 1)).toBeNull();
    expect(envelopeGeneratorCpus({ envelope, scaleOut: null }, { allowed: [0, 1] })).toBe(1);
    expect(envelopeGeneratorCpus({ envelope, scaleOut: null }, { allowed: [...Array(16).keys()] })).toBe(15);
    expect(envelopeGeneratorCpus({ envelope: { ...envelope, appCpus: 1 }, scaleOut: null }, { allowed: [0, 1, 2, 3] })).toBe(2);
    // Three instances with a budget each overcommit 2 cores: still one processor for the generator.
    expect(envelopeGeneratorCpus({ envelope, scaleOut: { counts: [1, 3], balancers: ['cluster'], budget: 'each' } }, { allowed: [0, 1] })).toBe(1);
    expect(envelopeGeneratorCpus({ envelope: null, scaleOut: null }, { allowed: [0, 1] })).toBeUndefined();
    expect(envelopeGeneratorCpus({ envelope: { ...envelope, appCpus: null }, scaleOut: null }, { allowed: [0, 1] })).toBeUndefined();
  });

  it('reads the breakpoint from its passing step, and the cost at costAt or the highest passing load below it', () => {
    const s = (load: number, passed: boolean, order: number): Step => ({ ...step, load, passed, order, app: { ...step.app!, cpuUsPerRequest: load * 10 } });
    const steps = [s(1, true, 1), s(2, true, 2), s(4, true, 3), s(8, false, 4), s(6, true, 5)];
    expect(breakpointOf(steps, 6)).toMatchObject({ load: 6, rps: 1000, p95Ms: 9, serverP95Ms: 7, driverBound: true });
    expect(breakpointOf(steps, null)).toBeNull();
    expect(costOf(steps, 4)).toMatchObject({ load: 4, exact: true, appCpuUsPerRequest: 40 });
    // The 8-user step failed: the figures come from 6 users, and say so.
    expect(costOf(steps, 8)).toMatchObject({ load: 6, exact: false, appCpuUsPerRequest: 60 });
    expect(costOf([s(1, false, 1)], 8)).toBeNull();
  });
});

describe('writeResults', () => {
  it('writes a valid results.json (steps with extra fields included)', () => {
    const dir = join(tmp, 'ok');
    const file = writeResults(dir, results([combo]));
    expect(JSON.parse(readFileSync(file, 'utf8')).combos[0].steps[0].phase).toBe('growth');
    expect(existsSync(join(dir, 'results.invalid.json'))).toBe(false);
  });

  it('validates with the one schema', () => {
    expect(validateResults(results([combo]))).toEqual([]);
    expect(validateResults(results([{ ...combo, steps: [{ ...step, rps: -1 }] }]))).toEqual([expect.stringMatching(/^\/combos\/0\/steps\/0\/rps: /)]);
  });

  it('refuses an invalid object loudly and keeps the data aside', () => {
    const dir = join(tmp, 'bad');
    const bad = results([{ ...combo, steps: [{ ...step, load: 0 }] }]); // no step runs no load
    expect(() => writeResults(dir, bad)).toThrow(/does not match the schema \(a stackbench bug; data kept in .*results\.invalid\.json\)/);
    expect(existsSync(join(dir, 'results.json'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'results.invalid.json'), 'utf8')).combos).toHaveLength(1);
  });
});

describe('terminal output', () => {
  function sink(isTTY: boolean) {
    const chunks: string[] = [];
    return { stream: { isTTY, columns: 200, write: (t: string) => chunks.push(t) }, text: () => chunks.join('') };
  }

  it('prints one line per step, flags driver-bound steps with the reason, and no live line without a TTY', () => {
    const out = sink(false);
    const p = new Progress(out.stream);
    p.comboStart(1, 2, 'fastify + pg (pool 10) on Node 20.0.0');
    p.live(3, 4, 4000, { elapsedMs: 1000, requests: 1000, rps: 1000, p95Ms: 9 });
    p.step(3, step);
    p.comboEnd({ ...combo, cost: costOf([step], 4) });
    expect(out.text()).toBe(
      '[1/2] fastify + pg (pool 10) on Node 20.0.0\n' +
        '      step  3     4 users    1000 rps  p95    9.0 ms (server 7.0)  err 0.05 %  app 50 % cpu 80 MiB  db 30 % cpu  gen 55 %  pass  DRIVER-BOUND (driver event-loop delay p99 12.3 ms >= 10 ms)\n' +
        '      => breakpoint 4 (1000 rps, p95 9.0 ms); cost at 4: app 500 µs, db 300 µs per request; data ok (1 order)\n',
    );
  });

  it('rewrites a live line in place on a TTY and clears it before the next line', () => {
    const out = sink(true);
    const p = new Progress(out.stream);
    p.live(1, 8, 4000, { elapsedMs: 2000, requests: 1234, rps: 617, p95Ms: 42.42 });
    p.line('next');
    expect(out.text()).toBe('\r\x1b[2K      step 1 · load 8 · 2.0/4.0 s (50 %) · 1234 req · 617 rps · p95 42.4 ms\r\x1b[2Knext\n');
  });

  it('summarizes a run as a table', () => {
    const table = summaryTable([combo, { ...combo, app: 'express', status: 'unverified', reason: 'x', breakpoint: null, steps: [], appUsage: null, cost: null, integrity: null }]);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toMatch(/fastify \+ pg \(pool 10\) on Node 20\.0\.0 +measured +4 +1000 +9\.0 +70 +80 +ok +yes/);
    expect(table).toMatch(/express .* unverified +- +- +-/);
  });
});

describe('exit code', () => {
  it('is 0 only when every combination was measured and its audit ran and passed', async () => {
    const { exitCode, EXIT } = await import('../src/commands/bench.js');
    const run = (combos: Combo[], interrupted = false) => exitCode({ interrupted, results: { combos } });
    expect(run([combo])).toBe(EXIT.ok);
    // The audit could not run (integrity null): not clean.
    expect(run([combo, { ...combo, integrity: null }])).toBe(EXIT.someFailed);
    expect(run([{ ...combo, integrity: { ok: false, orders: 3, problems: ['product 7: sold 4 but orders sum to 3'] } }])).toBe(EXIT.someFailed);
    expect(run([{ ...combo, status: 'unverified', reason: 'x' }])).toBe(EXIT.someFailed);
    expect(run([combo], true)).toBe(EXIT.interrupted);
  });
});
