import { runContractSuite, send } from '@stackbench/contract/suite';
import { resetDatabase } from '@stackbench/db';
import {
  evaluateStep,
  judgeDriver,
  Planner,
  processTreeReader,
  UsageSampler,
  type CreatedOrder,
  type LatencyStat,
  type LoadEngine,
  type PlannedStep,
  type ScenarioSpec,
  type StepRun,
  type UsageReader,
  type UsageWindow,
} from '@stackbench/loadtests';
import { flameGraphSvg, profileSummary, readProfileFile } from '@stackbench/profile';
import { RESULTS_SCHEMA_VERSION, type Breakpoint, type Combo, type Cost, type CpuProfile, type Environment, type ResourceUse, type Results, type Step } from '@stackbench/report';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import type { AppProcess } from '../app-process.js';
import { startAppTarget, type AppTarget } from '../instances.js';
import { auditData } from './audit.js';
import { timestampId, type BenchConfig, type ComboRun } from './config.js';
import { pinProcess, type CpuLayout } from './cpu-layout.js';
import { comboLabel, Progress, summaryTable } from './progress.js';
import { writeResults } from './results-file.js';
import { runSqlCensus } from './sql-census.js';

/** Time limits of the phases around the load (the load itself is bounded per step, see stepBudgetMs). */
export const LIMITS = {
  appStartMs: 30_000,
  healthMs: 10_000,
  verifyMs: 120_000,
  resetMs: 30_000,
  auditMs: 60_000,
  stopGraceMs: 5_000,
  /** After the budget of a step: how long an aborted engine may take to hand back. */
  abortGraceMs: 5_000,
};

/** How the app and PostgreSQL are confined and read: a cgroup each under the envelope, /proc otherwise. */
export interface Resources {
  /** The app cgroup's `cgroup.procs` files: app processes start inside them (none without an envelope). */
  appCgroupProcs: string[];
  /** Reads the app's usage (a cgroup, or the processes and their children); `children`: count their memory too. */
  appReader(pids: number[], children: boolean): UsageReader;
  /** Scale-out: sizes the app's budget for this many instances (each: N budgets; shared: one). */
  appInstances(count: number): void;
  /** PostgreSQL's usage for the whole run (null when it cannot be read: a DATABASE_URL elsewhere). */
  db: UsageSampler | null;
  /** CPUs this run may use. */
  machineCores: number;
  /** Cores the envelope leaves the load generator now (machine − app and database quotas), null without one. */
  generatorShareCores?: () => number | null;
  /** Whether pg_stat_statements can count each stack's SQL (null), or why not. */
  sqlCensus: string | null;
}

