import { runContractSuite, send } from '@stackbench/contract/suite';
import { resetDatabase } from '@stackbench/db';
import { evaluateStep, Planner, type LatencyStat, type PlannedStep, type Verdict } from '@stackbench/loadtests';
import { ENDPOINTS, RESULTS_SCHEMA_VERSION, type Breakpoint, type Combo, type Endpoint, type Environment, type Results, type Step } from '@stackbench/report';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAppProcess, type AppProcess } from '../app-process.js';
import { auditData, type SeenOrder } from './audit.js';
import type { BenchConfig, ComboRun } from './config.js';
import { pinProcess, type CpuLayout } from './cpu-layout.js';
import { collectEnvironment } from './environment.js';
import { comboLabel, Progress, summaryTable } from './progress.js';
import { ProcessSampler, sampleIndexAt } from './proc-sampler.js';
import { writeResults } from './results-file.js';
import type { StepMeasurement, StepRunner } from './step-runner.js';

/** Time limits of the phases around the load (the load itself is bounded per step, see stepBudgetMs). */
export const LIMITS = {
  appStartMs: 30_000,
  healthMs: 10_000,
  verifyMs: 120_000,
  resetMs: 30_000,
  auditMs: 60_000,
  stopGraceMs: 5_000,
  /** After the budget of a step: how long an aborted driver may take to hand back. */
  abortGraceMs: 5_000,
};

/** A step's extra fields beyond results.json's Step (the schema allows them; the report ignores them). */
export type StepRecord = Step & {
  /** Execution order within the combination (steps are stored sorted by users). */
  order: number;
  phase: PlannedStep['phase'];
  errorsByKind: Record<string, number>;
  /** Why the step failed the threshold (absent when it passed). */
  reasons?: string[];
  /** Why the driver flagged itself as the bottleneck (absent when it did not). */
  driverBoundReasons?: string[];
  /** The driver's first few error descriptions (absent when there were no errors). */
  errorSamples?: string[];
  /** The step ended at its request cap, not its duration. */
  maxRequestsReached?: boolean;
};

export interface OrchestratorContext {
  config: BenchConfig;
  runner: StepRunner;
  databaseUrl: string;
  layout: CpuLayout;
  progress: Progress;
  /** Aborted on Ctrl-C: the current step stops, the app is stopped, what was measured is written. */
  signal: AbortSignal;
  logDir: string;
}

export class TimeoutError extends Error {}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per-request timeout: 20x the largest latency limit, clamped to 2..30 s (2 s for p95<100). */
export function requestTimeoutMs(config: Pick<BenchConfig, 'threshold'>): number {
  const limit = Math.max(...config.threshold.latency.map((c) => c.limitMs));
  return Math.min(30_000, Math.max(2_000, Math.round(limit * 20)));
}

/** Upper bound of requests in one step (a safety net against a runaway loop, far above what loopback can serve). */
export function maxRequests(users: number, step: Pick<PlannedStep, 'stepSeconds' | 'warmupSeconds'>): number {
  return Math.ceil(users * (step.stepSeconds + step.warmupSeconds) * 5000);
}

/** Wall-clock budget of one step: warm-up + measurement + one request timeout + 15 s (k6 start-up, teardown). */
export function stepBudgetMs(step: Pick<PlannedStep, 'stepSeconds' | 'warmupSeconds'>, timeoutMs: number): number {
  return Math.round((step.warmupSeconds + step.stepSeconds) * 1000 + timeoutMs + 15_000);
}

/** A URL whose sessions give up waiting for a lock after 10 s (a reset must not hang behind a stuck app session). */
export function withLockTimeout(url: string, ms = 10_000): string {
  const u = new URL(url);
  const prev = u.searchParams.get('options');
  u.searchParams.set('options', `${prev ? `${prev} ` : ''}-c lock_timeout=${ms}`);
  return u.toString();
}

