import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { RunningServer } from '@stackbench/contract';
import { runCli } from '@stackbench/test-support/cli';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { describeWithPart } from '@stackbench/test-support/optional';
import { startTestServer } from '@stackbench/test-support/servers';
import { ERROR_KINDS, REQUEST_NAMES } from '../src/index.js';
import { K6MergeError, k6Percentile, latencyOf, mergeRunners, readRunnerText, renderMergedText, type MergedK6Run, type RunnerSamples } from '../src/k6/merge.js';
import { buildOptions, planFromEnv, RUN_TAG, runIdentity, SEGMENT_TAG, stepMetrics, type K6RunIdentity } from '../src/k6/plan.js';
import type { K6RunSummary } from '../src/k6/summary.js';

/**
 * `stackbench k6 merge`: several k6 runners of one stepped run (k6-operator pods, or processes started with
 * --execution-segment) judged as one. Synthetic k6 JSON lines pin the arithmetic (exact percentiles, error counts,
 * the breakpoint, bad input); a real k6 split in two processes checks it against k6's own figures; the k6-operator
 * manifest is checked to write those files and not to abort on a runner's share.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

// ---- synthetic k6 JSON output ---------------------------------------------------------------------------------------

const BASE_URL = 'http://127.0.0.1:3000';
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const planEnv = (steps: string, extra: Record<string, string> = {}) => ({
  BASE_URL,
  STEPS: steps,
  STEP_SECONDS: '2',
  WARMUP_SECONDS: '1',
  INITIAL_WARMUP_SECONDS: '1',
  ABORT_ON_FAIL: 'false',
  ...extra,
});
const identityOf = (steps = '1,2,4,8', extra: Record<string, string> = {}): K6RunIdentity => runIdentity(planFromEnv(planEnv(steps, extra)));

type Name = (typeof REQUEST_NAMES)[number];
interface SyntheticStep {
  /** Window markers: the VUs this runner had in the step. */
  vus: number;
  latency?: Partial<Record<Name, number[]>>;
  noResponse?: Partial<Record<Name, number>>;
  errors?: Partial<Record<Name, number>>;
  kinds?: Partial<Record<(typeof ERROR_KINDS)[number], number>>;
  server?: number[];
  dropped?: number;
}
interface SyntheticRunner {
  segment: string;
  steps: Record<number, SyntheticStep>;
  identity?: K6RunIdentity;
  /** Shifts the whole run on the wall clock (another run, or a late start). */
  startMs?: number;
  /** The runner's last sample (its `vus` gauge), epoch ms; default: after the last step. */
  endMs?: number;
  /** Window markers without the identity tags (a stepped.js from before the merge). */
  untagged?: boolean;
}

const metricLine = (name: string, type: string) =>
  JSON.stringify({ type: 'Metric', data: { name, type, contains: type === 'trend' ? 'time' : 'default', thresholds: [], submetrics: null }, metric: name });
const pointLine = (metric: string, ms: number, value: number, tags: Record<string, string>) =>
  JSON.stringify({ metric, type: 'Point', data: { time: new Date(ms).toISOString(), value, tags } });

/** The step's window start on a runner started at `startMs` (the plan's offsets, as k6 schedules them). */
function windowStart(identity: K6RunIdentity, step: number, startMs: number): number {
  let offset = 0;
  for (const s of identity.steps) {
    if (s.step === step) return startMs + (offset + s.warmupSeconds) * 1000;
    offset += s.warmupSeconds + s.stepSeconds;
  }
  throw new Error(`no step ${step}`);
}

/** One runner's file as k6's JSON output writes it: Metric lines on first use, one Point line per sample. */
function runnerText(r: SyntheticRunner): string {
  const identity = r.identity ?? identityOf();
  const startMs = r.startMs ?? T0;
  const lines: string[] = [];
  const defined = new Set<string>();
  const point = (metric: string, type: string, ms: number, value: number, tags: Record<string, string>) => {
    if (!defined.has(metric)) {
      defined.add(metric);
      lines.push(metricLine(metric, type));
    }
    lines.push(pointLine(metric, ms, value, tags));
  };
  const lastStep = identity.steps[identity.steps.length - 1]!;
  const runEnd = windowStart(identity, lastStep.step, startMs) + lastStep.stepSeconds * 1000 + 50;
  point('vus', 'gauge', startMs, 0, {});
  for (const [key, s] of Object.entries(r.steps)) {
    const step = Number(key);
    const n = stepMetrics(step);
    const scenario = { scenario: n.scenario };
    const from = windowStart(identity, step, startMs);
    const markerTags = r.untagged ? scenario : { [RUN_TAG]: JSON.stringify(identity), [SEGMENT_TAG]: r.segment, ...scenario };
    for (let v = 0; v < s.vus; v++) point(n.windowStart, 'gauge', from - 1000, from, markerTags);
    let t = from + 10;
    for (const name of REQUEST_NAMES) {
      for (const ms of s.latency?.[name] ?? []) {
        // What k6 writes beside each of ours: its own per-request metrics (skipped by the merge).
        point('http_reqs', 'counter', t, 1, { name, scenario: n.scenario, status: '200' });
        point('http_req_duration', 'trend', t, ms * 0.9, { name, scenario: n.scenario, status: '200' });
        point(n.latency, 'trend', t, ms, scenario);
        point(n.endpointLatency(name), 'trend', t, ms, scenario);
        t += 1;
      }
      for (let i = 0; i < (s.noResponse?.[name] ?? 0); i++) point(n.noResponse(name), 'counter', t, 1, scenario);
      for (let i = 0; i < (s.errors?.[name] ?? 0); i++) point(n.endpointErrors(name), 'counter', t, 1, scenario);
    }
    for (const kind of ERROR_KINDS) for (let i = 0; i < (s.kinds?.[kind] ?? 0); i++) point(n.errorKind(kind), 'counter', t, 1, scenario);
    for (const ms of s.server ?? []) point(n.server, 'trend', t, ms, scenario);
    if (s.dropped) {
      point('dropped_iterations', 'counter', t, s.dropped, { scenario: n.scenario });
      // The warm-up scenario's drops are not the step's.
      point('dropped_iterations', 'counter', t, 99, { scenario: n.warmupScenario });
    }
    // The Rate of standalone runs' thresholds: nothing the merge reads.
    point(n.errorRate, 'rate', t, 0, scenario);
  }
  point('vus', 'gauge', r.endMs ?? runEnd, 0, {});
  return lines.join('\n') + '\n';
}

