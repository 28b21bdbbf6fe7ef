import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import { buildOptions, planFromEnv, submetric } from '../k6/plan.js';
import { summarize } from '../k6/summary.js';
import type { ScenarioRequest } from '../src/index.js';
import { fakeApp } from './fake-app.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');

let outDir: string;
let bundle: string;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'stackbench-k6-'));
  await run(process.execPath, [join(root, 'scripts', 'build-k6.mjs'), '--outdir', outDir], { cwd: root });
  bundle = await readFile(join(outDir, 'stepped.js'), 'utf8');
}, 60_000);

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

describe('k6 scripts', () => {
  it('type-check against @types/k6 (tsc -p loadtests/k6)', async () => {
    const result = await run(process.execPath, [tsc, '-p', join(root, 'k6', 'tsconfig.json')], { cwd: root }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  }, 60_000);

  it('bundle to plain JS importing nothing but k6 built-ins', () => {
    const specifiers = [...bundle.matchAll(/^\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm)].map((m) => m[1]);
    expect(specifiers.sort()).toEqual(['k6', 'k6/execution', 'k6/http', 'k6/metrics']);
    expect(bundle).not.toMatch(/\brequire\s*\(/);
    expect(bundle).not.toMatch(/\bimport\s*\(/);
    // goja in k6 0.45 lacks these: the ES2017 target must have lowered them (and nothing async or generator is left).
    expect(bundle).not.toMatch(/\?\.(?!\d)/);
    expect(bundle).not.toContain('??');
    expect(bundle).not.toMatch(/\basync\s+function\b|\bawait\s|function\s*\*/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bhandleSummary\b/);
    expect(bundle).toMatch(/export\s*\{[^}]*\boptions\b/);
    expect(bundle).toMatch(/export\s*\{[^}]*\bdefault\b/);
  });

  it('the bundle runs the shared scenario (with stand-ins for the k6 modules)', async () => {
    const app = fakeApp({ productCount: 200 });
    const samples: Array<{ metric: string; value: number | boolean; tags: Record<string, string> }> = [];
    const requests: Array<{ method: string; url: string; tags: Record<string, string>; headers: Record<string, string> }> = [];
    const g = globalThis as Record<string, unknown>;
    g.__k6shim = {
      request(method: string, url: string, body: string | undefined, params: { tags: Record<string, string>; headers: Record<string, string> }) {
        requests.push({ method, url, tags: params.tags, headers: params.headers });
        const path = url.replace('http://127.0.0.1:3999', '');
        const name = params.tags.name as ScenarioRequest['name'];
        const res = app.handle({ name, method: method as 'GET', path, body, expectedStatus: 0, needsJson: true });
        return { status: res.status, body: res.json === undefined ? '' : JSON.stringify(res.json), error_code: 0 };
      },
      sample(metric: string, value: number | boolean, tags: Record<string, string>) {
        samples.push({ metric, value, tags });
      },
    };
    const shims: Record<string, string> = {
      k6: 'export function sleep() {}',
      'k6/http': `const s = globalThis.__k6shim;
        export default { get: (u, p) => s.request('GET', u, undefined, p), post: (u, b, p) => s.request('POST', u, b, p) };`,
      'k6/execution': 'export default { scenario: { startTime: Date.now() - 60000 } };',
      'k6/metrics': `class M { constructor(n) { this.n = n; } add(v, t) { globalThis.__k6shim.sample(this.n, v, t || {}); } }
        export class Counter extends M {} export class Rate extends M {}`,
    };
    let code = bundle;
    for (const [name, source] of Object.entries(shims)) {
      const file = join(outDir, `${name.replace('/', '-')}.shim.mjs`);
      await writeFile(file, source);
      code = code.replace(new RegExp(`from\\s*["']${name}["']`, 'g'), `from ${JSON.stringify(pathToFileURL(file).href)}`);
    }
    const file = join(outDir, 'stepped.test.mjs');
    await writeFile(file, code);
    g.__ENV = {
      BASE_URL: 'http://127.0.0.1:3999',
      PROFILE: 'smoke',
      PRODUCT_COUNT: '200',
      STACKBENCH_STEP: '2',
      STACKBENCH_WARMUP_MS: '0',
      STACKBENCH_STEP_MS: '3600000',
      SUMMARY_PATH: 'out.json',
    };
    try {
      const mod = (await import(pathToFileURL(file).href)) as {
        options: { scenarios: Record<string, unknown>; thresholds: Record<string, unknown> };
        default: () => void;
        handleSummary: (data: unknown) => Record<string, string>;
      };
      expect(Object.keys(mod.options.scenarios)).toEqual(['step_1', 'step_2']);
      for (let i = 0; i < 20; i++) mod.default();
      expect(requests).toHaveLength(80);
      expect(requests.map((r) => r.tags.name).slice(0, 4)).toEqual(['list', 'product', 'order', 'order_view']);
      expect(requests.every((r) => r.tags.step === '2')).toBe(true);
      expect(requests.filter((r) => r.method === 'POST').every((r) => r.headers['Content-Type'] === 'application/json')).toBe(true);
      expect(Math.min(...[...app.orders.values()].map((o) => o.productId))).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID);
      const errorSamples = samples.filter((s) => s.metric === 'stackbench_errors');
      expect(errorSamples).toHaveLength(80);
      expect(errorSamples.every((s) => s.value === false && s.tags.step === '2')).toBe(true);
      const out = mod.handleSummary({ metrics: {}, state: { testRunDurationMs: 1000 } });
      expect(Object.keys(out).sort()).toEqual(['out.json', 'stdout']);
      expect(JSON.parse(out['out.json']!)).toMatchObject({ engine: 'k6', profile: 'smoke', breakpoint: null });
    } finally {
      delete g.__ENV;
      delete g.__k6shim;
    }
  });
});

describe('k6 plan and options', () => {
  it('builds one constant-vus scenario per step with offsets, step tags and per-step thresholds', () => {
    const plan = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', PROFILE: 'smoke' });
    expect(plan.steps).toEqual([
      { step: 1, users: 1, offsetSeconds: 0, warmupSeconds: 1, stepSeconds: 2 },
      { step: 2, users: 2, offsetSeconds: 3, warmupSeconds: 0.5, stepSeconds: 2 },
    ]);
    const options = buildOptions(plan);
    expect(options.scenarios).toMatchObject({
      step_1: { executor: 'constant-vus', vus: 1, duration: '3s', startTime: '0s', gracefulStop: '0.5s' },
      step_2: { executor: 'constant-vus', vus: 2, duration: '2.5s', startTime: '3s' },
    });
    expect(options.thresholds!['http_req_duration{step:1}']).toEqual([{ threshold: 'p(95)<100', abortOnFail: true, delayAbortEval: '3s' }]);
    expect(options.thresholds!['http_req_duration{step:2}']).toEqual([{ threshold: 'p(95)<100', abortOnFail: true, delayAbortEval: '5.5s' }]);
    expect(options.thresholds!['stackbench_errors{step:2}']).toEqual([{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '5.5s' }]);
    expect(options.thresholds!['http_req_duration{step:2,name:order_view}']).toEqual(['max>=0']);
    expect(options.thresholds!['stackbench_error_kinds{step:1,kind:timeout}']).toEqual(['count>=0']);
    expect(options.summaryTrendStats).toEqual(expect.arrayContaining(['avg', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)']));
  });

  it('reads STEPS, THRESHOLD, ERROR_RATE, THINK_MS and ABORT_ON_FAIL from the environment', () => {
    const plan = planFromEnv({
      BASE_URL: 'http://localhost:8080/',
      STEPS: '5, 10,20',
      STEP_SECONDS: '3',
      WARMUP_SECONDS: '1',
      INITIAL_WARMUP_SECONDS: '2',
      THRESHOLD: 'p99<250,avg<50',
      ERROR_RATE: '0.5%',
      THINK_MS: '100',
      PRODUCT_COUNT: '500',
      ABORT_ON_FAIL: 'false',
    });
    expect(plan.baseUrl).toBe('http://localhost:8080');
    expect(plan.steps.map((s) => [s.users, s.offsetSeconds, s.warmupSeconds])).toEqual([
      [5, 0, 2],
      [10, 5, 1],
      [20, 9, 1],
    ]);
    expect(plan.thinkMs).toBe(100);
    expect(plan.productCount).toBe(500);
    const options = buildOptions(plan);
    expect(options.thresholds!['http_req_duration{step:3}']).toEqual(['p(99)<250', 'avg<50']);
    expect(options.thresholds!['stackbench_errors{step:3}']).toEqual(['rate<0.005']);
  });

  it('refuses non-loopback targets and bad values', () => {
    expect(() => planFromEnv({ BASE_URL: 'http://10.0.0.1:3000' })).toThrow(/loopback/);
    expect(() => planFromEnv({ BASE_URL: 'https://127.0.0.1:3000' })).toThrow(/BASE_URL/);
    expect(() => planFromEnv({ STEPS: '1,x' })).toThrow(/STEPS/);
    expect(() => planFromEnv({ PROFILE: 'huge' })).toThrow(/PROFILE/);
    expect(() => planFromEnv({ THRESHOLD: 'p97<1' })).toThrow(/p97/);
    expect(planFromEnv({ BASE_URL: 'http://[::1]:3000' }).baseUrl).toBe('http://[::1]:3000');
  });

  it('targets a remote app only when ALLOW_REMOTE_TARGET=1 (Grafana Cloud k6, k6-operator)', () => {
    expect(() => planFromEnv({ BASE_URL: 'http://shop.example.com' })).toThrow(/loopback/);
    expect(planFromEnv({ BASE_URL: 'https://shop.example.com/', ALLOW_REMOTE_TARGET: '1' }).baseUrl).toBe('https://shop.example.com');
    expect(() => planFromEnv({ BASE_URL: 'ftp://shop.example.com', ALLOW_REMOTE_TARGET: '1' })).toThrow(/BASE_URL/);
  });
});

describe('k6 summary', () => {
  const plan = planFromEnv({ BASE_URL: 'http://127.0.0.1:3000', STEPS: '4,8,16', STEP_SECONDS: '10', WARMUP_SECONDS: '1', INITIAL_WARMUP_SECONDS: '2' });
  const trend = (p95: number, ok = true, expr = 'p(95)<100') => ({
    type: 'trend',
    values: { avg: p95 / 2, min: 1, med: p95 / 3, max: p95 * 2, 'p(50)': p95 / 3, 'p(90)': p95 * 0.9, 'p(95)': p95, 'p(99)': p95 * 1.5 },
    thresholds: { [expr]: { ok } },
  });
  const rate = (passes: number, fails: number, ok = true) => ({
    type: 'rate',
    values: { rate: passes / (passes + fails), passes, fails },
    thresholds: { 'rate<0.01': { ok } },
  });

  it('maps per-step sub-metrics to the driver-shaped figures and finds the breakpoint', () => {
    const metrics: Record<string, unknown> = {
      [submetric.duration(1)]: trend(20),
      [submetric.errors(1)]: rate(0, 4000),
      [submetric.duration(1, 'list')]: trend(30),
      [submetric.errors(1, 'list')]: rate(0, 1000),
      [submetric.errorKind(1, 'status')]: { type: 'counter', values: { count: 0, rate: 0 } },
      [submetric.duration(2)]: trend(150, false),
      [submetric.errors(2)]: rate(30, 5970),
      [submetric.errorKind(2, 'status')]: { type: 'counter', values: { count: 25, rate: 1 } },
      [submetric.errorKind(2, 'timeout')]: { type: 'counter', values: { count: 5, rate: 1 } },
      [submetric.duration(3)]: trend(0),
      [submetric.errors(3)]: { type: 'rate', values: { rate: 0, passes: 0, fails: 0 }, thresholds: { 'rate<0.01': { ok: true } } },
    };
    // Step 2 starts measuring at 2 + 10 + 1 = 13 s; k6 aborted 7 s into it.
    const s = summarize({ metrics, state: { testRunDurationMs: 20_000 } }, plan);
    expect(s.steps).toHaveLength(3);
    const [a, b, c] = s.steps;
    expect(a).toMatchObject({ step: 1, users: 4, seconds: 10, requests: 4000, rps: 400, errors: 0, errorRate: 0, ran: true, passed: true, reasons: [] });
    expect(a!.latencyMs).toEqual({ avg: 10, p50: 20 / 3, p90: 18, p95: 20, p99: 30, max: 40 });
    expect(a!.endpoints.list).toMatchObject({ requests: 1000, errors: 0 });
    expect(a!.endpoints.list!.latencyMs.p95).toBe(30);
    expect(a!.endpoints.order).toMatchObject({ requests: 0, errors: 0 });
    expect(b).toMatchObject({ users: 8, seconds: 7, requests: 6000, errors: 30, errorRate: 0.005, ran: true, passed: false });
    expect(b!.errorsByKind).toEqual({ status: 25, body: 0, timeout: 5, connection: 0 });
    expect(b!.reasons).toEqual(['p95 150 ms is not < 100 ms']);
    expect(c).toMatchObject({ users: 16, ran: false, passed: false, requests: 0 });
    expect(s.breakpoint).toBe(4);
    expect(s.firstFailing).toBe(8);
    expect(s.capped).toBe(false);
  });

  it('every step passing: capped at the last step', () => {
    const metrics: Record<string, unknown> = {};
    for (const step of [1, 2, 3]) {
      metrics[submetric.duration(step)] = trend(10);
      metrics[submetric.errors(step)] = rate(0, 100);
    }
    const s = summarize({ metrics, state: { testRunDurationMs: 40_000 } }, plan);
    expect(s.steps.every((x) => x.passed)).toBe(true);
    expect(s.breakpoint).toBe(16);
    expect(s.capped).toBe(true);
  });

  it('survives an empty summary', () => {
    const s = summarize({}, plan);
    expect(s.steps.every((x) => !x.ran && !x.passed)).toBe(true);
    expect(s.breakpoint).toBeNull();
  });
});