export interface OrchestratorContext {
  config: BenchConfig;
  engine: LoadEngine;
  databaseUrl: string;
  layout: CpuLayout;
  resources: Resources;
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

/** Upper bound of requests in one step, warm-up included (a safety net, far above what loopback can serve). */
export function maxRequests(load: number, step: Pick<PlannedStep, 'stepSeconds' | 'warmupSeconds' | 'model'>): number {
  const perSecond = step.model === 'open' ? load * 8 : load * 5000;
  return Math.ceil(perSecond * (step.stepSeconds + step.warmupSeconds)) + 1000;
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

const r1 = (n: number) => Math.round(n * 10) / 10;

/** The app's or PostgreSQL's usage over a step's window, per request. */
export function resourceUse(window: UsageWindow | null, requests: number): ResourceUse | null {
  if (!window) return null;
  return {
    cpuPct: r1(window.cpuPct),
    cpuUsPerRequest: requests > 0 ? r1((window.cpuSeconds * 1e6) / requests) : null,
    rssMiB: window.peakRssMiB === null ? null : r1(window.peakRssMiB),
    throttledPct: window.throttledPct === null ? null : r1(window.throttledPct),
  };
}

/** A measurement, the resources of its window and the verdicts, as a results.json step. */
export function toStep(run: StepRun, planned: Pick<PlannedStep, 'index' | 'phase'>, ctx: Pick<OrchestratorContext, 'config' | 'resources'>, app: UsageWindow | null, db: UsageWindow | null): Step {
  const m = run.measurement;
  const verdict = evaluateStep({ requests: m.requests, errors: m.errors, errorRate: m.errorRate, latencyMs: m.latencyMs as Record<LatencyStat, number> }, ctx.config.threshold);
  const judgement = judgeDriver({
    driverCpuPct: m.driver.cpuPct,
    parallelism: m.driver.parallelism,
    eventLoopDelayP99Ms: m.driver.eventLoopDelayP99Ms,
    machineCores: ctx.resources.machineCores,
    appCpuPct: app?.cpuPct ?? null,
    dbCpuPct: db?.cpuPct ?? null,
    envelopeShareCores: ctx.resources.generatorShareCores?.() ?? null,
  });
  return {
    ...m,
    order: planned.index + 1,
    phase: planned.phase,
    passed: verdict.passed,
    reasons: verdict.reasons,
    driverBound: judgement.bound,
    driverBoundReasons: judgement.reasons,
    app: resourceUse(app, m.requests),
    db: resourceUse(db, m.requests),
  };
}

/** The breakpoint step's figures. */
export function breakpointOf(steps: Step[], load: number | null): Breakpoint | null {
  if (load === null) return null;
  const s = steps.filter((x) => x.load === load && x.passed).pop();
  if (!s) return null;
  return { load: s.load, rps: s.rps, p95Ms: s.latencyMs.p95, p99Ms: s.latencyMs.p99, avgMs: s.latencyMs.avg, serverP95Ms: s.serverMs?.p95 ?? null, driverBound: s.driverBound };
}

/** Cost per request at `costAt`: that step when it passed, else the highest passing step below it. */
export function costOf(steps: Step[], costAt: number): Cost | null {
  const passing = steps.filter((s) => s.passed && s.load <= costAt).sort((a, b) => b.load - a.load || b.order - a.order);
  const s = passing[0];
  if (!s) return null;
  return { load: s.load, exact: s.load === costAt, rps: s.rps, appCpuUsPerRequest: s.app?.cpuUsPerRequest ?? null, dbCpuUsPerRequest: s.db?.cpuUsPerRequest ?? null };
}

export function slug(run: ComboRun, index: number): string {
  const scale = run.scale ? `-${run.scale.count}x${run.scale.lb}` : '';
  return `${String(index).padStart(2, '0')}-${run.app.name}-${run.store}-${run.conn}${scale}-node${run.runtime.version}-r${run.repeat}`.replace(/[^\w.-]+/g, '_');
}

function lastLines(text: string, n = 6): string {
  return text.trim().split('\n').filter(Boolean).slice(-n).join(' | ');
}

export const firstLine = (err: unknown) => (err as Error).message.split('\n')[0]!;

/** Thrown by a phase to end the combination with a status and a reason (never for a bug). */
export class ComboEnd extends Error {
  constructor(
    readonly status: Combo['status'],
    message: string,
  ) {
    super(message);
  }
}

/** One combination's state while it runs. */
export class ComboRunState {
  readonly combo: Combo;
  readonly notes: string[] = [];
  readonly steps: Step[] = [];
  readonly seen: CreatedOrder[] = [];
  app: AppTarget | undefined;
  appSampler: UsageSampler | undefined;
  /** nginx's CPU, when it is the balancer. */
  balancerSampler: UsageSampler | undefined;
  stopping = false;
  exitedEarly: string | undefined;
  /** Where the app writes its CPU profile (--cpu-prof): a private temporary directory. */
  readonly profileDir: string | undefined;

  constructor(
    readonly run: ComboRun,
    readonly ctx: OrchestratorContext,
    readonly logFile: string,
  ) {
    this.combo = {
      app: run.app.name,
      store: run.store,
      conn: run.conn,
      poolSize: run.conn === 'pool' ? ctx.config.poolSize : null,
      runtime: run.runtime.version,
      repeat: run.repeat,
      status: 'failed',
      reason: 'not run',
      breakpoint: null,
      steps: [],
      appUsage: null,
      cost: null,
      integrity: null,
      ...(run.scale ? { instances: { count: run.scale.count, lb: run.scale.lb, requestsPerInstance: null, balancerCpuUsPerRequest: null } } : {}),
    };
    if (ctx.config.cpuProfile) this.profileDir = mkdtempSync(join(tmpdir(), 'stackbench-profile-'));
  }

  log(line: string): void {
    try {
      appendFileSync(this.logFile, line + '\n');
    } catch {
      /* logging never breaks a run */
    }
  }

  checkInterrupted(): void {
    if (this.ctx.signal.aborted) {
      const kept = this.steps.length ? ` after ${this.steps.length} step${this.steps.length === 1 ? '' : 's'}; steps so far kept` : '';
      throw new ComboEnd('failed', `interrupted (Ctrl-C)${kept}`);
    }
  }

  crashed(during: string): ComboEnd {
    return new ComboEnd('failed', `${this.exitedEarly} ${during}: ${lastLines(this.app?.output() ?? '')}`);
  }

  finish(status: Combo['status'], reason?: string): Combo {
    const all = [reason, ...this.notes].filter((s): s is string => Boolean(s));
    this.combo.status = status;
    if (all.length > 0) this.combo.reason = all.join('; ');
    else delete this.combo.reason;
    this.combo.steps = [...this.steps].sort((a, b) => a.load - b.load || a.order - b.order);
    return this.combo;
  }
}

// ---- the phases of a combination ------------------------------------------------------------------------------

export async function resetPhase(s: ComboRunState, url: string, when: string): Promise<void> {
  try {
    await withTimeout(resetDatabase(url, { products: s.ctx.config.products }), LIMITS.resetMs, `database reset took over ${LIMITS.resetMs / 1000} s`);
  } catch (err) {
    throw new ComboEnd('failed', `database reset ${when}failed: ${firstLine(err)}`);
  }
}

export async function startPhase(s: ComboRunState): Promise<AppTarget> {
  const { ctx, run } = s;
  let app: AppTarget;
  ctx.resources.appInstances(run.scale?.count ?? 1);
  try {
    app = await startAppTarget({
      app: run.app,
      store: run.store,
      conn: run.conn,
      poolSize: ctx.config.poolSize,
      databaseUrl: ctx.databaseUrl,
      port: 0,
      nodeBinary: run.runtime.binary,
      cgroupProcs: ctx.resources.appCgroupProcs,
      onOutput: (line) => s.log(line),
      startTimeoutMs: LIMITS.appStartMs,
      env: { ...run.env, ...(s.profileDir ? { STACKBENCH_CPU_PROF_DIR: s.profileDir } : {}) },
    }, run.scale, join(ctx.config.outDir, 'nginx', basename(s.logFile, '.log')));
  } catch (err) {
    const [first, ...rest] = (err as Error).message.split('\n');
    throw new ComboEnd('failed', `did not start: ${first}${rest.length ? ` (${lastLines(rest.join('\n'))})` : ''}`);
  }
  s.app = app;
  void app.exited.then(({ code, signal }) => {
    if (!s.stopping) s.exitedEarly = `app exited (${signal ?? `code ${code}`})`;
  });
  if (ctx.layout.mode === 'pinned' && ctx.layout.appCpu !== null && !(await pinProcess(app.pid, ctx.layout.appCpu))) {
    s.notes.push(`could not pin the app to cpu ${ctx.layout.appCpu}`);
  }
  try {
    await waitHealthy(app.url, LIMITS.healthMs, ctx.signal);
  } catch (err) {
    s.checkInterrupted();
    throw s.exitedEarly ? s.crashed('before it was healthy') : new ComboEnd('failed', (err as Error).message);
  }
  return app;
}

/** Only a stack that passes the contract is measured. */
export async function verifyPhase(s: ComboRunState, app: AppProcess): Promise<void> {
  s.ctx.progress.note('verify: contract suite ...');
  let report;
  try {
    report = await withTimeout(runContractSuite(app.url), LIMITS.verifyMs, `the contract suite did not finish within ${LIMITS.verifyMs / 1000} s (app hanging?)`);
  } catch (err) {
    s.checkInterrupted();
    throw s.exitedEarly ? s.crashed('during verification') : new ComboEnd('failed', `verification: ${firstLine(err)}`);
  }
  s.checkInterrupted();
  if (s.exitedEarly) throw s.crashed('during verification');
  if (report.failed > 0) {
    const failed = report.results.filter((r) => !r.ok);
    for (const r of failed) s.log(`contract check failed: ${r.name}: ${r.error ?? ''}`);
    throw new ComboEnd('unverified', `failed ${report.failed} of ${report.results.length} contract checks: ${failed.map((r) => r.name).join('; ')}`);
  }
  s.ctx.progress.note(`verify: ${report.passed}/${report.results.length} contract checks passed`);
}

/** The SQL the stack sends per request, per endpoint (skipped without pg_stat_statements: said once per run). */
async function censusPhase(s: ComboRunState, app: AppProcess): Promise<void> {
  if (s.ctx.resources.sqlCensus !== null) return;
  try {
    s.combo.sql = await withTimeout(runSqlCensus(app.url, s.ctx.databaseUrl), LIMITS.verifyMs, 'the SQL census did not finish');
    const per = (name: string) => s.combo.sql?.[name]?.roundTrips ?? NaN;
    s.ctx.progress.note(`sql: round trips per request list ${per('list')}, product ${per('product')}, order ${per('order')}, order_view ${per('order_view')}`);
  } catch (err) {
    s.checkInterrupted();
    if (s.exitedEarly) throw s.crashed('during the SQL census');
    s.notes.push(`SQL census failed: ${firstLine(err)}`);
  }
}

/** How early before the window's end the end hook fires. */
const WINDOW_END_MARGIN_MS = 150;

/** Called when the step's measured window starts and ends (on the orchestrator's clock: within a few ms). */
interface WindowHooks {
  onWindowStart(): void;
  onWindowEnd(): void;
}

/** One step: the engine runs it, the app's and PostgreSQL's usage over the same window are read, it is judged. */
export async function stepPhase(s: ComboRunState, app: AppProcess, planned: PlannedStep, hooks?: WindowHooks, scenario?: ScenarioSpec): Promise<{ step: Step; window: StepRun['window'] }> {
  const { ctx } = s;
  const config = ctx.config;
  const stepNo = planned.index + 1;
  const timeoutMs = requestTimeoutMs(config);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  void app.exited.then(onAbort);
  s.appSampler!.sample();
  ctx.resources.db?.sample();
  s.balancerSampler?.sample();
  const durationMs = Math.round(planned.stepSeconds * 1000);
  const warmupMs = Math.round(planned.warmupSeconds * 1000);
  // The end hook fires a little early: a busy app handles the signal some ms later, and what it does must still fall
  // inside the window.
  const timers = hooks ? [setTimeout(hooks.onWindowStart, warmupMs), setTimeout(hooks.onWindowEnd, warmupMs + Math.max(0, durationMs - WINDOW_END_MARGIN_MS))] : [];
  try {
    const stepPromise = ctx.engine.runStep({
      baseUrl: app.url,
      model: planned.model,
      load: planned.load,
      durationMs,
      warmupMs,
      thinkMs: config.thinkMs,
      productCount: config.products,
      maxRequests: maxRequests(planned.load, planned),
      ...(scenario ? { scenario } : {}),
      requestTimeoutMs: timeoutMs,
      signal: controller.signal,
      onProgress: (p) => ctx.progress.live(stepNo, planned.load, durationMs, p),
    });
    const budget = stepBudgetMs(planned, timeoutMs);
    const run = await withTimeout(stepPromise, budget, 'over budget').catch(async (err) => {
      if (!(err instanceof TimeoutError)) throw err;
      controller.abort();
      return withTimeout(stepPromise, LIMITS.abortGraceMs, `the engine did not finish step ${stepNo} within ${(budget + LIMITS.abortGraceMs) / 1000} s`);
    });
    s.appSampler!.sample();
    ctx.resources.db?.sample();
    s.balancerSampler?.sample();
    for (const o of run.createdOrders) s.seen.push(o);
    const appWindow = s.appSampler!.window(run.window.startMs, run.window.endMs);
    const dbWindow = ctx.resources.db?.window(run.window.startMs, run.window.endMs) ?? null;
    const step = toStep(run, planned, ctx, appWindow, dbWindow);
    if (s.balancerSampler) step.balancer = resourceUse(s.balancerSampler.window(run.window.startMs, run.window.endMs), run.measurement.requests);
    return { step, window: run.window };
  } finally {
    for (const t of timers) clearTimeout(t);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * --cpu-prof: one extra step at the chosen load (the breakpoint by default) with the app's profiler on for exactly
 * its measured window; the profile, its flame graph and where the CPU went go beside results.json. The planned steps
 * stay unprofiled; the extra step is not part of the plan (its figures show the profiler's overhead).
 */
async function profilePhase(s: ComboRunState, app: AppProcess): Promise<void> {
  const load = s.ctx.config.cpuProfile!.load ?? s.combo.breakpoint?.load ?? null;
  if (load === null) {
    s.notes.push('not profiled: no breakpoint (give --cpu-prof-load)');
    return;
  }
  await profileStep(s, app, s.combo, load);
}

/**
 * One extra step at `load` (of `scenario`, default the commerce journey) with the app's profiler on for its measured
 * window; the profile and its flame graph go to the run's profiles/ directory and `combo.profile`. Labs call it per
 * point (`suffix` names the point's files).
 */
export async function profileStep(s: ComboRunState, app: AppProcess, combo: Combo, load: number, scenario?: ScenarioSpec, suffix = ''): Promise<void> {
  const { ctx } = s;
  const profile = ctx.config.profile;
  const planned: PlannedStep = { index: s.steps.length, model: ctx.config.model, load, phase: 'growth', warmupSeconds: profile.warmupSeconds, stepSeconds: profile.stepSeconds };
  const signal = () => app.child.kill('SIGUSR2');
  const started = app.waitForLine(/^cpu profile (started|failed)/, 15_000 + planned.warmupSeconds * 1000);
  const written = started.then(() => app.waitForLine(/^cpu profile (written|failed)/, 60_000 + planned.stepSeconds * 1000));
  written.catch(() => undefined);
  ctx.progress.note(`profile: one extra step at ${load} with the CPU profiler on ...`);
  const { step, window } = await stepPhase(s, app, planned, { onWindowStart: signal, onWindowEnd: signal }, scenario);
  const line = await written;
  if (!line.startsWith('cpu profile written')) throw new Error(line);
  const dir = join(ctx.config.outDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  const base = `${combo.app}-${combo.store}-${combo.conn}-node${combo.runtime}-r${combo.repeat}${suffix ? `-${suffix}` : ''}`.replace(/[^\w.-]+/g, '_');
  const file = join(dir, `${base}.cpuprofile`);
  const meta = JSON.parse(readFileSync(join(s.profileDir!, `${app.pid}.meta.json`), 'utf8')) as { startedAtMs: number; stoppedAtMs: number };
  renameSync(join(s.profileDir!, `${app.pid}.cpuprofile`), file);
  const parsed = readProfileFile(file);
  const svg = join(dir, `${base}.svg`);
  writeFileSync(svg, flameGraphSvg(parsed, { title: `${combo.app} + ${combo.store} (${combo.conn}) on Node ${combo.runtime}, ${load} ${ctx.config.model === 'open' ? 'journeys/s' : 'users'}` }));
  const summary = profileSummary(parsed);
  const unprofiled = s.steps.filter((x) => x.load === load && x.passed).pop() ?? null;
  combo.profile = {
    load,
    step: { requests: step.requests, rps: step.rps, p95Ms: step.latencyMs.p95 },
    unprofiledRps: unprofiled?.rps ?? null,
    profileWindow: { startMs: meta.startedAtMs, stopMs: meta.stoppedAtMs },
    stepWindow: { startMs: window.startMs, endMs: window.endMs },
    file: relative(ctx.config.outDir, file),
    flameGraph: relative(ctx.config.outDir, svg),
    summary: { busyMs: summary.busyMs, idleMs: summary.idleMs, sampleCount: summary.sampleCount, categories: summary.categories, owners: summary.owners, packages: summary.packages },
  } satisfies CpuProfile;
  ctx.progress.note(`profile: ${summary.categories.filter((c) => c.percent !== null && c.percent >= 5).map((c) => `${c.category} ${c.percent} %`).join(', ')}`);
}

/** The app's usage (all its instances) and, behind nginx, the balancer's, sampled for the whole load. */
export function startSamplers(s: ComboRunState, app: AppTarget): void {
  s.appSampler = new UsageSampler(s.ctx.resources.appReader(app.appPids, app.scale?.lb === 'cluster')).start();
  if (app.balancer?.pid) s.balancerSampler = new UsageSampler(processTreeReader(app.balancer.pid)).start();
}

/** After the app stopped: the requests each instance received, and nginx's CPU per request at the cost load. */
export function finishInstances(s: ComboRunState, combos: Combo[]): void {
  s.balancerSampler?.stop();
  for (const c of combos) {
    if (!c.instances) continue;
    c.instances.requestsPerInstance = s.app?.servedPerInstance() ?? null;
    const costStep = c.cost ? c.steps.find((x) => x.load === c.cost!.load && x.passed) ?? c.steps.find((x) => x.load === c.cost!.load) : undefined;
    c.instances.balancerCpuUsPerRequest = costStep?.balancer?.cpuUsPerRequest ?? null;
  }
}

/** The planner's steps until the threshold breaks; returns why the loop stopped early, if it did. */
async function loadPhase(s: ComboRunState, app: AppTarget): Promise<string | undefined> {
  const { ctx } = s;
  startSamplers(s, app);
  const planner = new Planner(ctx.config.profile, ctx.config.model);
  for (let planned = planner.next(); planned; planned = planner.next()) {
    s.checkInterrupted();
    if (s.exitedEarly) return undefined;
    let step: Step;
    try {
      ({ step } = await stepPhase(s, app, planned));
    } catch (err) {
      s.checkInterrupted();
      if (s.exitedEarly) return undefined;
      planner.abort();
      return `step ${planned.index + 1} (${planned.load} ${planned.model === 'open' ? 'journeys/s' : 'users'}): ${firstLine(err)}`;
    }
    s.checkInterrupted();
    if (s.exitedEarly) return undefined; // a step cut short by a crash is not a measurement
    planner.record(step.passed);
    s.steps.push(step);
    ctx.progress.step(planned.index + 1, step);
  }
  const outcome = planner.outcome();
  s.combo.breakpoint = breakpointOf(s.steps, outcome.breakpoint);
  s.combo.cost = costOf(s.steps, ctx.config.profile[ctx.config.model].costAt);
  if (outcome.capped) s.notes.push(`capped: every step up to ${ctx.config.profile[ctx.config.model].max} passed, the real breakpoint is higher`);
  const bound = s.steps.filter((x) => x.driverBound).map((x) => x.load);
  if (bound.length > 0) s.notes.push(`driver-bound at ${bound.join(', ')}: the load generator, not the app, may have limited those steps`);
  return undefined;
}

/** After the load: still answering? And the data it left behind. */
export async function checkPhase(s: ComboRunState, app: AppProcess): Promise<string | undefined> {
  const { ctx } = s;
  let health: string | undefined;
  if (!s.exitedEarly) {
    try {
      await waitHealthy(app.url, LIMITS.healthMs, ctx.signal);
    } catch (err) {
      s.checkInterrupted();
      health = `app stopped answering after the steps: ${(err as Error).message}`;
    }
  }
  if (ctx.engine.name === 'k6') s.notes.push('k6 does not report the orders it created: the audit checked database consistency only');
  try {
    s.combo.integrity = await withTimeout(auditData(ctx.databaseUrl, s.seen, { statementTimeoutMs: LIMITS.auditMs }), LIMITS.auditMs + 5000, 'audit timed out');
  } catch (err) {
    s.notes.push(`audit could not run: ${firstLine(err)}`);
  }
  if (s.combo.integrity && !s.combo.integrity.ok) s.notes.push(`data problems: ${s.combo.integrity.problems.length}`);
  return health;
}

/**
 * One combination, start to finish: fresh seeded database, app started (confined to its envelope, pinned when the
 * layout says so) and healthy, contract suite (failing: `unverified`, not loaded), database reset again, stepped load
 * until the threshold breaks (each step with the app's and PostgreSQL's usage of its window), app still healthy, data
 * audited, app stopped. Never throws for a problem of the app: a crash, a hang or a timeout is a `failed`
 * combination with a reason.
 */
export async function runCombination(run: ComboRun, index: number, total: number, ctx: OrchestratorContext): Promise<Combo> {
  const s = new ComboRunState(run, ctx, join(ctx.logDir, `${slug(run, index)}.log`));
  ctx.progress.comboStart(index, total, comboLabel(s.combo, ctx.config.repeats));
  try {
    s.checkInterrupted();
    await resetPhase(s, ctx.databaseUrl, '');
    const app = await startPhase(s);
    await verifyPhase(s, app);
    await censusPhase(s, app);
    // The suite and the census placed orders: start the load from the seeded state again (same app, same connections).
    await resetPhase(s, withLockTimeout(ctx.databaseUrl), 'after verification ');
    const brokeOff = await loadPhase(s, app);
    if (ctx.config.cpuProfile && !brokeOff && !s.exitedEarly) {
      try {
        await profilePhase(s, app);
      } catch (err) {
        s.checkInterrupted();
        if (!s.exitedEarly) s.notes.push(`profile failed: ${firstLine(err)}`);
      }
    }
    if (s.appSampler) {
      const first = s.appSampler.samples[0];
      const last = s.appSampler.samples[s.appSampler.samples.length - 1];
      const usage = first && last ? s.appSampler.window(first.t, last.t) : null;
      if (usage) s.combo.appUsage = { peakRssMiB: usage.peakRssMiB === null ? null : r1(usage.peakRssMiB), avgCpuPct: r1(usage.cpuPct) };
    }
    const health = await checkPhase(s, app);
    if (s.exitedEarly) throw s.crashed(`during step ${s.steps.length + 1}`);
    if (brokeOff) return s.finish('failed', brokeOff);
    if (health) return s.finish('failed', health);
    return s.finish('measured');
  } catch (err) {
    if (err instanceof ComboEnd) return s.finish(err.status, err.message);
    // Anything unexpected (a bug, the database gone): recorded, and the run goes on.
    return s.finish('failed', `unexpected error: ${firstLine(err)}`);
  } finally {
    s.stopping = true;
    s.appSampler?.stop();
    if (s.profileDir) rmSync(s.profileDir, { recursive: true, force: true });
    if (s.app) await s.app.stop(LIMITS.stopGraceMs).catch(() => undefined);
    finishInstances(s, [s.combo]);
    ctx.progress.comboEnd(s.combo);
  }
}

export interface BenchOutcome {
  results: Results;
  resultsFile: string;
  interrupted: boolean;
}

/** `<timestamp>-<random>`: unique per run. */
export function newRunId(date = new Date()): string {
  return `${timestampId(date)}-${randomBytes(3).toString('hex')}`;
}

/** results.json's method block, from the configuration. */
export function methodOf(config: BenchConfig): Results['method'] {
  const p = config.profile;
  return {
    engine: config.engine.name,
    model: config.model,
    profile: p.name,
    preset: config.preset,
    threshold: { text: config.threshold.text, latency: config.threshold.latency, errorRate: config.threshold.errorRate },
    thinkMs: config.thinkMs,
    stepSeconds: p.stepSeconds,
    warmupSeconds: p.warmupSeconds,
    initialWarmupSeconds: p.initialWarmupSeconds,
    bisectSteps: p.bisectSteps,
    repeats: config.repeats,
    costAt: p[config.model].costAt,
    ...(config.scaleOut ? { scaleOut: { balancers: config.scaleOut.balancers, instances: config.scaleOut.counts, budget: config.scaleOut.budget } } : {}),
  };
}

/** A run's results.json as it starts (no combination yet), and its log directory, created. */
export function startResults(config: BenchConfig, environment: Environment, method: Results['method']): { results: Results; logDir: string } {
  const startedAt = new Date();
  const logDir = join(config.outDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const results: Results = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    runId: newRunId(startedAt),
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    command: config.command,
    environment,
    method,
    combos: [],
  };
  return { results, logDir };
}

/**
 * The whole run: each combination in order, results.json (schema-validated) rewritten after every combination so
 * an interrupted or crashed run keeps what it measured.
 */
export async function runBench(ctx: Omit<OrchestratorContext, 'logDir'> & { environment: Environment }): Promise<BenchOutcome> {
  const { config, progress } = ctx;
  const { results, logDir } = startResults(config, ctx.environment, methodOf(config));
  let resultsFile = writeResults(config.outDir, results);
  const full = { ...ctx, logDir };
  const total = config.runs.length;
  for (let i = 0; i < total; i++) {
    if (ctx.signal.aborted) break;
    results.combos.push(await runCombination(config.runs[i]!, i + 1, total, full));
    results.finishedAt = new Date().toISOString();
    resultsFile = writeResults(config.outDir, results);
  }
  results.finishedAt = new Date().toISOString();
  resultsFile = writeResults(config.outDir, results);
  if (results.combos.length > 0) progress.line('\n' + summaryTable(results.combos, config.repeats));
  return { results, resultsFile, interrupted: ctx.signal.aborted };
}