const runner = (label: string, r: SyntheticRunner): RunnerSamples => readRunnerText(label, runnerText(r));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const fill = (count: number, ms: number) => Array.from({ length: count }, () => ms);
const mergeError = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(K6MergeError);
    return (err as Error).message;
  }
  throw new Error('expected a K6MergeError');
};

describe('k6 merge arithmetic (synthetic k6 JSON output)', () => {
  it('k6Percentile is k6\'s TrendSink.P: linear interpolation between the closest ranks', () => {
    expect(k6Percentile([], 0.95)).toBe(0);
    expect(k6Percentile([7], 0.95)).toBe(7);
    expect(k6Percentile([1, 2], 0.5)).toBe(1.5);
    expect(k6Percentile(range(1, 20), 0.95)).toBeCloseTo(19.05, 10);
    expect(latencyOf([3, 1, 2])).toEqual({ avg: 2, p50: 2, p90: 2.8, p95: 2.9, p99: 2.98, max: 3 });
  });

  it('merges two runners per step: exact percentiles of all raw samples, summed requests, errors and rps', () => {
    const a = runner('a.json', { segment: '0:1/2', steps: { 1: { vus: 1, latency: { list: [4, 4] } }, 2: { vus: 1, latency: { list: range(1, 5), product: range(6, 10) }, server: [1, 3] } } });
    const b = runner('b.json', {
      segment: '1/2:1',
      steps: {
        // Step 1 has one user: runner b's share is none, so it has no samples of it at all.
        2: {
          vus: 1,
          latency: { list: range(11, 15), product: range(16, 20) },
          noResponse: { list: 1 },
          errors: { list: 1, product: 1 },
          kinds: { connection: 1, status: 1 },
          server: [2],
        },
      },
    });
    const merged = mergeRunners([a, b], { errorRate: '20%' });
    const [s1, s2] = merged.steps;
    expect(s1!.runners.map((r) => [r.file, r.vus])).toEqual([['a.json', 1]]);
    expect(s1!.measurement).toMatchObject({ load: 1, requests: 2, rps: 1 });

    expect(s2!.runners.map((r) => [r.file, r.segment, r.vus, r.requests, r.rps, r.seconds])).toEqual([
      ['a.json', '0:1/2', 1, 10, 5, 2],
      ['b.json', '1/2:1', 1, 11, 5.5, 2],
    ]);
    const m = s2!.measurement;
    // Users: 1 + 1 = the plan's 2. Requests: 20 with a latency + 1 connection error; rps: 10 / 2 s + 11 / 2 s.
    expect(m).toMatchObject({ model: 'closed', load: 2, seconds: 2, requests: 21, rps: 10.5, errors: 2, errorRate: 0.095238 });
    expect(m.errorsByKind).toEqual({ status: 1, body: 0, timeout: 0, connection: 1, dropped: 0 });
    // 1..20: p50 at rank 9.5, p90 at 17.1, p95 at 18.05, p99 at 18.81 (0-based), never an average of the runners' p95s.
    expect(m.latencyMs).toEqual({ avg: 10.5, p50: 10.5, p90: 18.1, p95: 19.05, p99: 19.81, max: 20 });
    expect(m.endpoints.list).toEqual({ requests: 11, errors: 1, latencyMs: { avg: 8, p50: 8, p90: 14.1, p95: 14.55, p99: 14.91, max: 15 } });
    expect(m.endpoints.product).toEqual({ requests: 10, errors: 1, latencyMs: { avg: 13, p50: 13, p90: 19.1, p95: 19.55, p99: 19.91, max: 20 } });
    expect(m.serverMs).toEqual({ avg: 2, p50: 2, p90: 2.8, p95: 2.9, p99: 2.98, max: 3 });
    expect(s2).toMatchObject({ ran: true, passed: true, windowStartMs: T0 + 4_000, windowSpreadMs: 0 });
    expect(merged.threshold).toEqual({ latency: 'p95<100', errorRate: '20%' });
    // Steps 3 and 4 ran nowhere.
    expect(merged.steps.slice(2).map((s) => [s.ran, s.passed, s.reasons, s.measurement.load])).toEqual([
      [false, false, ['step did not run'], 4],
      [false, false, ['step did not run'], 8],
    ]);
    expect(merged).toMatchObject({ engine: 'k6', model: 'closed', baseUrl: BASE_URL, breakpoint: 2, firstFailing: null, capped: false });
    expect(merged.merged.runners).toEqual([
      { file: 'a.json', segment: '0:1/2', steps: 2 },
      { file: 'b.json', segment: '1/2:1', steps: 1 },
    ]);
    // The runners' own threshold (1 %) unless overridden: 2 errors in 21 fail it.
    // Runners that started apart: the text says so (more than 10 % of the window), the figures stay.
    const late = runner('late.json', { segment: '1/2:1', startMs: T0 + 500, steps: { 2: { vus: 1, latency: { list: [5] } } } });
    const apart = mergeRunners([a, late]);
    expect(apart.steps[1]!.windowSpreadMs).toBe(500);
    expect(renderMergedText(apart)).toContain("note: step 2: the runners' windows start 500 ms apart (> 10 % of the window)");
    expect(renderMergedText(merged)).not.toContain('note:');
    const strict = mergeRunners([a, b]);
    expect(strict.steps[1]!.reasons).toEqual(['error rate 9.52 % (2/21) is not < 1 %']);
    expect(mergeRunners([a, b], { threshold: 'p99<19.8', errorRate: '20%' }).steps[1]!.reasons).toEqual(['p99 19.81 ms is not < 19.8 ms']);
  });

  it('the merge decides, not the runners: a runner failing on its own share does not fail the step', () => {
    const a = runner('a', { segment: '0:1/2', steps: { 2: { vus: 1, latency: { list: fill(100, 10) } } } });
    const b = runner('b', { segment: '1/2:1', steps: { 2: { vus: 1, latency: { list: [...fill(94, 10), ...fill(6, 500)] } } } });
    // Alone, b's p95 is 500 ms (what its own abortOnFail threshold would have stopped the run on) ...
    expect(latencyOf(b.steps['2']!.latency).p95).toBe(500);
    // ... over all 200 requests 6 are slow: the p95 is 10 ms and the step passes.
    const step = mergeRunners([a, b]).steps[1]!;
    expect(step.measurement.latencyMs.p95).toBe(10);
    expect(step.passed).toBe(true);
  });

  it('breakpoint: the highest load below the first failing step, a noisy pass above it does not count', () => {
    const fast = (n: number) => ({ list: fill(n, 20) });
    const slow = (n: number) => ({ list: [...fill(n - 10, 20), ...fill(10, 300)] });
    const split = [
      // Steps 1-4 at 1, 2, 4 and 8 users; step 3 too slow on one runner.
      runner('r0', { segment: '0:1/2', steps: { 1: { vus: 1, latency: fast(50) }, 2: { vus: 1, latency: fast(50) }, 3: { vus: 2, latency: slow(50) }, 4: { vus: 4, latency: fast(50) } } }),
      runner('r1', { segment: '1/2:1', steps: { 2: { vus: 1, latency: fast(50) }, 3: { vus: 2, latency: fast(50) }, 4: { vus: 4, latency: fast(50) } } }),
    ];
    const merged = mergeRunners(split);
    expect(merged.steps.map((s) => [s.measurement.load, s.passed])).toEqual([
      [1, true],
      [2, true],
      [4, false],
      [8, true],
    ]);
    expect(merged.steps[2]!.reasons).toEqual(['p95 300 ms is not < 100 ms']);
    expect(merged).toMatchObject({ breakpoint: 2, firstFailing: 4, capped: false });
    const text = renderMergedText(merged);
    expect(text).toMatch(/^stackbench k6 merge of 2 runner files: http:\/\/127\.0\.0\.1:3000 \(profile quick, closed model, p95<100, errors < 1%\)\n/);
    expect(text).toContain('FAIL p95 300 ms is not < 100 ms');
    expect(text).toMatch(/breakpoint: 2 users\n$/);

    // The same samples from one k6 process (segment 0:1) give the same figures and the same breakpoint.
    const single = runner('single', {
      segment: '0:1',
      steps: {
        1: { vus: 1, latency: fast(50) },
        2: { vus: 2, latency: { list: [...fast(50).list, ...fast(50).list] } },
        3: { vus: 4, latency: { list: [...slow(50).list, ...fast(50).list] } },
        4: { vus: 8, latency: { list: [...fast(50).list, ...fast(50).list] } },
      },
    });
    const alone = mergeRunners([single]);
    expect(alone.steps.map((s) => s.measurement)).toEqual(merged.steps.map((s) => s.measurement));
    expect([alone.breakpoint, alone.firstFailing, alone.capped]).toEqual([merged.breakpoint, merged.firstFailing, merged.capped]);
    // Every step passing: capped at the plan's last load.
    const healthy = mergeRunners([runner('ok', { segment: '0:1', steps: { 1: { vus: 1, latency: fast(5) }, 2: { vus: 2, latency: fast(5) }, 3: { vus: 4, latency: fast(5) }, 4: { vus: 8, latency: fast(5) } } })]);
    expect(healthy).toMatchObject({ breakpoint: 8, firstFailing: null, capped: true });
    expect(renderMergedText(healthy)).toContain('breakpoint: 8 users (capped: every step passed)');
  });

  it('open model: the load is the plan\'s rate, and the measured scenario\'s drops are failed list requests', () => {
    const identity = identityOf('10,20', { MODEL: 'open' });
    const merged = mergeRunners([
      runner('a', { identity, segment: '0:1/2', steps: { 1: { vus: 3, latency: { list: fill(18, 5) }, dropped: 2 }, 2: { vus: 4, latency: { list: fill(40, 5) } } } }),
      runner('b', { identity, segment: '1/2:1', steps: { 1: { vus: 2, latency: { list: fill(20, 5) } }, 2: { vus: 4, latency: { list: fill(40, 5) } } } }),
    ]);
    const [s1] = merged.steps;
    expect(s1!.measurement).toMatchObject({ model: 'open', load: 10, requests: 40, errors: 2, rps: 19 });
    expect(s1!.measurement.errorsByKind.dropped).toBe(2);
    expect(s1!.measurement.endpoints.list).toMatchObject({ requests: 40, errors: 2 });
    expect(s1!.reasons).toEqual(['error rate 5 % (2/40) is not < 1 %']);
    expect(merged).toMatchObject({ model: 'open', breakpoint: null, firstFailing: 10 });
    expect(renderMergedText(merged)).toContain('breakpoint: none (the first step failed)');
  });

  it('a runner that stopped inside a window measured only part of it', () => {
    const identity = identityOf('1,2');
    // Step 2's window starts at T0 + 4 s (1 s warm-up + 2 s window + 1 s warm-up); the runner's last sample is 0.5 s into it.
    const merged = mergeRunners([runner('cut', { identity, segment: '0:1', endMs: T0 + 4_500, steps: { 1: { vus: 1, latency: { list: fill(10, 5) } }, 2: { vus: 2, latency: { list: fill(10, 5) } } } })]);
    expect(merged.steps.map((s) => [s.measurement.seconds, s.measurement.rps])).toEqual([
      [2, 5],
      [0.5, 20],
    ]);
  });

  it('reads what k6 writes: CRLF line ends, blank lines, nanosecond times with a zone offset', () => {
    const text = runnerText({ segment: '0:1', steps: { 1: { vus: 1, latency: { list: [5] } } } })
      .replace(/"time":"([^"]+)\.(\d{3})Z"/g, (_, s: string, ms: string) => `"time":"${s.replace(/T12/, 'T13')}.${ms}123456+01:00"`)
      .replace(/\n/g, '\r\n');
    const r = readRunnerText('crlf', `\n${text}\n\n`);
    expect(r.steps['1']).toMatchObject({ vus: 1, latency: [5] });
    expect(r.firstSampleMs).toBe(T0);
  });

  it('refuses files that are not k6 output of stepped.js, or do not belong to one run', () => {
    const a = { segment: '0:1/2', steps: { 1: { vus: 1, latency: { list: [5] } }, 2: { vus: 1, latency: { list: [5] } } } };
    const b = { segment: '1/2:1', steps: { 2: { vus: 1, latency: { list: [5] } } } };
    expect(mergeError(() => readRunnerText('empty.json', '\n\n'))).toBe('empty.json is empty: not a k6 JSON output (k6 run --out json=FILE)');
    expect(mergeError(() => readRunnerText('notes.txt', 'hello'))).toBe('notes.txt is not a k6 JSON output (line 1); write one with k6 run --out json=FILE');
    // k6's handleSummary file (pretty JSON) is not its sample output.
    expect(mergeError(() => readRunnerText('summary.json', JSON.stringify({ metrics: {} }, null, 2)))).toMatch(/^summary\.json is not a k6 JSON output \(line 1\)/);
    expect(mergeError(() => readRunnerText('other.json', '{"foo":1}'))).toMatch(/^other\.json is not a k6 JSON output \(line 1\)/);
    expect(mergeError(() => readRunnerText('cut.json', `${metricLine('sb_1_lat', 'trend')}\n{"metric":"sb_1_lat","type":"Po`))).toMatch(/^cut\.json is not a k6 JSON output \(line 2\)/);
    const builtinsOnly = `${metricLine('vus', 'gauge')}\n${pointLine('vus', T0, 1, {})}\n`;
    expect(mergeError(() => readRunnerText('plain.json', builtinsOnly))).toBe("plain.json holds no step of stackbench's stepped script (a k6 JSON output of loadtests/dist/k6/stepped.js is needed)");
    expect(mergeError(() => runner('old.json', { ...a, untagged: true }))).toBe('old.json was written by a stepped.js without run identity tags: rebuild it (npm run build) and run again');
    const markerless = runnerText(a).split('\n').filter((l) => !l.includes('"sb_2_win"')).join('\n');
    expect(mergeError(() => readRunnerText('markerless.json', markerless))).toMatch(/^markerless\.json has samples of step 2 but no window marker for it/);
    const twoRuns = runnerText(a) + runnerText({ ...a, identity: identityOf('1,2,4') });
    expect(mergeError(() => readRunnerText('mixed.json', twoRuns))).toMatch(/^mixed\.json mixes samples of two runs \(line \d+\): one file per k6 process$/);

    expect(mergeError(() => mergeRunners([]))).toBe('no runner files to merge');
    expect(mergeError(() => mergeRunners([runner('a', a), runner('b', { ...b, identity: identityOf('1,2,4') })]))).toBe(
      'a and b ran different plans (steps: 1@1+2s,2@1+2s,4@1+2s,8@1+2s vs 1@1+2s,2@1+2s,4@1+2s)',
    );
    expect(mergeError(() => mergeRunners([runner('a', a), runner('b', { ...b, identity: identityOf('1,2,4,8', { THRESHOLD: 'p99<100' }) })]))).toBe(
      'a and b ran different plans (threshold: p95<100 vs p99<100)',
    );
    expect(mergeError(() => mergeRunners([runner('a', a), runner('a again', a)]))).toBe(
      "a and a again ran overlapping execution segments (0:1/2 and 0:1/2): the same runner's file twice, or runners of different runs",
    );
    expect(mergeError(() => mergeRunners([runner('a', a)]))).toBe("no runner file covers the execution segment 1/2:1: a runner's file is missing");
    expect(mergeError(() => mergeRunners([runner('b', b)]))).toBe("no runner file covers the execution segment 0:1/2: a runner's file is missing");
    expect(mergeError(() => mergeRunners([runner('a', a), runner('b', b), runner('whole', { ...b, segment: '0:1' })]))).toMatch(/overlapping execution segments/);
    expect(mergeError(() => mergeRunners([runner('weird', { ...a, segment: 'half' })]))).toBe('weird: unreadable execution segment "half"');
    // A runner that stopped early (or whose file is gone while the segments still add up): users missing from a step.
    const quarters = [runner('q1', { segment: '0:1/4', steps: { 3: { vus: 1 } } }), runner('q2', { segment: '1/4:1', steps: { 3: { vus: 2 } } })];
    expect(mergeError(() => mergeRunners(quarters))).toBe(
      "step 3: the runners' users add up to 3, the plan has 4 (a runner stopped early or its file is missing; run the runners with ABORT_ON_FAIL=false)",
    );
    // A runner gone before the end of a step the others ran (open model: no user count to betray it).
    const open = identityOf('10,20', { MODEL: 'open' });
    const both = { 1: { vus: 1, latency: { list: [5] } }, 2: { vus: 1, latency: { list: [5] } } };
    expect(mergeError(() => mergeRunners([runner('a', { identity: open, segment: '0:1/2', steps: both }), runner('b', { identity: open, segment: '1/2:1', endMs: T0 + 4_500, steps: both })]))).toBe(
      'b stopped before the end of step 2 while other runners ran it (interrupted, or aborted by its own thresholds): run the runners with ABORT_ON_FAIL=false',
    );
    // Files of two runs of the same plan, an hour apart.
    expect(mergeError(() => mergeRunners([runner('a', a), runner('b', { ...b, startMs: T0 + 3_600_000 })]))).toBe(
      "step 2: the runners' measured windows start 3600 s apart, longer than the step: files of different runs?",
    );
  });
});

