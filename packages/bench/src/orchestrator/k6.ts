import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ProcessSampler } from './proc-sampler.js';
import type { LatencyFigures, StepMeasurement, StepOptions, StepRunner } from './step-runner.js';

/**
 * `--driver k6`: each step of the planner is one `k6 run` of the load helper's bundled script
 * (loadtests/dist/k6/stepped.js) with a one-step plan (STEPS=<users>), so k6 runs exactly the steps the Node driver
 * would — same planner, same bisection, same verdict rules — and the orchestrator's code path is the same for both.
 * The script's handleSummary writes the per-step figures to SUMMARY_PATH; `measurementFromK6Summary` maps them onto
 * the driver's StepMeasurement. k6 reports no created orders (the audit then checks database consistency only) and
 * no self-measurement: its CPU is sampled from /proc, and a step is flagged driver-bound when k6 used >= 90 % of the
 * CPUs it may run on.
 */

const require = createRequire(import.meta.url);

export const K6_SCRIPT = 'stepped.js';

/** loadtests/dist/k6/stepped.js, or null when the load tests are not built. */
export function findK6Script(): string | null {
  try {
    const main = require.resolve('@stackbench/loadtests'); // <loadtests>/dist/index.js
    const script = join(dirname(main), 'k6', K6_SCRIPT);
    return existsSync(script) ? script : null;
  } catch {
    return null;
  }
}

export interface K6RunnerOptions {
  binary: string;
  script: string;
  /** Profile name (the script resolves it; STEP_SECONDS etc. override its durations). */
  profile: string;
  /** e.g. "p95<100". */
  latencyThreshold: string;
  /** Fraction, e.g. 0.01, and whether the limit is inclusive. */
  errorRate: { op: '<' | '<='; limit: number };
  /** CPUs k6 may use (its affinity is inherited from this process): the driver-bound line is 90 % of all of them. */
  cpus: number;
}

/** The script's environment for one step (see loadtests/k6/plan.ts planFromEnv). */
export function k6StepEnv(step: StepOptions, runner: Pick<K6RunnerOptions, 'profile' | 'latencyThreshold' | 'errorRate'>, summaryPath: string): Record<string, string> {
  const seconds = (ms: number) => String(Math.round(ms) / 1000);
  return {
    BASE_URL: step.baseUrl.replace(/\/$/, ''),
    PROFILE: runner.profile,
    STEPS: String(step.users),
    STEP_SECONDS: seconds(step.durationMs),
    INITIAL_WARMUP_SECONDS: seconds(step.warmupMs),
    WARMUP_SECONDS: seconds(step.warmupMs),
    PRODUCT_COUNT: String(step.productCount),
    THINK_MS: String(step.thinkMs),
    REQUEST_TIMEOUT_MS: String(step.requestTimeoutMs),
    THRESHOLD: runner.latencyThreshold,
    ERROR_RATE: `${runner.errorRate.op === '<=' ? '<=' : ''}${runner.errorRate.limit}`,
    // One step per run: nothing to abort early; the verdict is recomputed by the orchestrator anyway.
    ABORT_ON_FAIL: 'false',
    SUMMARY_PATH: summaryPath,
  };
}

/** `k6 run` arguments: quiet, no colour, no usage report, the plan as -e variables. */
export function k6Args(script: string, env: Record<string, string>): string[] {
  return ['run', '--quiet', '--no-color', '--no-usage-report', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), script];
}

interface SummaryLatency extends Partial<LatencyFigures> {}
interface SummaryStep {
  step: number;
  users: number;
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  errorRate: number;
  errorsByKind?: Record<string, number>;
  latencyMs: SummaryLatency;
  endpoints?: Record<string, { requests: number; errors: number; latencyMs: SummaryLatency }>;
  ran?: boolean;
}

const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const lat = (l: SummaryLatency | undefined): LatencyFigures => ({ avg: n(l?.avg), p50: n(l?.p50), p90: n(l?.p90), p95: n(l?.p95), p99: n(l?.p99), max: n(l?.max) });

/**
 * Maps the JSON the k6 script's handleSummary writes ({engine: 'k6', steps: [...]}) to one StepMeasurement (the step
 * with `users` users, else the first). Throws on anything that is not such a summary.
 */
