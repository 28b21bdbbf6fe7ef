import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planFromEnv, submetric, type K6Plan } from '../../../loadtests/k6/plan.js';
import { summarize } from '../../../loadtests/k6/summary.js';
import { findK6Script, k6Args, k6StepEnv, k6StepRunner, measurementFromK6Summary } from '../src/orchestrator/k6.js';
import type { StepOptions } from '../src/orchestrator/step-runner.js';

/**
 * `--driver k6` cannot run here (no k6 binary), so its code path is tested in pieces: the environment we give the
 * load helper's script (read back with the script's own planFromEnv), the summary its handleSummary writes (made by
 * the script's own summarize from k6-shaped metrics, and a checked-in fixture), and the runner driving a stand-in
 * `k6` executable that writes such a summary.
 */

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'k6-summary.json');

const step: StepOptions = {
  baseUrl: 'http://127.0.0.1:41234/',
  users: 8,
  durationMs: 4000,
  warmupMs: 500,
  thinkMs: 0,
  productCount: 10_000,
  maxRequests: 180_000,
  requestTimeoutMs: 2000,
};
const runner = { profile: 'quick', latencyThreshold: 'p95<100', errorRate: { op: '<' as const, limit: 0.01 } };

/** k6's handleSummary `data` for a one-step plan: what k6 hands the script (metrics keyed by sub-metric selectors). */
function k6Data(plan: K6Plan, opts: { p95: number; requests: number; errors: number }): unknown {
  const s = plan.steps[0]!.step;
  const trend = (p95: number, ok: boolean, expr: string) => ({
    type: 'trend',
    contains: 'time',
    values: { avg: p95 / 2, min: 0.4, med: p95 / 3, max: p95 * 2, 'p(50)': p95 / 3, 'p(90)': p95 * 0.9, 'p(95)': p95, 'p(99)': p95 * 1.5 },
    thresholds: { [expr]: { ok } },
  });
  const rate = (errors: number, requests: number, ok: boolean) => ({
    type: 'rate',
    contains: 'default',
    values: { rate: requests ? errors / requests : 0, passes: errors, fails: requests - errors },
    thresholds: { 'rate<0.01': { ok } },
  });
  const passed = opts.p95 < 100 && opts.errors / opts.requests < 0.01;
  const quarter = opts.requests / 4;
  const metrics: Record<string, unknown> = {
    http_reqs: { type: 'counter', contains: 'default', values: { count: opts.requests + 100, rate: 1000 } },
    [submetric.duration(s)]: trend(opts.p95, opts.p95 < 100, 'p(95)<100'),
    [submetric.errors(s)]: rate(opts.errors, opts.requests, opts.errors / opts.requests < 0.01),
    [submetric.errorKind(s, 'status')]: { type: 'counter', values: { count: opts.errors, rate: 1 } },
    [submetric.errorKind(s, 'timeout')]: { type: 'counter', values: { count: 0, rate: 0 } },
  };
  for (const name of ['list', 'product', 'order', 'order_view']) {
    metrics[submetric.duration(s, name)] = trend(opts.p95, true, 'max>=0');
    metrics[submetric.errors(s, name)] = rate(name === 'order' ? opts.errors : 0, quarter, true);
  }
  return {
    root_group: { name: '', path: '', groups: [], checks: [] },
    options: { summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)'] },
    state: { isStdOutTTY: false, isStdErrTTY: false, testRunDurationMs: (plan.steps[0]!.warmupSeconds + plan.steps[0]!.stepSeconds) * 1000 },
    metrics,
    passed,
  };
}

describe('k6: what we hand the script', () => {
  it('is read back by the script as exactly this one step', () => {
    const env = k6StepEnv(step, runner, '/tmp/x/summary.json');
    const plan = planFromEnv(env);
    expect(plan.baseUrl).toBe('http://127.0.0.1:41234');
    expect(plan.steps).toEqual([{ step: 1, users: 8, offsetSeconds: 0, warmupSeconds: 0.5, stepSeconds: 4 }]);
    expect(plan.productCount).toBe(10_000);
    expect(plan.thinkMs).toBe(0);
    expect(plan.requestTimeoutMs).toBe(2000);
    expect(plan.threshold.latency).toEqual([{ stat: 'p95', op: '<', limitMs: 100 }]);
    expect(plan.threshold.errorRate).toEqual({ op: '<', limit: 0.01 });
    expect(plan.abortOnFail).toBe(false);
    expect(plan.summaryPath).toBe('/tmp/x/summary.json');
  });

  it('works for a first step below the profile start (full starts at 2 users) and an inclusive error limit', () => {
    const plan = planFromEnv(k6StepEnv({ ...step, users: 1 }, { ...runner, profile: 'full', errorRate: { op: '<=', limit: 0 } }, 's.json'));
    expect(plan.steps.map((s) => s.users)).toEqual([1]);
    expect(plan.threshold.errorRate).toEqual({ op: '<=', limit: 0 });
  });

  it('runs k6 quietly, without usage report, with the plan as -e variables and the script last', () => {
    const args = k6Args('/x/stepped.js', { BASE_URL: 'http://127.0.0.1:1', STEPS: '4' });
    expect(args).toEqual(['run', '--quiet', '--no-color', '--no-usage-report', '-e', 'BASE_URL=http://127.0.0.1:1', '-e', 'STEPS=4', '/x/stepped.js']);
  });

  it('finds the bundled script', () => {
    expect(findK6Script()).toMatch(/loadtests[/\\]dist[/\\]k6[/\\]stepped\.js$/);
  });
});

