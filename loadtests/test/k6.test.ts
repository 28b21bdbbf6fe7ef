import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import { describeWithPart } from '@stackbench/test-support/optional';
import {
  DEFAULT_THRESHOLD,
  k6Args,
  k6Engine,
  k6Processors,
  k6StepEnv,
  LOAD_MODELS,
  parseThreshold,
  PROFILE_NAMES,
  REQUEST_NAMES,
  StepMeasurementSchema,
  stepRunFromK6Summary,
  type StepRequest,
  type StepRun,
} from '../src/index.js';
import { allStepMetricNames, buildOptions, planFromEnv, stepMetrics, SUMMARY_TREND_STATS, SYSTEM_TAGS } from '../src/k6/plan.js';
import { renderText, summarize, type K6RunSummary } from '../src/k6/summary.js';
import { PRODUCT_COUNT, startLoopbackApp, type LoopbackApp } from './loopback-app.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

/** The script as this checkout's sources bundle it (built fresh, into a temporary folder, by the real build script). */
let outDir: string;
let bundlePath: string;
let bundle: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'stackbench-k6-'));
  await run(process.execPath, [join(root, 'scripts', 'build-k6.mjs'), '--outdir', outDir], { cwd: root });
  bundlePath = join(outDir, 'stepped.js');
  bundle = await readFile(bundlePath, 'utf8');
}, 60_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('k6 script', () => {
  it('type-checks against @types/k6 (tsc -p loadtests/k6)', async () => {
    const result = await run(process.execPath, [tsc, '-p', join(root, 'k6', 'tsconfig.json')], { cwd: root }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it('bundles to plain ES2017 JavaScript importing nothing but k6 built-ins', () => {
    const specifiers = [...bundle.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(specifiers.sort()).toEqual(['k6', 'k6/execution', 'k6/http', 'k6/metrics']);
    expect(bundle).not.toMatch(/\brequire\s*\(/);
    expect(bundle).not.toMatch(/\bimport\s*\(/);
    // goja in k6 < 0.53 lacks these: the ES2017 target must have lowered them (and nothing async is left). The
    // journeys are generators, which goja runs natively since k6 v0.43 (grafana/k6#2895).
    expect(bundle).not.toMatch(/\?\.(?!\d)/);
    expect(bundle).not.toContain('??');
    expect(bundle).not.toMatch(/\basync\s+function\b|\bawait\s/);
    expect(bundle).toMatch(/function\s*\*\s*commerceJourney\b/);
    // TypeBox stays out: the script imports measurement types only.
    expect(bundle).not.toMatch(/typebox/i);
    expect(bundle).toMatch(/export\s*\{[^}]*\bhandleSummary\b/);
    expect(bundle).toMatch(/export\s*\{[^}]*\boptions\b/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bdefault\b/);
  });
});

describe('k6 plan from the environment', () => {
  it('closed model: one constant-vus scenario per step, offsets, window env, per-step untagged verdict thresholds', () => {
    const plan = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', PROFILE: 'smoke' });
    expect(plan.model).toBe('closed');
    expect(plan.abortOnFail).toBe(true);
    expect(plan.steps).toEqual([
      { step: 1, model: 'closed', load: 1, offsetSeconds: 0, warmupSeconds: 1, stepSeconds: 2 },
      { step: 2, model: 'closed', load: 2, offsetSeconds: 3, warmupSeconds: 0.5, stepSeconds: 2 },
    ]);
    const options = buildOptions(plan);
    expect(options.scenarios).toEqual({
      step_1: {
        executor: 'constant-vus',
        vus: 1,
        duration: '3s',
        startTime: '0s',
        gracefulStop: '0.5s',
        env: { STACKBENCH_STEP: '1', STACKBENCH_WINDOW_OFFSET_MS: '1000', STACKBENCH_STEP_MS: '2000' },
      },
      step_2: {
        executor: 'constant-vus',
        vus: 2,
        duration: '2.5s',
        startTime: '3s',
        gracefulStop: '1s',
        env: { STACKBENCH_STEP: '2', STACKBENCH_WINDOW_OFFSET_MS: '500', STACKBENCH_STEP_MS: '2000' },
      },
    });
    // Thresholds on each step's own metrics (no tag filters to match per sample), evaluated once the step is over.
    expect(options.thresholds).toEqual({
      sb_1_lat: [{ threshold: 'p(95)<100', abortOnFail: true, delayAbortEval: '3s' }],
      sb_1_errors: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '3s' }],
      sb_2_lat: [{ threshold: 'p(95)<100', abortOnFail: true, delayAbortEval: '5.5s' }],
      sb_2_errors: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5.5s' }],
    });
    expect(options.summaryTrendStats).toEqual(SUMMARY_TREND_STATS);
    expect(options.summaryTrendStats).toEqual(expect.arrayContaining(['avg', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'count']));
    expect(options.systemTags).toEqual(SYSTEM_TAGS);
    expect(SYSTEM_TAGS).not.toContain('url');
    expect(options.discardResponseBodies).toBe(true);
  });

  it('without ABORT_ON_FAIL (one step per k6 run, judged by stackbench) there are no thresholds at all', () => {
    for (const value of ['false', '0']) {
      const plan = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', STEPS: '8', ABORT_ON_FAIL: value });
      expect(plan.abortOnFail).toBe(false);
      expect(buildOptions(plan).thresholds).toEqual({});
    }
  });

  it('open model: an unrecorded warm-up scenario, then the measured constant-arrival-rate one, and its dropped iterations', () => {
    const plan = planFromEnv({
      BASE_URL: 'http://127.0.0.1:3000',
      MODEL: 'open',
      STEPS: '10,40',
      STEP_SECONDS: '2',
      WARMUP_SECONDS: '0.5',
      INITIAL_WARMUP_SECONDS: '1',
      MAX_IN_FLIGHT: '3',
      ABORT_ON_FAIL: 'false',
    });
    expect(plan.maxInFlight).toBe(3);
    expect(plan.steps.map((s) => [s.model, s.load, s.offsetSeconds, s.warmupSeconds])).toEqual([
      ['open', 10, 0, 1],
      ['open', 40, 3, 0.5],
    ]);
    const options = buildOptions(plan);
    expect(Object.keys(options.scenarios!)).toEqual(['step_1_warmup', 'step_1', 'step_2_warmup', 'step_2']);
    // Held at the step's rate; ramping because k6 refuses constant-arrival-rate scenarios under 1 s (step 2's 0.5 s).
    expect(options.scenarios!.step_1_warmup).toEqual({
      executor: 'ramping-arrival-rate',
      startRate: 10,
      timeUnit: '1s',
      stages: [{ duration: '1s', target: 10 }],
      startTime: '0s',
      preAllocatedVUs: 1,
      maxVUs: 3,
      gracefulStop: '0.5s',
      // The warm-up's VUs learn where the measured window lies: after the warm-up.
      env: { STACKBENCH_STEP: '1', STACKBENCH_WINDOW_OFFSET_MS: '1000', STACKBENCH_STEP_MS: '2000' },
    });
    expect(options.scenarios!.step_1).toMatchObject({
      executor: 'constant-arrival-rate',
      rate: 10,
      duration: '2s',
      startTime: '1s',
      maxVUs: 3,
      env: { STACKBENCH_STEP: '1', STACKBENCH_WINDOW_OFFSET_MS: '0', STACKBENCH_STEP_MS: '2000' },
    });
    expect(options.scenarios!.step_2_warmup).toMatchObject({ executor: 'ramping-arrival-rate', startRate: 40, stages: [{ duration: '0.5s', target: 40 }], startTime: '3s' });
    expect(options.scenarios!.step_2).toMatchObject({ executor: 'constant-arrival-rate', rate: 40, duration: '2s', startTime: '3.5s', preAllocatedVUs: 3, maxVUs: 3 });
    // Only the measured scenario's drops count: a threshold that always holds makes k6 report that sub-metric.
    expect(options.thresholds).toEqual({
      'dropped_iterations{scenario:step_1}': ['count>=0'],
      'dropped_iterations{scenario:step_2}': ['count>=0'],
    });
    const withVerdicts = buildOptions({ ...plan, abortOnFail: true }).thresholds!;
    expect(withVerdicts.sb_2_lat).toEqual([{ threshold: 'p(95)<100', abortOnFail: true, delayAbortEval: '5.5s' }]);
  });

  it('open model without warm-up: only the measured scenario; MAX_IN_FLIGHT defaults from the largest rate and the timeout', () => {
    const plan = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', MODEL: 'open', STEPS: '100', INITIAL_WARMUP_SECONDS: '0', REQUEST_TIMEOUT_MS: '5000' });
    expect(plan.maxInFlight).toBe(500);
    expect(Object.keys(buildOptions(plan).scenarios!)).toEqual(['step_1']);
    expect(planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', MODEL: 'open', STEPS: '2' }).maxInFlight).toBe(64);
    expect(planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', MODEL: 'open', STEPS: '1000' }).maxInFlight).toBe(2000);
  });

  it('names each step\'s metrics once, for the script\'s init context', () => {
    const names = stepMetrics(3);
    expect(names).toMatchObject({ latency: 'sb_3_lat', server: 'sb_3_srv', windowStart: 'sb_3_win', errorRate: 'sb_3_errors', scenario: 'step_3', warmupScenario: 'step_3_warmup' });
    expect([names.endpointLatency('list'), names.noResponse('order'), names.endpointErrors('product'), names.errorKind('timeout')]).toEqual([
      'sb_3_lat_list',
      'sb_3_noresp_order',
      'sb_3_err_product',
      'sb_3_kind_timeout',
    ]);
    const all = allStepMetricNames(planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', STEPS: '1,2' }));
    expect(all.map((m) => m.step)).toEqual([1, 2]);
    expect(all[1]!.endpointLatency.map((e) => e.metric)).toEqual(REQUEST_NAMES.map((n) => `sb_2_lat_${n}`));
    expect(all[1]!.errorKinds.map((e) => e.kind)).toEqual(['status', 'body', 'timeout', 'connection', 'dropped']);
  });

  it('reads STEPS, THRESHOLD, ERROR_RATE, THINK_MS, PAGE_SIZE and the durations from the environment', () => {
    const plan = planFromEnv({
      BASE_URL: 'http://localhost:8080/',
      STEPS: '5, 10,20',
      STEP_SECONDS: '3',
      WARMUP_SECONDS: '1',
      INITIAL_WARMUP_SECONDS: '2',
      THRESHOLD: 'p99<250,avg<50',
      ERROR_RATE: '0.5%',
      THINK_MS: '100',
      PAGE_SIZE: '10',
      PRODUCT_COUNT: '500',
      REQUEST_TIMEOUT_MS: '2500',
      SUMMARY_PATH: '/tmp/x.json',
    });
    expect(plan.baseUrl).toBe('http://localhost:8080');
    expect(plan.steps.map((s) => [s.load, s.offsetSeconds, s.warmupSeconds])).toEqual([
      [5, 0, 2],
      [10, 5, 1],
      [20, 9, 1],
    ]);
    expect(plan).toMatchObject({ thinkMs: 100, pageSize: 10, productCount: 500, requestTimeoutMs: 2500, errorRateLimit: '0.5%', summaryPath: '/tmp/x.json' });
    expect(plan.threshold.text).toBe('p99<250,avg<50');
    const options = buildOptions(plan);
    expect(options.thresholds!.sb_3_lat).toEqual([
      { threshold: 'p(99)<250', abortOnFail: true, delayAbortEval: '13s' },
      { threshold: 'avg<50', abortOnFail: true, delayAbortEval: '13s' },
    ]);
    expect(options.thresholds!.sb_3_errors).toEqual([{ threshold: 'rate<0.005', abortOnFail: true, delayAbortEval: '13s' }]);
    // MAX_LOAD caps the profile's growth; a zero warm-up is honoured (not read as "unset").
    const capped = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', PROFILE: 'quick', MAX_LOAD: '5', WARMUP_SECONDS: '0' });
    expect(capped.steps.map((s) => [s.load, s.warmupSeconds])).toEqual([
      [1, 2],
      [2, 0],
      [4, 0],
      [5, 0],
    ]);
  });

  it('is what the stackbench k6 engine asks for: one step, no verdict thresholds', () => {
    const request: StepRequest = {
      baseUrl: 'http://127.0.0.1:3000/',
      model: 'open',
      load: 25,
      durationMs: 4000,
      warmupMs: 500,
      thinkMs: 0,
      productCount: 300,
      maxRequests: 1,
      requestTimeoutMs: 2000,
      maxInFlight: 7,
    };
    const env = k6StepEnv(request, { profile: 'quick', threshold: parseThreshold('p99<=250', '<=2%') }, '/tmp/s.json');
    expect(env).toMatchObject({ BASE_URL: 'http://127.0.0.1:3000', MODEL: 'open', STEPS: '25', STEP_SECONDS: '4', WARMUP_SECONDS: '0.5', MAX_IN_FLIGHT: '7', THRESHOLD: 'p99<=250', ERROR_RATE: '<=0.02', ABORT_ON_FAIL: 'false' });
    const plan = planFromEnv(env);
    expect(plan.steps).toEqual([{ step: 1, model: 'open', load: 25, offsetSeconds: 0, warmupSeconds: 0.5, stepSeconds: 4 }]);
    expect(plan.threshold).toEqual(parseThreshold('p99<=250', '<=2%'));
    expect(plan).toMatchObject({ maxInFlight: 7, productCount: 300, requestTimeoutMs: 2000, abortOnFail: false, summaryPath: '/tmp/s.json' });
    expect(k6Args('/s.js', { A: '1', B: 'x y' })).toEqual(['run', '--quiet', '--no-color', '--no-usage-report', '-e', 'A=1', '-e', 'B=x y', '/s.js']);
    expect(planFromEnv(k6StepEnv({ ...request, model: 'closed', maxInFlight: undefined }, { profile: 'smoke', threshold: DEFAULT_THRESHOLD }, 's.json')).steps).toHaveLength(1);
  });

  it('refuses non-loopback targets, however they are written, and bad values', () => {
    for (const host of ['10.0.0.1', '127.1', '0x7f.0.0.1', '127.0.0.01']) expect(() => planFromEnv({ BASE_URL: `http://${host}:3000` }), host).toThrow(/refusing/);
    expect(() => planFromEnv({ BASE_URL: 'https://127.0.0.1:3000' })).toThrow(/BASE_URL/);
    expect(() => planFromEnv({ BASE_URL: 'http://127.0.0.1:3000/api' })).toThrow(/BASE_URL/);
    expect(() => planFromEnv({ STEPS: '1,x' })).toThrow(/STEPS/);
    expect(() => planFromEnv({ STEPS: '2,1' })).toThrow(/ascending/);
    expect(() => planFromEnv({ PROFILE: 'huge' })).toThrow(/PROFILE/);
    expect(() => planFromEnv({ MODEL: 'poisson' })).toThrow(/MODEL/);
    expect(() => planFromEnv({ THRESHOLD: 'p97<1' })).toThrow(/p97/);
    expect(() => planFromEnv({ STEP_SECONDS: '-1' })).toThrow(/STEP_SECONDS/);
    // k6 runs no constant-vus or constant-arrival-rate scenario shorter than 1 s: closed steps need warm-up + window
    // >= 1 s, open steps a window >= 1 s (their warm-up is a ramping scenario, which may be shorter).
    expect(planFromEnv({ PROFILE: 'smoke', STEP_SECONDS: '0.5' }).steps.map((s) => s.warmupSeconds + s.stepSeconds)).toEqual([1.5, 1]);
    expect(() => planFromEnv({ STEP_SECONDS: '0.5', WARMUP_SECONDS: '0', INITIAL_WARMUP_SECONDS: '0' })).toThrow(/warm-up \+ STEP_SECONDS must be >= 1/);
    expect(() => planFromEnv({ MODEL: 'open', STEP_SECONDS: '0.5' })).toThrow(/^STEP_SECONDS must be >= 1/);
    expect(planFromEnv({ MODEL: 'open', STEP_SECONDS: '1', WARMUP_SECONDS: '0.2' }).steps[1]!.warmupSeconds).toBe(0.2);
    expect(() => planFromEnv({ MAX_IN_FLIGHT: '0' })).toThrow(/MAX_IN_FLIGHT/);
    expect(planFromEnv({ BASE_URL: 'http://[::1]:3000' }).baseUrl).toBe('http://[::1]:3000');
    expect(planFromEnv({}).baseUrl).toBe('http://127.0.0.1:3000');
  });

  it('targets a remote app only when ALLOW_REMOTE_TARGET=1 (Grafana Cloud k6, k6-operator)', () => {
    expect(() => planFromEnv({ BASE_URL: 'http://shop.example.com' })).toThrow(/loopback/);
    expect(planFromEnv({ BASE_URL: 'https://shop.example.com/', ALLOW_REMOTE_TARGET: '1' }).baseUrl).toBe('https://shop.example.com');
    expect(() => planFromEnv({ BASE_URL: 'ftp://shop.example.com', ALLOW_REMOTE_TARGET: '1' })).toThrow(/BASE_URL/);
  });
});

describe('k6 Go processors (k6Processors)', () => {
  it('runs k6 with the envelope share rounded up when that is fewer than its CPUs, and says so as its parallelism', () => {
    expect(k6Processors({ cpus: 2, goMaxProcs: 1 }, {})).toEqual({ parallelism: 1, env: { GOMAXPROCS: '1' } });
    expect(k6Processors({ cpus: 16, goMaxProcs: 14.5 }, {})).toEqual({ parallelism: 15, env: { GOMAXPROCS: '15' } });
  });
  it('leaves Go alone without a share, or when the share is every CPU', () => {
    expect(k6Processors({ cpus: 2 }, {})).toEqual({ parallelism: 2, env: {} });
    expect(k6Processors({ cpus: 2, goMaxProcs: 2 }, {})).toEqual({ parallelism: 2, env: {} });
  });
  it('lets a GOMAXPROCS in the environment win (k6 inherits it), capped by the CPUs it may use', () => {
    expect(k6Processors({ cpus: 4, goMaxProcs: 1 }, { GOMAXPROCS: '3' })).toEqual({ parallelism: 3, env: {} });
    expect(k6Processors({ cpus: 2 }, { GOMAXPROCS: '8' })).toEqual({ parallelism: 2, env: {} });
    expect(k6Processors({ cpus: 2, goMaxProcs: 1 }, { GOMAXPROCS: 'lots' })).toEqual({ parallelism: 1, env: { GOMAXPROCS: '1' } });
  });
});

describe('k6 summary (handleSummary data -> StepMeasurement minus driver)', () => {
  const plan = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', STEPS: '4,8,16', STEP_SECONDS: '10', WARMUP_SECONDS: '1', INITIAL_WARMUP_SECONDS: '2' });
  const trend = (p95: number, count: number) => ({
    type: 'trend',
    contains: 'time',
    values: { avg: p95 / 2, min: 0.1, med: p95 / 3, max: p95 * 2, 'p(50)': p95 / 3, 'p(90)': p95 * 0.9, 'p(95)': p95, 'p(99)': p95 * 1.5, count },
  });
  const counter = (count: number) => ({ type: 'counter', contains: 'default', values: { count, rate: count / 10 } });
  const gauge = (value: number) => ({ type: 'gauge', contains: 'default', values: { value, min: value, max: value } });
  const W1 = 1_760_000_002_000;
  const W2 = W1 + 11_000;

  /** Step 1 healthy (4 x 1000 requests); step 2 aborted 7 s into its window with errors of every response kind. */
  function metrics(): Record<string, unknown> {
    const m: Record<string, unknown> = {};
    const s1 = stepMetrics(1);
    m[s1.latency] = trend(20, 4000);
    for (const name of REQUEST_NAMES) m[s1.endpointLatency(name)] = trend(name === 'list' ? 30 : 10, 1000);
    m[s1.server] = trend(5, 4000);
    m[s1.windowStart] = gauge(W1);
    const s2 = stepMetrics(2);
    m[s2.latency] = trend(150, 5990);
    m[s2.endpointLatency('list')] = trend(150, 1500);
    m[s2.noResponse('list')] = counter(5); // connection errors: no latency
    m[s2.endpointLatency('product')] = trend(150, 1500);
    m[s2.endpointLatency('order')] = trend(150, 1495);
    m[s2.endpointLatency('order_view')] = trend(150, 1495);
    m[s2.endpointErrors('list')] = counter(5);
    m[s2.endpointErrors('product')] = counter(25);
    m[s2.endpointErrors('order_view')] = counter(3);
    m[s2.errorKind('connection')] = counter(5);
    m[s2.errorKind('status')] = counter(25);
    m[s2.errorKind('timeout')] = counter(3);
    m[s2.windowStart] = gauge(W2);
    // Step 3 never ran: k6 aborted first. Its window gauge may exist (a VU entered it) without any request.
    m[stepMetrics(3).windowStart] = gauge(W2 + 11_000);
    return m;
  }

  it('maps each step\'s own metrics to the measurement, the window start and the verdict, and finds the breakpoint', () => {
    // Step 2 starts measuring at 2 + 10 + 1 = 13 s; k6 aborted 7 s into it.
    const s = summarize({ metrics: metrics(), state: { testRunDurationMs: 20_000 } }, plan);
    expect(s).toMatchObject({ engine: 'k6', baseUrl: 'http://127.0.0.1:3000', model: 'closed', threshold: { latency: 'p95<100', errorRate: '1%' }, testRunDurationMs: 20_000 });
    expect(s.steps).toHaveLength(3);
    const [a, b, c] = s.steps;
    expect(a).toMatchObject({ step: 1, ran: true, windowStartMs: W1, passed: true, reasons: [] });
    expect(a!.measurement).toMatchObject({ model: 'closed', load: 4, seconds: 10, requests: 4000, rps: 400, errors: 0, errorRate: 0, maxRequestsReached: false, errorSamples: [] });
    expect(a!.measurement.latencyMs).toEqual({ avg: 10, p50: 6.667, p90: 18, p95: 20, p99: 30, max: 40 });
    expect(a!.measurement.serverMs).toEqual({ avg: 2.5, p50: 1.667, p90: 4.5, p95: 5, p99: 7.5, max: 10 });
    expect(a!.measurement.endpoints.list).toEqual({ requests: 1000, errors: 0, latencyMs: { avg: 15, p50: 10, p90: 27, p95: 30, p99: 45, max: 60 } });
    expect(Object.keys(a!.measurement.endpoints)).toEqual([...REQUEST_NAMES]);
    // The shared schema holds once the runner adds k6's own usage.
    const driver = { engine: 'k6' as const, cpuPct: 50, parallelism: 4, eventLoopDelayP99Ms: null };
    expect(Value.Errors(StepMeasurementSchema, { ...a!.measurement, driver }).First()).toBeUndefined();
    expect(Value.Errors(StepMeasurementSchema, { ...b!.measurement, driver }).First()).toBeUndefined();

    expect(b).toMatchObject({ step: 2, ran: true, windowStartMs: W2, passed: false });
    expect(b!.measurement).toMatchObject({ load: 8, seconds: 7, requests: 5995, errors: 33, errorRate: 0.005505 });
    expect(b!.measurement.rps).toBe(856.4);
    expect(b!.measurement.endpoints.list).toMatchObject({ requests: 1505, errors: 5 });
    expect(b!.measurement.endpoints.order_view).toMatchObject({ requests: 1495, errors: 3 });
    expect(b!.measurement.errorsByKind).toEqual({ status: 25, body: 0, timeout: 3, connection: 5, dropped: 0 });
    expect(b!.measurement.serverMs).toBeNull();
    expect(b!.reasons).toEqual(['p95 150 ms is not < 100 ms']);

    expect(c).toMatchObject({ step: 3, ran: false, windowStartMs: null, passed: false, reasons: ['step did not run'] });
    expect(c!.measurement).toMatchObject({ load: 16, requests: 0, endpoints: {} });
    expect(s).toMatchObject({ breakpoint: 4, firstFailing: 8, capped: false });

    const text = renderText(s);
    expect(text).toMatch(/^stackbench k6 run against http:\/\/127\.0\.0\.1:3000 \(profile quick, closed model, p95<100, errors < 1%\)/);
    expect(text).toContain('FAIL p95 150 ms is not < 100 ms');
    expect(text).toMatch(/\n\s+3\s+16\s+\(not run\)\n/);
    expect(text).toContain('breakpoint: 4 users');
  });

  it('open model: the measured scenario\'s dropped iterations are failed list requests of kind dropped', () => {
    const open = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', MODEL: 'open', STEPS: '50', STEP_SECONDS: '2', INITIAL_WARMUP_SECONDS: '1' });
    const s1 = stepMetrics(1);
    const data = {
      metrics: {
        [s1.latency]: trend(40, 400),
        [s1.endpointLatency('list')]: trend(40, 100),
        [s1.endpointLatency('product')]: trend(40, 100),
        [s1.endpointLatency('order')]: trend(40, 100),
        [s1.endpointLatency('order_view')]: trend(40, 100),
        [s1.windowStart]: gauge(W1),
        'dropped_iterations{scenario:step_1}': counter(7),
        // The warm-up's drops are not the step's.
        dropped_iterations: counter(11),
      },
      state: { testRunDurationMs: 3_100 },
    };
    const step = summarize(data, open).steps[0]!;
    expect(step.measurement).toMatchObject({ model: 'open', load: 50, seconds: 2, requests: 407, errors: 7 });
    expect(step.measurement.errorsByKind).toEqual({ status: 0, body: 0, timeout: 0, connection: 0, dropped: 7 });
    expect(step.measurement.endpoints.list).toMatchObject({ requests: 107, errors: 7 });
    // Drops count against the error rate like any failed request: 7 / 407 = 1.72 %.
    expect(step.passed).toBe(false);
    expect(step.reasons).toEqual(['error rate 1.72 % (7/407) is not < 1 %']);
  });

  it('every step passing: capped at the last step', () => {
    const m: Record<string, unknown> = {};
    for (const step of [1, 2, 3]) {
      m[stepMetrics(step).latency] = trend(10, 100);
      m[stepMetrics(step).endpointLatency('list')] = trend(10, 100);
      m[stepMetrics(step).windowStart] = gauge(W1 + step * 11_000);
    }
    const s = summarize({ metrics: m, state: { testRunDurationMs: 40_000 } }, plan);
    expect(s.steps.every((x) => x.passed)).toBe(true);
    expect(s).toMatchObject({ breakpoint: 16, firstFailing: null, capped: true });
    expect(renderText(s)).toContain('breakpoint: 16 users (capped: every step passed)');
  });

  it('survives an empty summary', () => {
    const s = summarize({}, plan);
    expect(s.steps.every((x) => !x.ran && !x.passed && x.windowStartMs === null)).toBe(true);
    expect(s.breakpoint).toBeNull();
    expect(renderText(s)).toContain('breakpoint: none (the first step failed)');
  });

  it('the engine takes the first step of a summary as its StepRun, and refuses anything else', () => {
    const s = summarize({ metrics: metrics(), state: { testRunDurationMs: 20_000 } }, plan);
    const runFromSummary = stepRunFromK6Summary(s, { durationMs: 10_000 });
    expect(runFromSummary.window).toEqual({ startMs: W1, endMs: W1 + 10_000 });
    expect(runFromSummary.createdOrders).toEqual([]);
    expect(runFromSummary.measurement.requests).toBe(4000);
    expect(() => stepRunFromK6Summary({ engine: 'node', steps: [] }, { durationMs: 1 })).toThrow(/not a stackbench k6 summary/);
    expect(() => stepRunFromK6Summary({ ...s, steps: [] }, { durationMs: 1 })).toThrow(/no steps/);
    expect(() => stepRunFromK6Summary(summarize({}, plan), { durationMs: 1 })).toThrow(/ran no request/);
  });
});

// ---- real k6 ------------------------------------------------------------------------------------------------------

/** How far apart k6's and the server's stamps of one response may be (both Date.now(), ms; k6 stamps after reading). */
const STAMP_MS = 25;

/** The window rule seen from the server: responses well inside the window are counted, none outside it. */
function expectWindowRule(counted: Record<string, { requests: number } | undefined>, server: LoopbackApp, startMs: number, endMs: number): void {
  for (const name of REQUEST_NAMES) {
    const n = counted[name]?.requests ?? 0;
    expect(n, name).toBeGreaterThanOrEqual(server.finishedBetween(startMs + STAMP_MS, endMs - STAMP_MS, name));
    expect(n, name).toBeLessThanOrEqual(server.finishedBetween(startMs - STAMP_MS, endMs + STAMP_MS, name));
  }
}

interface K6Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `k6 run` as a child process (asynchronous: the server under load lives in this process's event loop). */
function k6Run(binary: string, args: string[]): Promise<K6Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describeWithPart('k6', 'real k6 against a loopback app', (k6) => {
  let app: LoopbackApp | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stackbench-k6-run-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  const engine = () => k6Engine({ binary: k6.path, script: bundlePath, profile: 'smoke', threshold: DEFAULT_THRESHOLD, cpus: availableParallelism() });
  const stepRequest = (overrides: Partial<StepRequest>): StepRequest => ({
    baseUrl: app!.url,
    model: 'closed',
    load: 2,
    durationMs: 2_000,
    warmupMs: 500,
    thinkMs: 0,
    productCount: PRODUCT_COUNT,
    maxRequests: 1_000_000_000,
    requestTimeoutMs: 5_000,
    ...overrides,
  });

  it('k6 accepts the options of every profile in both models (k6 inspect validates them)', async () => {
    const cases = PROFILE_NAMES.flatMap((profile) => LOAD_MODELS.map((model) => ({ profile, model })));
    const exits = await Promise.all(cases.map(({ profile, model }) => k6Run(k6.path, ['inspect', '--execution-requirements', '-e', `PROFILE=${profile}`, '-e', `MODEL=${model}`, bundlePath])));
    cases.forEach(({ profile, model }, i) => {
      const exit = exits[i]!;
      expect(exit.code, `${profile} ${model}: ${exit.stderr}`).toBe(0);
      const inspected = JSON.parse(exit.stdout) as { scenarios: Record<string, unknown> };
      const plan = planFromEnv({ PROFILE: profile, MODEL: model });
      expect(Object.keys(inspected.scenarios).sort(), `${profile} ${model}`).toEqual(Object.keys(buildOptions(plan).scenarios!).sort());
    });
  }, 60_000);

  it('k6Engine, closed model: counts per endpoint match the server within the window, with server time, window and k6 CPU', async () => {
    // k6 stamps with Date.now(): so does the server here.
    app = await startLoopbackApp({ clock: Date.now });
    const before = Date.now();
    const result: StepRun = await engine().runStep(stepRequest({}));
    const after = Date.now();
    const m = result.measurement;
    expect(Value.Errors(StepMeasurementSchema, m).First()).toBeUndefined();
    expect(m).toMatchObject({ model: 'closed', load: 2, seconds: 2, errors: 0, errorRate: 0, maxRequestsReached: false });
    expect(m.requests).toBeGreaterThan(0);
    expect(Object.keys(m.endpoints).sort()).toEqual([...REQUEST_NAMES].sort());
    expectWindowRule(m.endpoints, app, result.window.startMs, result.window.endMs);
    expect(m.requests).toBe(Object.values(m.endpoints).reduce((n, e) => n + e.requests, 0));
    expect(m.serverMs).not.toBeNull();
    for (const v of Object.values(m.serverMs!)) expect(v).toBeCloseTo(2.5, 2);
    expectLatencyOrdered(m.latencyMs);
    // The window lies inside the run: after k6 started plus the warm-up, ended before k6 exited.
    expect(result.window.startMs).toBeGreaterThanOrEqual(before + 500);
    expect(result.window.endMs).toBe(result.window.startMs + 2_000);
    expect(result.window.endMs).toBeLessThanOrEqual(after);
    // k6's own CPU over the window, read from /proc by the runner.
    expect(m.driver).toMatchObject({ engine: 'k6', parallelism: availableParallelism(), eventLoopDelayP99Ms: null });
    expect(m.driver.cpuPct).toBeGreaterThan(0);
    expect(result.createdOrders).toEqual([]);
    // The journey as the server saw it: JSON posts, regular products only, one keep-alive connection per VU, and
    // journeys in order (each VU leaves at most one journey unfinished at the window's end).
    expect(app.counts.other).toBe(0);
    expect(app.records.filter((r) => r.name === 'order').every((r) => r.contentType === 'application/json')).toBe(true);
    const products = [...app.orders.values()].map((o) => o.productId);
    expect(Math.min(...products)).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID);
    expect(Math.max(...products)).toBeLessThanOrEqual(PRODUCT_COUNT);
    expect([...app.orders.values()].every((o) => o.quantity === 1)).toBe(true);
    expect(app.connectionsAccepted()).toBe(2);
    expect(app.counts.list - app.counts.order_view).toBeGreaterThanOrEqual(0);
    expect(app.counts.list - app.counts.order_view).toBeLessThanOrEqual(2);
  }, 60_000);

  it('k6Engine with goMaxProcs: k6 runs with that many Go processors (read from its /proc environ) and reports it as its parallelism', async () => {
    app = await startLoopbackApp({ clock: Date.now });
    const seen: string[] = [];
    let polling = true;
    const poll = (async () => {
      while (polling) {
        for (const pid of await readdir('/proc').catch(() => [] as string[])) {
          if (!/^\d+$/.test(pid)) continue;
          const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (!cmdline.startsWith(`${k6.path}\0run`)) continue;
          // Only the k6 this test started (other test files run k6 at the same time).
          const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
          const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
          seen.push(environ.split('\0').find((v) => v.startsWith('GOMAXPROCS=')) ?? 'unset');
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const oneProcessor = k6Engine({ binary: k6.path, script: bundlePath, profile: 'smoke', threshold: DEFAULT_THRESHOLD, cpus: 4, goMaxProcs: 1 });
    const result = await oneProcessor.runStep(stepRequest({ durationMs: 1_000 }));
    polling = false;
    await poll;
    expect(result.measurement.requests).toBeGreaterThan(0);
    expect(result.measurement.driver.parallelism).toBe(process.env.GOMAXPROCS ? Math.min(Number(process.env.GOMAXPROCS), 4) : 1);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([process.env.GOMAXPROCS ? `GOMAXPROCS=${process.env.GOMAXPROCS}` : 'GOMAXPROCS=1']));
  }, 60_000);

  it('k6Engine: errors by kind as the server caused them (500: status, dropped connection: connection, no answer: timeout)', async () => {
    app = await startLoopbackApp({
      clock: Date.now,
      fault: (name, n) =>
        name === 'product' && n % 5 === 0
          ? { status: 500 }
          : name === 'order' && n % 7 === 0
            ? { destroy: true }
            : name === 'order_view' && n % 10 === 0
              ? { hang: true }
              : undefined,
    });
    const timeoutMs = 300;
    const result = await engine().runStep(stepRequest({ requestTimeoutMs: timeoutMs }));
    const m = result.measurement;
    const { startMs, endMs } = result.window;
    expect(Value.Errors(StepMeasurementSchema, m).First()).toBeUndefined();
    const kinds = m.errorsByKind;
    expect([kinds.status, kinds.connection, kinds.timeout].every((n) => n > 0)).toBe(true);
    expect([kinds.body, kinds.dropped]).toEqual([0, 0]);
    // Each fault the server applied well inside the window is counted, none outside it. k6 sees a 500 or a dropped
    // connection at once, and gives up on a hanging request the timeout after sending it.
    const between = (kind: 'status' | 'destroy' | 'hang', shiftMs: number) => [
      app!.faultsBetween(kind, startMs - shiftMs + STAMP_MS, endMs - shiftMs - STAMP_MS),
      app!.faultsBetween(kind, startMs - shiftMs - STAMP_MS, endMs - shiftMs + STAMP_MS),
    ];
    const expectBetween = (counted: number, [atLeast, atMost]: number[], what: string) => {
      expect(counted, what).toBeGreaterThanOrEqual(atLeast!);
      expect(counted, what).toBeLessThanOrEqual(atMost!);
    };
    expectBetween(kinds.status, between('status', 0), 'status');
    expectBetween(kinds.connection, between('destroy', 0), 'connection');
    expectBetween(kinds.timeout, between('hang', timeoutMs), 'timeout');
    expect(m.errors).toBe(kinds.status + kinds.connection + kinds.timeout);
    expect(m.endpoints.list!.errors).toBe(0);
    expect(m.endpoints.product!.errors).toBe(kinds.status);
    expect(m.endpoints.order!.errors).toBe(kinds.connection);
    expect(m.endpoints.order_view!.errors).toBe(kinds.timeout);
    // A timeout is recorded at its elapsed time, not at zero.
    expect(m.endpoints.order_view!.latencyMs.max).toBeGreaterThanOrEqual(timeoutMs);
  }, 60_000);

  it('k6 (Go\'s HTTP client) retries a GET once when its reused connection closes before the response: no error, unlike the embedded driver', async () => {
    // Every 4th order_view connection is destroyed. One VU, so the retry is the server's very next order_view, which
    // succeeds (Go retries once only, on a reused connection: with more VUs a retry can be destroyed in turn).
    app = await startLoopbackApp({ clock: Date.now, fault: (name, n) => (name === 'order_view' && n % 4 === 0 ? { destroy: true } : undefined) });
    const result = await engine().runStep(stepRequest({ load: 1 }));
    expect(app.faults.destroy).toBeGreaterThan(0);
    expect(result.measurement.errorsByKind.connection).toBe(0);
    expect(result.measurement.errors).toBe(0);
    // The server saw each retried request twice.
    expect(app.counts.order_view).toBeGreaterThan(app.counts.order);
  }, 60_000);

  it('k6Engine, open model: arrivals on schedule, and dropped journeys when MAX_IN_FLIGHT is tiny and the server slow', async () => {
    // Healthy: 20 journeys/s, nothing dropped, journeys bounded by the schedule (0.5 s warm-up + 2 s window).
    app = await startLoopbackApp({ clock: Date.now });
    const healthy = await engine().runStep(stepRequest({ model: 'open', load: 20 }));
    expect(healthy.measurement).toMatchObject({ model: 'open', load: 20, errors: 0 });
    expect(healthy.measurement.errorsByKind.dropped).toBe(0);
    expect(app.counts.list).toBeLessThanOrEqual(20 * 2.5);
    expect(app.counts.list).toBeGreaterThanOrEqual(20 * 2.5 - 1);
    expectWindowRule(healthy.measurement.endpoints, app, healthy.window.startMs, healthy.window.endMs);
    await app.close();

    // Slow: every list response takes 250 ms, k6 may use 2 VUs: at most ~8 journeys/s of the 20 offered start.
    app = await startLoopbackApp({ clock: Date.now, fault: (name) => (name === 'list' ? { delayMs: 250 } : undefined) });
    const slow = await engine().runStep(stepRequest({ model: 'open', load: 20, maxInFlight: 2 }));
    const m = slow.measurement;
    expect(Value.Errors(StepMeasurementSchema, m).First()).toBeUndefined();
    expect(m.errorsByKind.dropped).toBeGreaterThan(0);
    expect(m.errors).toBe(m.errorsByKind.dropped);
    expect(m.endpoints.list!.errors).toBe(m.errorsByKind.dropped);
    // Offered in the window: 40 arrivals, each either started (its list request reached the server inside the window)
    // or dropped; the warm-up's last arrival may fall exactly on the window's start, hence 40 or 41.
    const startedInWindow = app.records.filter((r) => r.name === 'list' && r.receivedAt >= slow.window.startMs && r.receivedAt < slow.window.endMs).length;
    expect(startedInWindow + m.errorsByKind.dropped).toBeGreaterThanOrEqual(40);
    expect(startedInWindow + m.errorsByKind.dropped).toBeLessThanOrEqual(41);
    // MAX_IN_FLIGHT caps each scenario's VUs: the warm-up's and the measured scenario's (whose journeys may overlap
    // for one journey at the junction), one connection each.
    expect(app.connectionsAccepted()).toBeLessThanOrEqual(2 * 2);
    expect(m.endpoints.list!.latencyMs.p50).toBeGreaterThanOrEqual(250);
  }, 60_000);

  it('a standalone `k6 run` of a 2-step plan: both steps measured, summary file and text table', async () => {
    app = await startLoopbackApp({ clock: Date.now });
    const summaryPath = join(dir, 'standalone.json');
    const env = { BASE_URL: app.url, STEPS: '1,2', STEP_SECONDS: '1', WARMUP_SECONDS: '0.5', INITIAL_WARMUP_SECONDS: '0.5', PRODUCT_COUNT: String(PRODUCT_COUNT), SUMMARY_PATH: summaryPath };
    const exit = await k6Run(k6.path, k6Args(bundlePath, env));
    expect(exit.code, exit.stderr).toBe(0);
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as K6RunSummary;
    expect(summary).toMatchObject({ engine: 'k6', model: 'closed', breakpoint: 2, firstFailing: null, capped: true });
    expect(summary.steps.map((s) => [s.step, s.measurement.load, s.ran, s.passed])).toEqual([
      [1, 1, true, true],
      [2, 2, true, true],
    ]);
    for (const s of summary.steps) {
      expect(s.windowStartMs).not.toBeNull();
      expectWindowRule(s.measurement.endpoints, app, s.windowStartMs!, s.windowStartMs! + 1_000);
      expect(s.measurement.serverMs).not.toBeNull();
    }
    // Step 2's window opens one window and one warm-up after step 1's (k6 schedules scenarios by start time).
    expect(summary.steps[1]!.windowStartMs! - summary.steps[0]!.windowStartMs!).toBeGreaterThanOrEqual(1_500);
    expect(summary.steps[1]!.windowStartMs! - summary.steps[0]!.windowStartMs!).toBeLessThan(1_600);
    expect(exit.stdout).toContain(`stackbench k6 run against ${app.url} (profile quick, closed model, p95<100, errors < 1%)`);
    expect(exit.stdout).toContain('breakpoint: 2 users (capped: every step passed)');
  }, 60_000);

  it('a standalone run with ABORT_ON_FAIL stops after the first failing step', async () => {
    // Every response takes 120 ms against p95<50: step 1 fails. Step 2's 3 s warm-up leaves k6 time to evaluate
    // (every 2 s) and abort before step 2 measures anything.
    app = await startLoopbackApp({ clock: Date.now, fault: () => ({ delayMs: 120 }) });
    const summaryPath = join(dir, 'abort.json');
    const env = {
      BASE_URL: app.url,
      STEPS: '1,2',
      STEP_SECONDS: '1',
      INITIAL_WARMUP_SECONDS: '0.5',
      WARMUP_SECONDS: '3',
      THRESHOLD: 'p95<50',
      PRODUCT_COUNT: String(PRODUCT_COUNT),
      SUMMARY_PATH: summaryPath,
    };
    const exit = await k6Run(k6.path, k6Args(bundlePath, env));
    // 99: thresholds crossed.
    expect(exit.code, exit.stderr).toBe(99);
    const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as K6RunSummary;
    const [first, second] = summary.steps;
    expect(first).toMatchObject({ ran: true, passed: false });
    expect(first!.reasons[0]).toMatch(/^p95 \d+(\.\d+)? ms is not < 50 ms$/);
    expect(first!.measurement.latencyMs.p95).toBeGreaterThanOrEqual(120);
    expect(second).toMatchObject({ ran: false, passed: false, windowStartMs: null });
    expect(summary).toMatchObject({ breakpoint: null, firstFailing: 1 });
    // Nothing reached the server after step 2's window would have opened (0.5 + 1 + 3 s after step 1's warm-up began).
    const step2Window = first!.windowStartMs! + 1_000 + 3_000;
    expect(app.records.filter((r) => r.receivedAt >= step2Window)).toEqual([]);
  }, 60_000);
});

function expectLatencyOrdered(l: { p50: number; p90: number; p95: number; p99: number; max: number }): void {
  expect(l.p50).toBeGreaterThan(0);
  expect(l.p50).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p95);
  expect(l.p95).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.max);
}
