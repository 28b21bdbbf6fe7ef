import type { Combo, Results } from '@stackbench/report';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Progress, summaryTable } from '../src/orchestrator/progress.js';
import { resultsErrors, writeResults } from '../src/orchestrator/results-file.js';
import { toStep } from '../src/orchestrator/run.js';
import type { StepMeasurement } from '../src/orchestrator/step-runner.js';

/** results.json assembly: schema validation before writing, step records, terminal output. */

const tmp = mkdtempSync(join(tmpdir(), 'stackbench-results-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lat = { avg: 5, p50: 4, p90: 8, p95: 9, p99: 12, max: 30 };
const measurement: StepMeasurement = {
  users: 4,
  seconds: 4.01,
  requests: 4000,
  rps: 997.5,
  errors: 2,
  errorRate: 0.0005,
  errorsByKind: { status: 2, timeout: 0, connection: 0, body: 0 },
  latencyMs: lat,
  endpoints: { list: { requests: 1000, errors: 0, latencyMs: lat }, order: { requests: 1000, errors: 2, latencyMs: lat }, bogus: { requests: 1, errors: 0, latencyMs: lat } },
  driver: { eventLoopDelayP99Ms: 12.3, cpuPct: 55, reasons: ['driver event-loop delay p99 12.3 ms >= 10 ms'] },
  driverBound: true,
  createdOrders: [{ id: 1, productId: 10, quantity: 1 }],
  errorSamples: ['order: expected 201, got 500'],
};

function results(combos: Combo[]): Results {
  return {
    schemaVersion: 1,
    runId: '2026-01-01T00-00-00Z-abcdef',
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    command: 'stackbench bench',
    environment: { cpuModel: 'x', cores: 2, memoryGiB: 4, os: 'Linux', node: '20.0.0', postgres: 'PostgreSQL 17', packages: { pg: '8.0.0' }, gitSha: 'unknown', cpuLayout: 'shared' },
    method: { driver: 'node', profile: 'smoke', threshold: 'p95<100', maxErrorRate: 0.01, thinkMs: 0, stepSeconds: 2, warmupSeconds: 0.5, repeats: 1 },
    combos,
  };
}

const step = toStep(measurement, { cpuPct: 87.66, peakRssMiB: 80.04 }, { passed: true, reasons: [] }, { index: 2, phase: 'growth' });
const combo: Combo = {
  app: 'fastify',
  store: 'pg',
  conn: 'pool',
  poolSize: 10,
  runtime: '20.0.0',
  repeat: 1,
  status: 'measured',
  breakpoint: { users: 4, rps: 997.5, p95Ms: 9, p99Ms: 12, avgMs: 5 },
  steps: [step],
  appUsage: { peakRssMiB: 80, avgCpuPct: 70 },
  integrity: { ok: true, orders: 1, problems: [] },
};

describe('toStep', () => {
  it('keeps the schema fields, only known endpoints, and the diagnostics as extra fields', () => {
    expect(step).toMatchObject({
      users: 4,
      seconds: 4.01,
      requests: 4000,
      rps: 997.5,
      errors: 2,
      errorRate: 0.0005,
      latencyMs: lat,
      app: { cpuPct: 87.7, rssMiB: 80 },
      driver: { eventLoopDelayP99Ms: 12.3, cpuPct: 55 },
      driverBound: true,
      passed: true,
      order: 3,
      phase: 'growth',
      errorsByKind: { status: 2, timeout: 0, connection: 0, body: 0 },
      driverBoundReasons: ['driver event-loop delay p99 12.3 ms >= 10 ms'],
      errorSamples: ['order: expected 201, got 500'],
    });
    expect(Object.keys(step.endpoints)).toEqual(['list', 'order']);
    expect(step.reasons).toBeUndefined();
  });

  it('turns what a step with no completed request reports (NaN, negative) into zeros the schema accepts', () => {
    const empty = toStep(
      { ...measurement, requests: 0, errors: 0, rps: NaN, errorRate: NaN, latencyMs: { avg: NaN, p50: NaN, p90: NaN, p95: NaN, p99: NaN, max: -1 }, endpoints: {}, driverBound: false },
      null,
      { passed: false, reasons: ['no requests completed'] },
      { index: 0, phase: 'growth' },
    );
    expect(empty).toMatchObject({ requests: 0, rps: 0, errorRate: 0, latencyMs: { avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 }, app: null, passed: false, reasons: ['no requests completed'] });
    expect(resultsErrors(results([{ ...combo, status: 'failed', reason: 'x', breakpoint: null, steps: [empty] }]))).toEqual([]);
  });
});

describe('writeResults', () => {
  it('writes a valid results.json (steps with extra fields included)', () => {
    const dir = join(tmp, 'ok');
    const file = writeResults(dir, results([combo]));
    expect(JSON.parse(readFileSync(file, 'utf8')).combos[0].steps[0].phase).toBe('growth');
    expect(existsSync(join(dir, 'results.invalid.json'))).toBe(false);
  });

  it('refuses an invalid object loudly and keeps the data aside', () => {
    const dir = join(tmp, 'bad');
    const bad = results([{ ...combo, status: 'failed', breakpoint: null }]); // failed without a reason
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
    p.comboEnd(combo);
    expect(out.text()).toBe(
      '[1/2] fastify + pg (pool 10) on Node 20.0.0\n' +
        '      step  3    4 users     998 rps  p95    9.0 ms  p99   12.0 ms  err 0.05 %  app cpu 88 % rss 80 MiB  pass  DRIVER-BOUND (driver event-loop delay p99 12.3 ms >= 10 ms)\n' +
        '      => breakpoint 4 users (998 rps, p95 9.0 ms); data ok (1 order)\n',
    );
  });

  it('rewrites a live line in place on a TTY and clears it before the next line', () => {
    const out = sink(true);
    const p = new Progress(out.stream);
    p.live(1, 8, 4000, { elapsedMs: 2000, requests: 1234, rps: 617, p95Ms: 42.42 });
    p.line('next');
    expect(out.text()).toBe('\r\x1b[2K      step 1 · 8 users · 2.0/4.0 s (50 %) · 1234 req · 617 rps · p95 42.4 ms\r\x1b[2Knext\n');
  });

  it('summarizes a run as a table', () => {
    const table = summaryTable([combo, { ...combo, app: 'express', status: 'unverified', reason: 'x', breakpoint: null, steps: [], appUsage: null, integrity: null }]);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toMatch(/fastify \+ pg \(pool 10\) on Node 20\.0\.0 +measured +4 +998 +9\.0 +70 +80 +ok +yes/);
    expect(table).toMatch(/express .* unverified +- +- +-/);
  });
});
