import { send } from '@stackbench/contract/suite';
import type { PlannedStep } from '@stackbench/loadtests';
import type { Combo, Cost, Environment, LabPoint, Step } from '@stackbench/report';
import { join } from 'node:path';
import type { AppTarget } from '../instances.js';
import { comboLabel, summaryTable } from '../orchestrator/progress.js';
import { writeResults } from '../orchestrator/results-file.js';
import {
  breakpointOf,
  checkPhase,
  ComboEnd,
  ComboRunState,
  finishInstances,
  firstLine,
  LIMITS,
  profileStep,
  methodOf,
  resetPhase,
  slug,
  startResults,
  startPhase,
  startSamplers,
  stepPhase,
  verifyPhase,
  withLockTimeout,
  withTimeout,
  type BenchOutcome,
  type OrchestratorContext,
} from '../orchestrator/run.js';
import type { LabPointPlan } from './catalog.js';
import type { LabConfig, LabGroupRun } from './config.js';

/** What a lab's points talk to beside the app: the slow upstream's counters. */
export interface LabServices {
  /** Environment the app needs for them (STACKBENCH_LAB_UPSTREAM, REDIS_URL). */
  env: Record<string, string>;
  upstreamStats: ((resetPeak?: boolean) => Promise<{ requests: number; peakInFlight: number }>) | null;
}

export interface LabContext extends Omit<OrchestratorContext, 'config' | 'logDir'> {
  config: LabConfig;
  environment: Environment;
  /** Started before the group that first needs them (by the command), shared by the rest. */
  services(group: LabGroupRun): Promise<LabServices>;
}

/** The highest load such that it and every lower one passed (labs run every load; null when the first failed). */
export function labBreakpoint(steps: Step[]): number | null {
  let load: number | null = null;
  for (const s of [...steps].sort((a, b) => a.load - b.load)) {
    if (!s.passed) break;
    load = s.load;
  }
  return load;
}

/** A lab's cost is read at its first load whether or not that step passed (a slow route still has a cost). */
export function labCost(steps: Step[], load: number): Cost | null {
  const s = steps.find((x) => x.load === load);
  if (!s) return null;
  return { load: s.load, exact: true, rps: s.rps, appCpuUsPerRequest: s.app?.cpuUsPerRequest ?? null, dbCpuUsPerRequest: s.db?.cpuUsPerRequest ?? null };
}

async function getJson(url: string, path: string): Promise<{ status: number; body: unknown; bytes: number }> {
  const res = await send(url, { method: 'GET', path }, 10_000);
  return { status: res.status, body: res.json, bytes: Buffer.byteLength(res.text) };
}

/**
 * The cache's hit and miss counters of every instance: each instance counts its own, so with N instances behind a
 * balancer the stats route is asked until all N have answered (each answer names its process).
 */
async function cacheCounters(url: string, instances: number): Promise<Map<number, { hits: number; misses: number }>> {
  const seen = new Map<number, { hits: number; misses: number }>();
  for (let attempt = 0; attempt < 40 * instances && seen.size < instances; attempt++) {
    const res = await getJson(url, '/lab/cache/stats');
    const body = res.body as { hits?: unknown; misses?: unknown; instance?: unknown } | null;
    if (res.status !== 200 || typeof body?.hits !== 'number' || typeof body?.misses !== 'number' || typeof body?.instance !== 'number') throw new Error(`GET /lab/cache/stats answered ${res.status}`);
    seen.set(body.instance, { hits: body.hits, misses: body.misses });
  }
  if (seen.size < instances) throw new Error(`only ${seen.size} of ${instances} instances answered GET /lab/cache/stats`);
  return seen;
}

/**
 * The first point after an app starts warms up three times longer: a lab point may be a single step, and a cold app
 * (V8 compiling the ORM's and the framework's hot paths, inside the same CPU quota) measured ~40 % slower there.
 */
const FIRST_POINT_WARMUP_FACTOR = 3;

