/**
 * The k6 engine: each step is one `k6 run` of the bundled script (loadtests/dist/k6/stepped.js) with a one-step
 * plan (STEPS=<load>), so k6 runs exactly the steps the embedded driver would — same planner, same bisection, same
 * verdict — and the orchestrator's code path is the same for both. The script's handleSummary writes the step's
 * figures and its measured window to SUMMARY_PATH; k6's own CPU over that window is read from /proc here.
 *
 * k6 is bounded by time (the step's duration plus a grace period, and the orchestrator's step budget), not by a
 * request count: it has no such option for a time-based scenario.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Threshold } from '../core/index.js';
import type { K6RunSummary } from '../k6/summary.js';
import { processReader, UsageSampler } from '../usage.js';
import { defaultMaxInFlight, type LoadEngine, type StepRequest, type StepRun } from './engine.js';

export const K6_SCRIPT = 'stepped.js';

/** loadtests/dist/k6/stepped.js, or null when the load tests are not built. */
export function findK6Script(): string | null {
  // This file is dist/engines/k6-runner.js once built.
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'k6', K6_SCRIPT);
  return existsSync(script) ? script : null;
}

export interface K6EngineOptions {
  binary: string;
  script: string;
  /** Profile name (the script resolves it; the step's durations override its own). */
  profile: string;
  threshold: Pick<Threshold, 'text' | 'errorRate'>;
  /** CPUs k6 may run on (its Go scheduler uses all of them): its parallelism. */
  cpus: number;
  /**
   * Go processors for k6 (GOMAXPROCS) when it should use fewer than `cpus`: the share of the machine a resource
   * envelope leaves the generator, rounded up. Go (before 1.25) sizes its scheduler to every CPU whatever the share;
   * on 2 cores k6 then spent ~250 µs of CPU per request, ~170 µs with one processor (handing goroutines between
   * threads costs wake-ups). A GOMAXPROCS in the environment wins.
   */
  goMaxProcs?: number;
}

/** The Go processors k6 runs with: the environment's GOMAXPROCS, else the engine's choice, else every CPU given. */
export function k6Processors(options: Pick<K6EngineOptions, 'cpus' | 'goMaxProcs'>, env: NodeJS.ProcessEnv = process.env): { parallelism: number; env: Record<string, string> } {
  const fromEnv = Number(env.GOMAXPROCS);
  if (Number.isInteger(fromEnv) && fromEnv >= 1) return { parallelism: Math.min(fromEnv, Math.max(1, options.cpus)), env: {} };
  if (options.goMaxProcs !== undefined && options.goMaxProcs >= 1 && options.goMaxProcs < options.cpus) {
    const n = Math.ceil(options.goMaxProcs);
    return { parallelism: n, env: { GOMAXPROCS: String(n) } };
  }
  return { parallelism: Math.max(1, options.cpus), env: {} };
}

/** The script's environment for one step (see loadtests/k6/plan.ts planFromEnv). */
export function k6StepEnv(step: StepRequest, options: Pick<K6EngineOptions, 'profile' | 'threshold'>, summaryPath: string): Record<string, string> {
  const seconds = (ms: number) => String(Math.round(ms) / 1000);
  const env: Record<string, string> = {
    BASE_URL: step.baseUrl.replace(/\/$/, ''),
    PROFILE: options.profile,
    MODEL: step.model,
    STEPS: String(step.load),
    STEP_SECONDS: seconds(step.durationMs),
    INITIAL_WARMUP_SECONDS: seconds(step.warmupMs),
    WARMUP_SECONDS: seconds(step.warmupMs),
    PRODUCT_COUNT: String(step.productCount),
    THINK_MS: String(step.thinkMs),
    REQUEST_TIMEOUT_MS: String(step.requestTimeoutMs),
    THRESHOLD: options.threshold.text,
    ERROR_RATE: `${options.threshold.errorRate.op === '<=' ? '<=' : ''}${options.threshold.errorRate.limit}`,
    // One step per run: the orchestrator judges it; no per-request error Rate, no abort.
    ABORT_ON_FAIL: 'false',
    SUMMARY_PATH: summaryPath,
  };
  if (step.pageSize !== undefined) env.PAGE_SIZE = String(step.pageSize);
  if (step.scenario && step.scenario.kind !== 'commerce') env.SCENARIO = JSON.stringify(step.scenario);
  if (step.model === 'open') env.MAX_IN_FLIGHT = String(step.maxInFlight ?? defaultMaxInFlight(step.load, step.requestTimeoutMs));
  return env;
}

/** `k6 run` arguments: quiet, no colour, no usage report, the plan as -e variables. */
export function k6Args(script: string, env: Record<string, string>): string[] {
  return ['run', '--quiet', '--no-color', '--no-usage-report', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), script];
}

/** The one step of a summary the script wrote, as the engine's StepRun (k6's CPU added by the caller). */
export function stepRunFromK6Summary(summary: unknown, step: Pick<StepRequest, 'durationMs'>): Omit<StepRun, 'measurement'> & { measurement: Omit<StepRun['measurement'], 'driver'> } {
  const s = summary as Partial<K6RunSummary> | null;
  if (!s || s.engine !== 'k6' || !Array.isArray(s.steps)) throw new Error('not a stackbench k6 summary (expected {engine: "k6", steps: [...]})');
  const first = s.steps[0];
  if (!first) throw new Error('the k6 summary has no steps');
  if (first.windowStartMs === null) throw new Error(`k6 ran no request in the step (${first.reasons.join('; ')})`);
  return { measurement: first.measurement, createdOrders: [], window: { startMs: first.windowStartMs, endMs: first.windowStartMs + step.durationMs } };
}

export function k6Engine(options: K6EngineOptions): LoadEngine {
  const processors = k6Processors(options);
  return {
    name: 'k6',
    parallelism: processors.parallelism,
    async runStep(step: StepRequest): Promise<StepRun> {
      const dir = mkdtempSync(join(tmpdir(), 'stackbench-k6-'));
      const summaryPath = join(dir, 'summary.json');
      try {
        const child = spawn(options.binary, k6Args(options.script, k6StepEnv(step, options, summaryPath)), {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, ...processors.env, K6_NO_USAGE_REPORT: 'true' },
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
        const sampler = child.pid ? new UsageSampler(processReader(child.pid), 50).start() : undefined;
        const started = performance.now();
        // k6 reports nothing until it ends: progress is the time into the measured window.
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
        sampler?.stop();
        if (exit.error) throw new Error(`cannot run k6: ${exit.error.message}`);
        if (step.signal?.aborted) throw new Error('aborted');
        if (!existsSync(summaryPath)) throw new Error(`k6 exited (${exit.signal ?? `code ${exit.code}`}) without a summary: ${ring.slice(-5).join(' | ')}`);
        const run = stepRunFromK6Summary(JSON.parse(readFileSync(summaryPath, 'utf8')), step);
        const usage = sampler?.windowUpToExit(run.window.startMs, run.window.endMs) ?? null;
        const driver = { engine: 'k6' as const, cpuPct: usage ? Math.round(usage.cpuPct * 10) / 10 : 0, parallelism: processors.parallelism, eventLoopDelayP99Ms: null };
        return { ...run, measurement: { ...run.measurement, driver } };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