// ---- real k6: one run split in two processes by execution segments, and the same run in one ---------------------------

// This machine keeps its k6 here; K6_BIN (or a k6 on PATH) wins elsewhere.
const SHARED_K6 = '/work/shared/bin/k6';
if (!process.env.K6_BIN && existsSync(SHARED_K6)) process.env.K6_BIN = SHARED_K6;

interface K6Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `k6 run` as a child process, killed if it outlives `limitMs` (the plan below takes ~6 s). */
function k6Run(binary: string, args: string[], env: Record<string, string>, limitMs = 60_000): Promise<K6Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, K6_NO_USAGE_REPORT: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A free loopback port for a k6 REST API. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** k6's ExecutionStatusPausedBeforeRun (lib/execution.go): VUs initialized, waiting to be resumed. */
const PAUSED_BEFORE_RUN = 4;

/** Waits until the k6 behind `port` (started with --paused) has initialized and waits for its start. */
async function pausedAndReady(port: number, exited: () => boolean, limitMs = 30_000): Promise<void> {
  const until = Date.now() + limitMs;
  while (!exited()) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/status`);
      const body = (await res.json()) as { data?: { attributes?: { status?: number } } };
      if (res.ok && body.data?.attributes?.status === PAUSED_BEFORE_RUN) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > until) throw new Error(`k6 on port ${port} was not paused and ready within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What the k6-operator's starter does for every runner once all are ready: unpause it through its REST API. */
async function resume(port: number): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/status`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ data: { type: 'status', id: 'default', attributes: { paused: false, stopped: false } } }),
  });
  if (!res.ok) throw new Error(`resuming k6 on port ${port}: HTTP ${res.status} ${await res.text()}`);
}

/** The latency samples of one metric in a k6 JSON output, read independently of the merge's reader. */
function rawSamples(file: string, metric: string): number[] {
  const bytes = readFileSync(file);
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(`"${metric}"`)) continue;
    const sample = JSON.parse(line) as { type: string; metric: string; data: { value: number } };
    if (sample.type === 'Point' && sample.metric === metric) out.push(sample.data.value);
  }
  return out;
}

describeWithPart('k6', 'k6 merge of a real k6 run split in two processes (execution segments)', (k6) => {
  const STEPS = [1, 2, 3];
  let dir: string;
  let bundlePath: string;
  let db: TestDatabase | undefined;
  let server: RunningServer | undefined;
  const files = { a: '', b: '', single: '' };
  const summaries: Record<'a' | 'b' | 'single', K6RunSummary | null> = { a: null, b: null, single: null };
  let merged: MergedK6Run;
  let singleMerged: MergedK6Run;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackbench-k6-merge-'));
    await run(process.execPath, [join(root, 'scripts', 'build-k6.mjs'), '--outdir', dir], { cwd: root });
    bundlePath = join(dir, 'stepped.js');
    db = await createTestDatabase('k6_merge', { products: 1000 });
    server = await startTestServer({ app: 'fastify', store: 'pg', conn: 'pool', databaseUrl: db.url });

    // A few users, 1 s windows, 3 steps: ~6 s per k6 process, bounded by the plan (and by k6Run's limit).
    const env = {
      BASE_URL: server.url,
      STEPS: STEPS.join(','),
      STEP_SECONDS: '1',
      WARMUP_SECONDS: '0.5',
      INITIAL_WARMUP_SECONDS: '1',
      PRODUCT_COUNT: '1000',
      REQUEST_TIMEOUT_MS: '5000',
      // Runners must not abort on the verdict of their share; the merge judges.
      ABORT_ON_FAIL: 'false',
    };
    const args = (name: keyof typeof files, more: string[]) => {
      files[name] = join(dir, name === 'a' ? 'runner-a.json' : `${name}.json.gz`);
      return ['run', '--quiet', ...more, '--out', `json=${files[name]}`, '-e', `SUMMARY_PATH=${join(dir, `${name}.summary.json`)}`, bundlePath];
    };
    // What the k6-operator does with parallelism 2, here with two local processes: each runner gets its execution
    // segment and starts paused; once both are ready, both are resumed through their REST APIs at once.
    const sequence = ['--execution-segment-sequence', '0,1/2,1'];
    const ports = [await freePort(), await freePort()];
    const done = [false, false];
    const split = [
      k6Run(k6.path, args('a', ['--execution-segment', '0:1/2', ...sequence, '--paused', '--address', `127.0.0.1:${ports[0]}`]), env),
      k6Run(k6.path, args('b', ['--execution-segment', '1/2:1', ...sequence, '--paused', '--address', `127.0.0.1:${ports[1]}`]), env),
    ];
    split.forEach((p, i) => void p.then(() => (done[i] = true)));
    await Promise.all(ports.map((port, i) => pausedAndReady(port, () => done[i]!)));
    await Promise.all(ports.map(resume));
    const [splitA, splitB] = await Promise.all(split);
    // ... and the same plan in one process.
    const single = await k6Run(k6.path, args('single', ['--address', `127.0.0.1:${await freePort()}`]), env);
    for (const [name, exit] of [['a', splitA!], ['b', splitB!], ['single', single]] as const) {
      expect(exit.code, `${name}: ${exit.stdout}${exit.stderr}`).toBe(0);
      summaries[name] = JSON.parse(await readFile(join(dir, `${name}.summary.json`), 'utf8')) as K6RunSummary;
    }
    merged = mergeRunners([readRunnerText('a', await textOf(files.a)), readRunnerText('b', await textOf(files.b))]);
    singleMerged = mergeRunners([readRunnerText('single', await textOf(files.single))]);
  }, 180_000);

  afterAll(async () => {
    await server?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function textOf(file: string): Promise<string> {
    const bytes = await readFile(file);
    return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  }

  it('the merged steps have the plan\'s users, split by k6 between the runners, and the single run\'s loads', () => {
    expect(merged.steps.map((s) => s.measurement.load)).toEqual(STEPS);
    expect(singleMerged.steps.map((s) => s.measurement.load)).toEqual(STEPS);
    expect(summaries.single!.steps.map((s) => s.measurement.load)).toEqual(STEPS);
    // One user cannot be split: one runner has it, the other has no sample of that step.
    expect(merged.steps[0]!.runners.map((r) => r.vus)).toEqual([1]);
    expect(merged.steps[1]!.runners.map((r) => r.vus)).toEqual([1, 1]);
    expect(merged.steps[2]!.runners.map((r) => r.vus).sort()).toEqual([1, 2]);
    expect(merged.merged.runners.map((r) => r.segment)).toEqual(['0:1/2', '1/2:1']);
    for (const s of merged.steps) {
      expect(s.ran).toBe(true);
      expect(s.windowSpreadMs!).toBeLessThan(1000);
    }
    console.log(`window spread of the two resumed runners per step: ${merged.steps.map((s) => `${s.windowSpreadMs} ms`).join(', ')}`);
  });

  it('per step, the merge adds up the runners\' own figures exactly, and its percentiles are those of all raw samples', () => {
    const a = summaries.a!;
    const b = summaries.b!;
    const rows: string[] = [];
    for (const [i, step] of merged.steps.entries()) {
      const mine = [a.steps[i]!, b.steps[i]!].filter((s) => s.ran).map((s) => s.measurement);
      const m = step.measurement;
      expect(m.requests).toBe(mine.reduce((n, x) => n + x.requests, 0));
      expect(m.errors).toBe(mine.reduce((n, x) => n + x.errors, 0));
      expect(Math.abs(m.rps - mine.reduce((n, x) => n + x.rps, 0))).toBeLessThanOrEqual(0.1 * mine.length + 1e-9);
      for (const name of REQUEST_NAMES) expect(m.endpoints[name]?.requests ?? 0).toBe(mine.reduce((n, x) => n + (x.endpoints[name]?.requests ?? 0), 0));
      for (const kind of ERROR_KINDS) expect(m.errorsByKind[kind]).toBe(mine.reduce((n, x) => n + x.errorsByKind[kind], 0));
      // The latencies, read straight from both files.
      const raw = [...rawSamples(files.a, stepMetrics(step.step).latency), ...rawSamples(files.b, stepMetrics(step.step).latency)];
      expect(raw.length).toBe(m.requests - m.errorsByKind.connection);
      expect(m.latencyMs).toEqual(latencyOf(raw));
      expect(m.latencyMs.p95).toBeGreaterThan(0);
      const single = summaries.single!.steps[i]!.measurement;
      rows.push(`step ${step.step} (${m.load} users): merged ${m.requests} requests (${mine.map((x) => x.requests).join(' + ')}), ${m.rps} rps, p95 ${m.latencyMs.p95} ms; single process ${single.requests} requests, ${single.rps} rps, p95 ${single.latencyMs.p95} ms`);
    }
    console.log(`k6 split in two vs one process:\n  ${rows.join('\n  ')}`);
  });

  it('merging one k6 process\'s file reproduces that process\'s own summary', () => {
    for (const [i, step] of singleMerged.steps.entries()) {
      const own = summaries.single!.steps[i]!;
      const m = step.measurement;
      expect(m.requests).toBe(own.measurement.requests);
      expect(m.errors).toBe(own.measurement.errors);
      expect(m.rps).toBe(own.measurement.rps);
      expect(m.seconds).toBe(own.measurement.seconds);
      expect(m.errorsByKind).toEqual(own.measurement.errorsByKind);
      const { avg, ...percentiles } = m.latencyMs;
      const { avg: ownAvg, ...ownPercentiles } = own.measurement.latencyMs;
      expect(percentiles).toEqual(ownPercentiles);
      // The same sum in another order may differ in the last bit.
      expect(Math.abs(avg - ownAvg)).toBeLessThanOrEqual(0.001);
      for (const name of REQUEST_NAMES) expect(m.endpoints[name]?.requests).toBe(own.measurement.endpoints[name]?.requests);
      expect(step.passed).toBe(own.passed);
      expect(step.windowStartMs).toBe(own.windowStartMs);
    }
    expect([singleMerged.breakpoint, singleMerged.firstFailing]).toEqual([summaries.single!.breakpoint, summaries.single!.firstFailing]);
  });

  it('merged and single runs measure the same steps: every step ran in both, at the same load', () => {
    // Their request counts are two runs on a shared 2-core machine: printed above, not compared (load noise, and
    // other test files' k6 processes, move them by several times).
    for (const [i, step] of merged.steps.entries()) {
      const single = singleMerged.steps[i]!;
      expect([step.ran, single.ran]).toEqual([true, true]);
      expect(step.measurement.requests).toBeGreaterThan(0);
      expect(single.measurement.requests).toBeGreaterThan(0);
      expect(step.measurement.load).toBe(single.measurement.load);
      expect(step.measurement.seconds).toBe(single.measurement.seconds);
    }
  });

  it('runners left to abort on their own share\'s thresholds (the old operator setup) are refused, not merged', async () => {
    // Every step fails p95<0.001 ms. k6 judges abortOnFail thresholds every 2 s, once a step's window is over: runner
    // a, with step 1's only user, stops early in step 2; runner b has no share of step 1 (k6 skips an empty metric
    // while running), so it goes on into step 3 before its step 2 verdict stops it.
    const env = { BASE_URL: server!.url, STEPS: '1,2,3', STEP_SECONDS: '2', WARMUP_SECONDS: '0.5', INITIAL_WARMUP_SECONDS: '1', PRODUCT_COUNT: '1000', THRESHOLD: 'p95<0.001' };
    const runnerArgs = (name: string, segment: string) => [
      ...['run', '--quiet', '--address', '127.0.0.1:0', '--execution-segment', segment, '--execution-segment-sequence', '0,1/2,1'],
      ...['--out', `json=${join(dir, `${name}.json`)}`, '-e', `SUMMARY_PATH=${join(dir, `${name}.summary.json`)}`, bundlePath],
    ];
    const exits = await Promise.all([k6Run(k6.path, runnerArgs('abort-a', '0:1/2'), env), k6Run(k6.path, runnerArgs('abort-b', '1/2:1'), env)]);
    // k6's exit code for failed thresholds.
    expect(exits.map((e) => e.code)).toEqual([99, 99]);
    const a = readRunnerText('abort-a', await textOf(join(dir, 'abort-a.json')));
    const b = readRunnerText('abort-b', await textOf(join(dir, 'abort-b.json')));
    expect(a.lastSampleMs).toBeLessThan(b.lastSampleMs);
    expect(() => mergeRunners([a, b])).toThrow(/^abort-a stopped before the end of step [23] while other runners ran it \(interrupted, or aborted by its own thresholds\): run the runners with ABORT_ON_FAIL=false$/);
  });

  it('stackbench k6 merge: the table, merged.json, and one-line errors for files that do not belong together', async () => {
    const out = join(dir, 'merged');
    const ok = await runCli(['k6', 'merge', files.a, files.b, '--out', out]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^stackbench k6 merge of 2 runner files: http:\/\/127\.0\.0\.1:\d+ \(profile quick, closed model, p95<100, errors < 1%\)\n/);
    expect(ok.stdout).toMatch(/\nbreakpoint: /);
    expect(ok.stdout).toContain(`merged: ${join(out, 'merged.json')}`);
    const written = JSON.parse(await readFile(join(out, 'merged.json'), 'utf8')) as MergedK6Run;
    expect(written.steps.map((s) => s.measurement.requests)).toEqual(merged.steps.map((s) => s.measurement.requests));
    expect(written.steps.map((s) => s.measurement.latencyMs)).toEqual(merged.steps.map((s) => s.measurement.latencyMs));

    const judged = await runCli(['k6', 'merge', files.a, files.b, '--threshold', 'p95<0.001', '--max-error-rate', '5%']);
    expect(judged.code).toBe(0);
    expect(judged.stdout).toContain('p95<0.001, errors < 5%');
    expect(judged.stdout).toMatch(/\nbreakpoint: none \(the first step failed\)\n/);

    const cases: Array<[string[], RegExp]> = [
      [[files.a], /^stackbench k6: no runner file covers the execution segment 1\/2:1: a runner's file is missing\n$/],
      [[files.a, files.a], /^stackbench k6: .* ran overlapping execution segments \(0:1\/2 and 0:1\/2\)/],
      [[files.a, files.b, files.single], /^stackbench k6: .* ran overlapping execution segments/],
      [[files.a, join(dir, 'nope.json')], /^stackbench k6: cannot read .*nope\.json: no such file\n$/],
      [[join(dir, 'a.summary.json')], /^stackbench k6: .*a\.summary\.json is not a k6 JSON output \(line 1\)/],
      [[files.a, files.b, '--threshold', 'p97<100'], /^stackbench k6: unknown latency statistic "p97"/],
      [[], /^stackbench k6: usage: stackbench k6 merge FILE\.\.\./],
    ];
    for (const [args, message] of cases) {
      const bad = await runCli(['k6', 'merge', ...args]);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stderr).toMatch(message);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    }
    const unknown = await runCli(['k6', 'split']);
    expect([unknown.code, unknown.stderr]).toEqual([1, 'stackbench k6: unknown k6 command "split" (known: merge)\n']);
  });
});

// ---- the k6-operator manifest ----------------------------------------------------------------------------------------

describe('infra/k6-operator/testrun.yaml', () => {
  const infra = join(root, '..', 'infra', 'k6-operator');
  const docs = parseAllDocuments(readFileSync(join(infra, 'testrun.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const testRun = docs.find((d) => d.kind === 'TestRun')!;
  const runner = testRun.spec.runner as { env: Array<{ name: string; value?: string; valueFrom?: unknown }>; volumes: any[]; volumeMounts: any[]; securityContext?: any };
  const env = Object.fromEntries(runner.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));

  it('splits the run across runner pods, each writing its raw samples to its own file on a shared volume', () => {
    expect(testRun.spec.parallelism).toBeGreaterThan(1);
    expect(testRun.spec.script.configMap).toEqual({ name: 'stackbench-k6', file: 'stepped.js' });
    // One file per pod: the kubelet expands $(POD_NAME) from the runner's env (downward API).
    const out = /--out json=(\S+)/.exec(testRun.spec.arguments as string);
    expect(out?.[1]).toBe('/results/$(POD_NAME).json.gz');
    expect(runner.env.find((e) => e.name === 'POD_NAME')).toEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    expect(runner.volumeMounts).toEqual([{ name: 'results', mountPath: '/results' }]);
    const volume = runner.volumes.find((v) => v.name === 'results');
    const claim = docs.find((d) => d.kind === 'PersistentVolumeClaim')!;
    expect(volume.persistentVolumeClaim.claimName).toBe(claim.metadata.name);
    // Runner pods may land on different nodes, all writing at once.
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    // grafana/k6 runs as uid/gid 12345: the volume must be writable for it.
    expect(runner.securityContext).toEqual({ fsGroup: 12345 });
    // The reader pod used to copy the files out mounts the same claim.
    const reader = parseAllDocuments(readFileSync(join(infra, 'results-reader.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>)[0]!;
    expect(reader.kind).toBe('Pod');
    expect(reader.spec.volumes[0].persistentVolumeClaim.claimName).toBe(claim.metadata.name);
  });

  it('no runner decides the run: no per-pod abortOnFail, and a plan the script accepts', () => {
    expect(env.ABORT_ON_FAIL).toBe('false');
    // Every variable is one the script reads (a misspelt one would be silently ignored).
    const known = ['BASE_URL', 'ALLOW_REMOTE_TARGET', 'PROFILE', 'MODEL', 'STEPS', 'MAX_LOAD', 'THRESHOLD', 'ERROR_RATE', 'ABORT_ON_FAIL', 'SUMMARY_PATH', 'THINK_MS', 'PRODUCT_COUNT'];
    for (const name of Object.keys(env)) expect(known, name).toContain(name);
    const plan = planFromEnv(env);
    expect(plan.abortOnFail).toBe(false);
    expect(plan.steps[plan.steps.length - 1]!.load).toBe(Number(env.MAX_LOAD));
    const options = buildOptions(plan);
    expect(JSON.stringify(options.thresholds)).not.toContain('abortOnFail');
    expect(Object.keys(options.thresholds ?? {}).filter((k) => !k.startsWith('dropped_iterations'))).toEqual([]);
    expect(env.SUMMARY_PATH).toBe('/results/$(POD_NAME).summary.json');
  });
});