/** One point: every load of the lab, in order, on the group's running app. */
async function runPoint(s: ComboRunState, app: AppTarget, point: LabPointPlan, ctx: LabContext, services: LabServices, firstAfterStart: boolean): Promise<Combo> {
  const { config, progress } = ctx;
  const combo: Combo = { ...structuredClone(s.combo), status: 'failed', steps: [], breakpoint: null, cost: null };
  const lab: LabPoint = {
    lab: config.lab.definition.name,
    point: point.point,
    params: point.params,
    requests: point.scenario.kind === 'mix' ? point.scenario.requests.map((r) => ({ name: r.name, path: r.path, weight: r.weight })) : [{ name: 'view', path: '/lab/cache/products/:id', weight: 1 }],
    responseBytes: null,
    cache: null,
    upstream: null,
  };
  combo.lab = lab;
  progress.note(`point ${point.point}`);
  const notes: string[] = [];
  const instances = app.scale?.count ?? 1;
  const cacheBefore = point.cacheStats ? await cacheCounters(app.url, instances) : null;
  const upstreamBefore = point.upstreamStats && services.upstreamStats ? await services.upstreamStats(true) : null;
  s.steps.length = 0;
  const profile = config.profile;
  let brokeOff: string | undefined;
  for (const [i, load] of config.lab.loads.entries()) {
    s.checkInterrupted();
    if (s.exitedEarly) break;
    const planned: PlannedStep = { index: i, model: 'closed', load, phase: 'growth', warmupSeconds: i > 0 ? profile.warmupSeconds : profile.initialWarmupSeconds * (firstAfterStart ? FIRST_POINT_WARMUP_FACTOR : 1), stepSeconds: profile.stepSeconds };
    try {
      const { step } = await stepPhase(s, app, planned, undefined, point.scenario);
      s.checkInterrupted();
      if (s.exitedEarly) break;
      s.steps.push(step);
      progress.step(i + 1, step);
    } catch (err) {
      s.checkInterrupted();
      if (s.exitedEarly) break;
      brokeOff = `step ${i + 1} (${load} users): ${firstLine(err)}`;
      break;
    }
  }
  if (config.cpuProfile && !brokeOff && !s.exitedEarly) {
    try {
      await profileStep(s, app, combo, config.cpuProfile.load ?? Math.max(...config.lab.loads), point.scenario, point.point);
    } catch (err) {
      s.checkInterrupted();
      if (!s.exitedEarly) notes.push(`profile failed: ${firstLine(err)}`);
    }
  }
  combo.steps = [...s.steps].sort((a, b) => a.load - b.load);
  combo.breakpoint = breakpointOf(combo.steps, labBreakpoint(combo.steps));
  combo.cost = labCost(combo.steps, config.lab.loads[0]!);
  if (!s.exitedEarly) {
    try {
      if (point.sizePath) lab.responseBytes = (await getJson(app.url, point.sizePath)).bytes;
      if (cacheBefore) {
        const after = await cacheCounters(app.url, instances);
        let hits = 0;
        let misses = 0;
        for (const [pid, a] of after) {
          hits += a.hits - (cacheBefore.get(pid)?.hits ?? 0);
          misses += a.misses - (cacheBefore.get(pid)?.misses ?? 0);
        }
        lab.cache = { hits, misses, hitRate: hits + misses > 0 ? Math.round((hits / (hits + misses)) * 1000) / 1000 : null };
      }
      if (upstreamBefore && services.upstreamStats) {
        const after = await services.upstreamStats();
        lab.upstream = { requests: after.requests - upstreamBefore.requests, peakInFlight: after.peakInFlight };
      }
    } catch (err) {
      notes.push(`lab counters not read: ${firstLine(err)}`);
    }
  }
  const bound = combo.steps.filter((x) => x.driverBound).map((x) => x.load);
  if (bound.length) notes.push(`driver-bound at ${bound.join(', ')}: the load generator, not the app, may have limited those steps`);
  if (brokeOff) combo.reason = [brokeOff, ...notes].join('; ');
  else if (s.exitedEarly) combo.reason = `${s.exitedEarly} during point ${point.point}`;
  else {
    combo.status = 'measured';
    if (notes.length) combo.reason = notes.join('; ');
    else delete combo.reason;
  }
  const bp = combo.breakpoint ? `breakpoint ${combo.breakpoint.load} users` : 'no breakpoint: the first load already failed';
  const extra = [lab.responseBytes !== null ? `${lab.responseBytes} bytes` : '', lab.cache ? `hit rate ${lab.cache.hitRate ?? '-'}` : '', lab.upstream ? `upstream ${lab.upstream.requests} calls, peak ${lab.upstream.peakInFlight} in flight` : ''].filter(Boolean);
  progress.note(`=> ${point.point}: ${combo.status === 'measured' ? bp : `FAILED: ${combo.reason}`}${extra.length ? `; ${extra.join('; ')}` : ''}`);
  return combo;
}