export function measurementFromK6Summary(summary: unknown, users: number, driver: StepMeasurement['driver'] = null, driverBound = false): StepMeasurement {
  const s = summary as { engine?: unknown; steps?: unknown } | null;
  if (!s || s.engine !== 'k6' || !Array.isArray(s.steps)) throw new Error('not a stackbench k6 summary (expected {engine: "k6", steps: [...]})');
  const all = s.steps as SummaryStep[];
  const step = all.find((x) => x.users === users) ?? all[0];
  if (!step) throw new Error('the k6 summary has no steps');
  const endpoints: StepMeasurement['endpoints'] = {};
  for (const [name, e] of Object.entries(step.endpoints ?? {})) {
    // The summary lists every endpoint; one that saw no request says nothing.
    if (n(e.requests) > 0) endpoints[name] = { requests: n(e.requests), errors: n(e.errors), latencyMs: lat(e.latencyMs) };
  }
  const kinds = step.errorsByKind ?? {};
  const requests = n(step.requests);
  const errors = n(step.errors);
  return {
    users: n(step.users) || users,
    seconds: n(step.seconds),
    requests,
    rps: n(step.rps),
    errors,
    errorRate: requests > 0 ? errors / requests : 0,
    errorsByKind: { ...Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, n(v)])), status: n(kinds.status), timeout: n(kinds.timeout), connection: n(kinds.connection) },
    latencyMs: lat(step.latencyMs),
    endpoints,
    driver,
    driverBound,
    createdOrders: [],
  };
}

/** Runs steps with k6 (one `k6 run` per step). */
export function k6StepRunner(options: K6RunnerOptions): StepRunner {
  return {
    name: 'k6',
    async runStep(step: StepOptions): Promise<StepMeasurement> {
      const dir = mkdtempSync(join(tmpdir(), 'stackbench-k6-'));
      const summaryPath = join(dir, 'summary.json');
      try {
        const env = k6StepEnv(step, options, summaryPath);
        const child = spawn(options.binary, k6Args(options.script, env), {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, K6_NO_USAGE_REPORT: 'true' },
        });
        const ring: string[] = [];
        const collect = (chunk: Buffer) => {
          for (const line of chunk.toString('utf8').split('\n')) {
            if (!line.trim()) continue;
            ring.push(line);
            if (ring.length > 30) ring.shift();
          }
        };
        child.stdout!.on('data', collect);
        child.stderr!.on('data', collect);
        const sampler = child.pid ? new ProcessSampler(child.pid, 100).start() : undefined;
        const started = performance.now();
        // k6 reports nothing until it ends: progress is the time into the measured window (after start-up and warm-up).
        const progress = setInterval(() => {
          const elapsedMs = performance.now() - started - step.warmupMs;
          if (elapsedMs >= 0) step.onProgress?.({ elapsedMs, requests: NaN, rps: NaN, p95Ms: NaN });
        }, 500);
        const onAbort = () => child.kill('SIGINT');
        step.signal?.addEventListener('abort', onAbort, { once: true });
        const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
          child.once('error', (error) => resolve({ code: null, signal: null, error }));
          child.once('exit', (code, signal) => resolve({ code, signal }));
        });
        clearInterval(progress);
        step.signal?.removeEventListener('abort', onAbort);
        sampler?.sample();
        sampler?.stop();
        if (exit.error) throw new Error(`cannot run k6: ${exit.error.message}`);
        if (step.signal?.aborted) throw new Error('aborted');
        // 99: thresholds crossed (a failing step, a normal outcome); anything else without a summary is an error.
        if (!existsSync(summaryPath)) {
          throw new Error(`k6 exited (${exit.signal ?? `code ${exit.code}`}) without a summary: ${ring.slice(-5).join(' | ')}`);
        }
        const usage = sampler?.window(0) ?? null;
        const cpuPct = usage ? usage.cpuPct : 0;
        return measurementFromK6Summary(
          JSON.parse(readFileSync(summaryPath, 'utf8')),
          step.users,
          usage ? { eventLoopDelayP99Ms: 0, cpuPct } : null,
          cpuPct >= 90 * Math.max(1, options.cpus),
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