/** Polls GET /health until 200 or the deadline. */
export async function waitHealthy(baseUrl: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && !signal?.aborted) {
    try {
      const res = await send(baseUrl, { method: 'GET', path: '/health' }, Math.max(500, Math.min(2000, deadline - Date.now())));
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`GET /health did not answer 200 within ${timeoutMs / 1000} s (${last})`);
}

const num = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);
const r2 = (n: number) => Math.round(n * 100) / 100;
const r1 = (n: number) => Math.round(n * 10) / 10;

function latency(l: Partial<Record<LatencyStat, number>> | undefined): Step['latencyMs'] {
  return { avg: r2(num(l?.avg)), p50: r2(num(l?.p50)), p90: r2(num(l?.p90)), p95: r2(num(l?.p95)), p99: r2(num(l?.p99)), max: r2(num(l?.max)) };
}

/** A driver measurement, the app's usage over the measured part of the step, and the verdict, as a results.json step. */
export function toStep(
  m: StepMeasurement,
  app: { cpuPct: number; peakRssMiB: number } | null,
  verdict: Verdict,
  planned: Pick<PlannedStep, 'index' | 'phase'>,
): StepRecord {
  const endpoints: Step['endpoints'] = {};
  for (const [name, e] of Object.entries(m.endpoints ?? {})) {
    if (!(ENDPOINTS as readonly string[]).includes(name)) continue;
    endpoints[name as Endpoint] = { requests: Math.round(num(e.requests)), errors: Math.round(num(e.errors)), latencyMs: latency(e.latencyMs) };
  }
  const requests = Math.round(num(m.requests));
  const errors = Math.round(num(m.errors));
  const step: StepRecord = {
    users: m.users,
    seconds: r2(num(m.seconds)),
    requests,
    rps: r1(num(m.rps)),
    errors,
    errorRate: requests > 0 ? Math.min(1, Math.round((errors / requests) * 1e6) / 1e6) : 0,
    latencyMs: latency(m.latencyMs),
    endpoints,
    app: app ? { cpuPct: r1(num(app.cpuPct)), rssMiB: r1(num(app.peakRssMiB)) } : null,
    driver: m.driver ? { eventLoopDelayP99Ms: r2(num(m.driver.eventLoopDelayP99Ms)), cpuPct: r1(num(m.driver.cpuPct)) } : null,
    driverBound: m.driverBound === true,
    passed: verdict.passed,
    order: planned.index + 1,
    phase: planned.phase,
    errorsByKind: { ...(m.errorsByKind ?? {}) },
  };
  if (!verdict.passed) step.reasons = verdict.reasons;
  if (step.driverBound && m.driver?.reasons?.length) step.driverBoundReasons = m.driver.reasons;
  if (m.errorSamples?.length) step.errorSamples = m.errorSamples.slice(0, 5);
  if (m.maxRequestsReached) step.maxRequestsReached = true;
  return step;
}

function slug(run: ComboRun, index: number): string {
  return `${String(index).padStart(2, '0')}-${run.app.name}-${run.store}-${run.conn}-node${run.runtime.version}-r${run.repeat}`.replace(/[^\w.-]+/g, '_');
}

function lastLines(text: string, n = 6): string {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines.slice(-n).join(' | ');
}

/**
 * One combination, start to finish: fresh seeded database, app started (pinned when the layout says so) and healthy,
 * contract suite (failing: `unverified`, not loaded), database reset again, stepped load from the planner until the
 * threshold breaks (each step sampled for the app's CPU and RSS), app still healthy, data audited, app stopped.
 * Never throws for a problem of the app: a crash, a hang or a timeout is a `failed` combination with a reason.
 */