/** A point that did not run (its group's app failed to start or verify, or crashed before it). */
function failedPoint(group: LabGroupRun, ctx: LabContext, p: LabPointPlan, status: Combo['status'], reason: string): Combo {
  const c = ctx.config;
  return {
    app: group.app.name,
    store: group.store,
    conn: group.conn,
    poolSize: group.conn === 'pool' ? c.poolSize : null,
    runtime: group.runtime.version,
    repeat: group.repeat,
    status,
    reason,
    breakpoint: null,
    steps: [],
    appUsage: null,
    cost: null,
    integrity: null,
    lab: { lab: c.lab.definition.name, point: p.point, params: p.params, requests: [], responseBytes: null, cache: null, upstream: null },
  };
}

/**
 * One app process of a lab: fresh seeded database, the app started with its lab settings and healthy, the contract
 * suite (lab routes must not change the contract), database reset, then each point at every load, the app still
 * healthy, the data audited (orders placed by the cache lab included). Every point becomes a combination of
 * results.json; a crash fails the point it happened in and the rest of the group.
 */
export async function runLabGroup(group: LabGroupRun, index: number, total: number, ctx: LabContext & { logDir: string }): Promise<Combo[]> {
  let services: LabServices;
  try {
    services = await ctx.services(group);
  } catch (err) {
    services = { env: {}, upstreamStats: null };
    const reason = `${group.plan.services.join(' and ')} did not start: ${firstLine(err)}`;
    return group.plan.points.map((p) => failedPoint(group, ctx, p, 'failed', reason));
  }
  const run = { ...group, env: { ...group.env, ...services.env } };
  const s = new ComboRunState(run, ctx, join(ctx.logDir, `${slug(run, index)}${group.plan.label ? `-${group.plan.label.replace(/[^\w.-]+/g, '_')}` : ''}.log`));
  ctx.progress.comboStart(index, total, `${comboLabel(s.combo)}${group.plan.label ? ` [${group.plan.label}]` : ''}`);
  const done: Combo[] = [];
  const failRest = (status: Combo['status'], reason: string) => {
    for (const p of group.plan.points.slice(done.length)) done.push(failedPoint(group, ctx, p, status, reason));
  };
  try {
    s.checkInterrupted();
    await resetPhase(s, ctx.databaseUrl, '');
    const app = await startPhase(s);
    await verifyPhase(s, app);
    await resetPhase(s, withLockTimeout(ctx.databaseUrl), 'after verification ');
    startSamplers(s, app);
    for (const point of group.plan.points) {
      s.checkInterrupted();
      if (s.exitedEarly) break;
      done.push(await runPoint(s, app, point, ctx, services, done.length === 0));
    }
    const health = await checkPhase(s, app);
    for (const c of done) {
      c.integrity = s.combo.integrity;
      const extra = [health, ...s.notes].filter(Boolean).join('; ');
      if (extra) c.reason = c.reason ? `${c.reason}; ${extra}` : extra;
      if (health && c.status === 'measured') c.status = 'failed';
    }
    if (s.exitedEarly) failRest('failed', `${s.exitedEarly}: ${firstLine(new Error(s.app?.output() ?? ''))}`);
  } catch (err) {
    if (err instanceof ComboEnd) failRest(err.status, err.message);
    else failRest('failed', `unexpected error: ${firstLine(err)}`);
  } finally {
    s.stopping = true;
    s.appSampler?.stop();
    if (s.app) await withTimeout(s.app.stop(LIMITS.stopGraceMs), LIMITS.stopGraceMs + 5_000, 'app did not stop').catch(() => undefined);
    finishInstances(s, done);
  }
  return done;
}

/** The whole lab: each group in order, results.json rewritten after every group. */
export async function runLab(ctx: LabContext): Promise<BenchOutcome> {
  const { config, progress } = ctx;
  const { results, logDir } = startResults(config, ctx.environment, { ...methodOf(config), lab: { name: config.lab.definition.name, options: config.lab.options, loads: config.lab.loads } });
  let resultsFile = writeResults(config.outDir, results);
  const groups = config.lab.groups;
  for (let i = 0; i < groups.length; i++) {
    if (ctx.signal.aborted) break;
    results.combos.push(...(await runLabGroup(groups[i]!, i + 1, groups.length, { ...ctx, logDir })));
    results.finishedAt = new Date().toISOString();
    resultsFile = writeResults(config.outDir, results);
  }
  if (results.combos.length > 0) progress.line('\n' + summaryTable(results.combos.map((c) => ({ ...c, app: `${c.app} ${c.lab?.point ?? ''}` }))));
  return { results, resultsFile, interrupted: ctx.signal.aborted };
}