describe('k6: reading its summary', () => {
  it('maps the summary the script writes onto a step measurement', () => {
    const plan = planFromEnv(k6StepEnv(step, runner, 's.json'));
    const summary = JSON.parse(JSON.stringify(summarize(k6Data(plan, { p95: 42, requests: 4000, errors: 8 }), plan)));
    const m = measurementFromK6Summary(summary, 8, { eventLoopDelayP99Ms: 0, cpuPct: 37 }, false);
    expect(m.users).toBe(8);
    expect(m.seconds).toBe(4);
    expect(m.requests).toBe(4000);
    expect(m.rps).toBe(1000);
    expect(m.errors).toBe(8);
    expect(m.errorRate).toBeCloseTo(0.002);
    expect(m.errorsByKind).toMatchObject({ status: 8, timeout: 0, connection: 0, body: 0 });
    expect(m.latencyMs).toEqual({ avg: 21, p50: 14, p90: expect.closeTo(37.8), p95: 42, p99: 63, max: 84 });
    expect(Object.keys(m.endpoints).sort()).toEqual(['list', 'order', 'order_view', 'product']);
    expect(m.endpoints.order).toMatchObject({ requests: 1000, errors: 8 });
    expect(m.driver).toEqual({ eventLoopDelayP99Ms: 0, cpuPct: 37 });
    expect(m.createdOrders).toEqual([]);
  });

  it('reads the checked-in fixture (a handleSummary file of a failing 16-user step)', () => {
    const m = measurementFromK6Summary(JSON.parse(readFileSync(FIXTURE, 'utf8')), 16);
    expect(m.users).toBe(16);
    expect(m.requests).toBe(6000);
    expect(m.errors).toBe(120);
    expect(m.errorRate).toBeCloseTo(0.02);
    expect(m.latencyMs.p95).toBe(140);
    expect(m.errorsByKind.status).toBe(120);
    expect(m.driver).toBeNull();
  });

  it('rejects anything else', () => {
    expect(() => measurementFromK6Summary({ metrics: {} }, 1)).toThrow(/not a stackbench k6 summary/);
    expect(() => measurementFromK6Summary({ engine: 'k6', steps: [] }, 1)).toThrow(/no steps/);
  });
});

describe('k6: the runner, with a stand-in k6 executable', () => {
  let dir: string;
  let fake: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stackbench-fake-k6-'));
    const impl = join(dir, 'fake-k6.mjs');
    // Records its arguments; writes FAKE_SUMMARY to the SUMMARY_PATH given with -e; exits FAKE_EXIT (99: thresholds crossed).
    writeFileSync(
      impl,
      `import { readFileSync, writeFileSync } from 'node:fs';
const args = process.argv.slice(2);
writeFileSync(process.env.FAKE_ARGS, JSON.stringify(args));
const env = Object.fromEntries(args.flatMap((a, i) => (args[i - 1] === '-e' ? [a.split(/=(.*)/s).slice(0, 2)] : [])));
if (process.env.FAKE_HANG) setInterval(() => {}, 1000);
else {
  if (process.env.FAKE_SUMMARY) writeFileSync(env.SUMMARY_PATH, readFileSync(process.env.FAKE_SUMMARY));
  else console.error('ERRO[0000] could not initialize the script');
  process.exit(Number(process.env.FAKE_EXIT ?? 0));
}
`,
    );
    fake = join(dir, 'k6');
    writeFileSync(fake, `#!/bin/sh\nexec "${process.execPath}" "${impl}" "$@"\n`);
    chmodSync(fake, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runnerWith = () => k6StepRunner({ binary: fake, script: findK6Script()!, ...runner, cpus: 1 });

  it('runs one k6 process per step and returns the step from its summary (exit 99 = a failing step, not an error)', async () => {
    const argsFile = join(dir, 'args.json');
    process.env.FAKE_ARGS = argsFile;
    process.env.FAKE_SUMMARY = FIXTURE;
    process.env.FAKE_EXIT = '99';
    try {
      const m = await runnerWith().runStep({ ...step, users: 16 });
      expect(m.requests).toBe(6000);
      expect(m.latencyMs.p95).toBe(140);
      // k6's CPU comes from /proc while it runs (a stand-in that exits at once may leave no window to measure).
      if (m.driver) expect(m.driver.cpuPct).toBeGreaterThanOrEqual(0);
      expect(m.driverBound).toBe(false);
      const args = JSON.parse(readFileSync(argsFile, 'utf8')) as string[];
      expect(args.slice(0, 4)).toEqual(['run', '--quiet', '--no-color', '--no-usage-report']);
      expect(args.at(-1)).toBe(findK6Script());
      expect(args).toContain('BASE_URL=http://127.0.0.1:41234');
      expect(args).toContain('STEPS=16');
      expect(args).toContain('ABORT_ON_FAIL=false');
    } finally {
      delete process.env.FAKE_SUMMARY;
      delete process.env.FAKE_EXIT;
    }
  });

  it('fails with k6’s last words when it exits without a summary', async () => {
    process.env.FAKE_EXIT = '107';
    try {
      await expect(runnerWith().runStep(step)).rejects.toThrow(/k6 exited \(code 107\) without a summary: ERRO\[0000\] could not initialize the script/);
    } finally {
      delete process.env.FAKE_EXIT;
    }
  });

  it('stops k6 when the step is aborted', async () => {
    process.env.FAKE_HANG = '1';
    try {
      const controller = new AbortController();
      const running = runnerWith().runStep({ ...step, signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      await expect(running).rejects.toThrow(/aborted/);
    } finally {
      delete process.env.FAKE_HANG;
    }
  });
});