export async function runCombination(run: ComboRun, index: number, total: number, ctx: OrchestratorContext): Promise<Combo> {
  const { config, progress } = ctx;
  const combo: Combo = {
    app: run.app.name,
    store: run.store,
    conn: run.conn,
    poolSize: run.conn === 'pool' ? config.poolSize : null,
    runtime: run.runtime.version,
    repeat: run.repeat,
    status: 'failed',
    reason: 'not run',
    breakpoint: null,
    steps: [],
    appUsage: null,
    integrity: null,
  };
  const notes: string[] = [];
  const steps: StepRecord[] = [];
  const logFile = join(ctx.logDir, `${slug(run, index)}.log`);
  const log = (line: string) => {
    try {
      appendFileSync(logFile, line + '\n');
    } catch {
      /* logging never breaks a run */
    }
  };
  progress.comboStart(index, total, comboLabel(combo, config.repeats));

  let app: AppProcess | undefined;
  let sampler: ProcessSampler | undefined;
  let stopping = false;
  let exitedEarly: string | undefined;
  const finish = (status: Combo['status'], reason?: string): Combo => {
    combo.status = status;
    const all = [reason, ...notes].filter((s): s is string => Boolean(s));
    if (all.length > 0) combo.reason = all.join('; ');
    else delete combo.reason;
    combo.steps = [...steps].sort((a, b) => a.users - b.users || a.order - b.order);
    return combo;
  };
  const interrupted = () => finish('failed', `interrupted (Ctrl-C)${steps.length ? ` after ${steps.length} step${steps.length === 1 ? '' : 's'}; steps so far kept` : ''}`);

  try {
    if (ctx.signal.aborted) return interrupted();
    try {
      await withTimeout(resetDatabase(ctx.databaseUrl, { products: config.products }), LIMITS.resetMs, `database reset took over ${LIMITS.resetMs / 1000} s`);
    } catch (err) {
      return finish('failed', `database reset failed: ${(err as Error).message.split('\n')[0]}`);
    }

    // Start and health.
    try {
      app = await startAppProcess({
        app: run.app,
        store: run.store,
        conn: run.conn,
        poolSize: config.poolSize,
        databaseUrl: ctx.databaseUrl,
        port: 0,
        nodeBinary: run.runtime.binary,
        onOutput: log,
        startTimeoutMs: LIMITS.appStartMs,
      });
    } catch (err) {
      const [first, ...rest] = (err as Error).message.split('\n');
      return finish('failed', `did not start: ${first}${rest.length ? ` (${lastLines(rest.join('\n'))})` : ''}`);
    }
    void app.exited.then(({ code, signal }) => {
      if (!stopping) exitedEarly = `app exited (${signal ?? `code ${code}`})`;
    });
    if (ctx.layout.mode === 'pinned' && ctx.layout.appCpu !== null) {
      if (!(await pinProcess(app.pid, ctx.layout.appCpu))) notes.push(`could not pin the app to cpu ${ctx.layout.appCpu}`);
    }
    try {
      await waitHealthy(app.url, LIMITS.healthMs, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) return interrupted();
      return finish('failed', exitedEarly ? `${exitedEarly} before it was healthy: ${lastLines(app.output())}` : (err as Error).message);
    }

    // Verify: only a stack that passes the contract is measured.
    progress.note('verify: contract suite ...');
    let report;
    try {
      report = await withTimeout(runContractSuite(app.url), LIMITS.verifyMs, `the contract suite did not finish within ${LIMITS.verifyMs / 1000} s (app hanging?)`);
    } catch (err) {
      if (ctx.signal.aborted) return interrupted();
      return finish('failed', exitedEarly ? `${exitedEarly} during verification: ${lastLines(app.output())}` : `verification: ${(err as Error).message.split('\n')[0]}`);
    }
    if (ctx.signal.aborted) return interrupted();
    if (exitedEarly) return finish('failed', `${exitedEarly} during verification: ${lastLines(app.output())}`);
    if (report.failed > 0) {
      const names = report.results.filter((r) => !r.ok).map((r) => r.name);
      for (const r of report.results.filter((x) => !x.ok)) log(`contract check failed: ${r.name}: ${r.error ?? ''}`);
      return finish('unverified', `failed ${report.failed} of ${report.results.length} contract checks: ${names.join('; ')}`);
    }
    progress.note(`verify: ${report.passed}/${report.results.length} contract checks passed`);

    // The suite placed orders: start the load from the seeded state again (same app process, same connections).
    try {
      await withTimeout(resetDatabase(withLockTimeout(ctx.databaseUrl), { products: config.products }), LIMITS.resetMs, `database reset took over ${LIMITS.resetMs / 1000} s`);
    } catch (err) {
      return finish('failed', `database reset after verification failed: ${(err as Error).message.split('\n')[0]}`);
    }

    // Stepped load.
    sampler = new ProcessSampler(app.pid).start();
    const loadStartIndex = sampler.mark();
    const planner = new Planner(config.profile);
    const seen: SeenOrder[] = [];
    const timeoutMs = requestTimeoutMs(config);
    let brokeOff: string | undefined;
    for (let planned = planner.next(); planned; planned = planner.next()) {
      if (ctx.signal.aborted) return interrupted();
      if (exitedEarly) break;
      const stepNo = planned.index + 1;
      const warmupMs = Math.round(planned.warmupSeconds * 1000);
      const durationMs = Math.round(planned.stepSeconds * 1000);
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      void app.exited.then(onAbort);
      const t0 = performance.now();
      sampler.sample();
      let m: StepMeasurement;
      try {
        const stepPromise = ctx.runner.runStep({
          baseUrl: app.url,
          users: planned.users,
          durationMs,
          warmupMs,
          thinkMs: config.thinkMs,
          productCount: config.products,
          maxRequests: maxRequests(planned.users, planned),
          requestTimeoutMs: timeoutMs,
          signal: controller.signal,
          onProgress: (p) => progress.live(stepNo, planned.users, durationMs, p),
        });
        const budget = stepBudgetMs(planned, timeoutMs);
        m = await withTimeout(stepPromise, budget, 'over budget').catch(async (err) => {
          if (!(err instanceof TimeoutError)) throw err;
          controller.abort();
          return withTimeout(stepPromise, LIMITS.abortGraceMs, `the driver did not finish step ${stepNo} within ${(budget + LIMITS.abortGraceMs) / 1000} s`);
        });
      } catch (err) {
        if (ctx.signal.aborted) return interrupted();
        if (exitedEarly) break;
        brokeOff = `step ${stepNo} (${planned.users} users): ${(err as Error).message.split('\n')[0]}`;
        planner.abort();
        break;
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
      }
      if (ctx.signal.aborted) return interrupted();
      if (exitedEarly) break; // a step cut short by a crash is not a measurement
      sampler.sample();
      const window = sampler.window(sampleIndexAt(sampler.samples, t0 + warmupMs));
      const verdict = evaluateStep(
        { requests: m.requests, errors: m.errors, errorRate: m.errorRate, latencyMs: m.latencyMs as Record<LatencyStat, number> },
        config.threshold,
      );
      planner.record(verdict.passed);
      const step = toStep(m, window, verdict, planned);
      steps.push(step);
      for (const o of m.createdOrders ?? []) seen.push(o);
      progress.step(stepNo, step);
    }
    sampler.sample();
    const usage = sampler.window(loadStartIndex);
    if (usage) combo.appUsage = { peakRssMiB: r1(usage.peakRssMiB), avgCpuPct: r1(usage.cpuPct) };

    const outcome = planner.outcome();
    if (outcome.breakpoint !== null) {
      const s = steps.filter((x) => x.users === outcome.breakpoint && x.passed).pop();
      if (s) combo.breakpoint = { users: s.users, rps: s.rps, p95Ms: s.latencyMs.p95, p99Ms: s.latencyMs.p99, avgMs: s.latencyMs.avg } satisfies Breakpoint;
    }
    if (outcome.capped) notes.push(`capped: every step up to ${config.profile.maxUsers} users passed, the real breakpoint is higher`);
    const bound = steps.filter((s) => s.driverBound).map((s) => s.users);
    if (bound.length > 0) notes.push(`driver-bound at ${bound.join(', ')} users: the load generator, not the app, may have limited those steps`);
    if (config.driver === 'k6') notes.push('k6 does not report the orders it created: the audit checked database consistency only');

    // Still alive and answering? A hung app fails here rather than pass as "measured".
    let health: string | undefined;
    if (!exitedEarly) {
      try {
        await waitHealthy(app.url, LIMITS.healthMs, ctx.signal);
      } catch (err) {
        if (ctx.signal.aborted) return interrupted();
        health = `app stopped answering after the steps: ${(err as Error).message}`;
      }
    }

    // The data the run left behind.
    try {
      combo.integrity = await withTimeout(auditData(ctx.databaseUrl, seen, { statementTimeoutMs: LIMITS.auditMs }), LIMITS.auditMs + 5000, 'audit timed out');
    } catch (err) {
      notes.push(`audit failed: ${(err as Error).message.split('\n')[0]}`);
    }
    if (combo.integrity && !combo.integrity.ok) notes.push(`data problems: ${combo.integrity.problems.length}`);

    if (exitedEarly) {
      const at = steps.length + 1;
      return finish('failed', `${exitedEarly} during step ${at}: ${lastLines(app.output())}`);
    }
    if (brokeOff) return finish('failed', brokeOff);
    if (health) return finish('failed', health);
    return finish('measured');
  } catch (err) {
    // Anything unexpected (a bug, the database gone): recorded, and the run goes on.
    return finish('failed', `unexpected error: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    stopping = true;
    sampler?.stop();
    if (app) await app.stop(LIMITS.stopGraceMs).catch(() => undefined);
    progress.comboEnd(combo);
  }
}

export interface BenchOutcome {
  results: Results;
  resultsFile: string;
  interrupted: boolean;
}

export function newRunId(date = new Date()): string {
  return `${date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-')}-${randomBytes(3).toString('hex')}`;
}

/**
 * The whole run: environment recorded, each combination in order, results.json (schema-validated) rewritten after
 * every combination so an interrupted or crashed run keeps what it measured.
 */
export async function runBench(ctx: Omit<OrchestratorContext, 'logDir'> & { environment?: Environment }): Promise<BenchOutcome> {
  const { config, progress } = ctx;
  const startedAt = new Date();
  const logDir = join(config.outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const environment = ctx.environment ?? (await collectEnvironment({ databaseUrl: ctx.databaseUrl, cpuLayout: ctx.layout.description }));
  const results: Results = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: newRunId(startedAt),
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    command: config.command,
    environment,
    method: {
      driver: config.driver,
      profile: config.profile.name,
      threshold: config.thresholdText,
      maxErrorRate: config.threshold.errorRate.limit,
      thinkMs: config.thinkMs,
      stepSeconds: config.profile.stepSeconds,
      warmupSeconds: config.profile.warmupSeconds,
      repeats: config.repeats,
    },
    combos: [],
  };
  let resultsFile = writeResults(config.outDir, results);
  const full = { ...ctx, logDir };
  const total = config.runs.length;
  for (let i = 0; i < total; i++) {
    if (ctx.signal.aborted) break;
    const combo = await runCombination(config.runs[i]!, i + 1, total, full);
    results.combos.push(combo);
    results.finishedAt = new Date().toISOString();
    resultsFile = writeResults(config.outDir, results);
  }
  results.finishedAt = new Date().toISOString();
  resultsFile = writeResults(config.outDir, results);
  if (results.combos.length > 0) progress.line('\n' + summaryTable(results.combos, config.repeats));
  return { results, resultsFile, interrupted: ctx.signal.aborted };
}
