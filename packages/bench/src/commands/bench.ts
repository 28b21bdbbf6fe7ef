import { describeUrl, onShutdown, resolveDatabase, type DatabaseHandle } from '@stackbench/db';
import { DRIVER_BOUND_LIMITS, k6Engine, nodeEngine, processReader, processTreeReader, UsageSampler, type LoadEngine, type UsageReader } from '@stackbench/loadtests';
import type { Combo, Envelope, Environment } from '@stackbench/report';
import { execFile } from 'node:child_process';
import { CliError } from '../cli-support.js';
import { checkConnections, treeRssMiB } from '../instances.js';
import pg from 'pg';
import { CgroupEnvelope, EnvelopeUnavailableError, type EnvelopeRequest } from '../envelope.js';
import { benchUsage, parseBenchArgs, type BenchConfig } from '../orchestrator/config.js';
import { pinProcess, planCpuLayout, type CpuLayout } from '../orchestrator/cpu-layout.js';
import { collectEnvironment } from '../orchestrator/environment.js';
import { Progress } from '../orchestrator/progress.js';
import { runBench, type BenchOutcome, type OrchestratorContext, type Resources } from '../orchestrator/run.js';
import { writeRunReport } from './report.js';
import { censusUnavailable } from '../orchestrator/sql-census.js';

/**
 * Exit codes: 0 every combination measured with audited, clean data; 2 some failed or unverified, found data
 * problems, or could not be audited; 130 Ctrl-C.
 */
export const EXIT = { ok: 0, userError: 1, someFailed: 2, interrupted: 130 } as const;

/** A combination counts as clean only when it was measured AND its data audit ran and passed. */
export function comboIsClean(c: Combo): boolean {
  return c.status === 'measured' && c.integrity !== null && c.integrity.ok;
}

export function exitCode(outcome: Pick<BenchOutcome, 'interrupted'> & { results: { combos: Combo[] } }): number {
  if (outcome.interrupted) return EXIT.interrupted;
  return outcome.results.combos.every(comboIsClean) ? EXIT.ok : EXIT.someFailed;
}

/** Applies the envelope, or says in one line why it cannot (never runs unconfined silently). */
export function createEnvelope(request: EnvelopeRequest | null): CgroupEnvelope | null {
  if (request === null) return null;
  try {
    return CgroupEnvelope.create(request);
  } catch (err) {
    if (err instanceof EnvelopeUnavailableError) {
      throw new CliError(`cannot apply the resource envelope: ${err.message}; run with --envelope none to measure unconfined (results will say so)`);
    }
    throw err;
  }
}

/** Puts PostgreSQL in its cgroup when it is ours to confine: the embedded server. Returns what results.json records. */
export function confineDatabase(envelope: CgroupEnvelope, db: DatabaseHandle): { applied: boolean; note?: string } {
  if (db.postmasterPid === null) return { applied: false, note: 'the database given by DATABASE_URL is not started by stackbench' };
  envelope.db.addProcessTree(db.postmasterPid);
  return { applied: true };
}

/** How the app and PostgreSQL are confined and read during the run. */
export function resourcesFor(envelope: CgroupEnvelope | null, db: DatabaseHandle, layout: CpuLayout, sqlCensus: string | null, budget: 'shared' | 'each' = 'each'): Resources {
  let dbReader = null;
  if (envelope && db.postmasterPid !== null) dbReader = envelope.db.reader(false);
  else if (db.postmasterPid !== null) dbReader = processTreeReader(db.postmasterPid);
  const dbSampler = dbReader ? new UsageSampler(dbReader) : null;
  let appBudgets = 1;
  return {
    appCgroupProcs: envelope?.app.procsFiles() ?? [],
    // CPU: under the envelope the app's cgroup (exactly the app and its workers, exited ones included), otherwise its
    // process tree. Memory: the processes' resident set from /proc either way (a cgroup counts only the pages charged
    // to it, not the shared ones a process maps, so its figure would not compare with an unconfined run).
    appReader: (pids, children) => withRss(envelope ? envelope.app.reader(false) : sumOfTrees(pids), pids, children),
    appInstances: (count) => {
      if (!envelope) return;
      const n = budget === 'each' ? count : 1;
      appBudgets = n;
      const r = envelope.request;
      envelope.app.setLimits(r.appCpus === null ? null : r.appCpus * n, r.appMemoryMiB === null ? null : r.appMemoryMiB * n);
    },
    generatorShareCores: () => {
      // Only where the database is confined (the embedded one), and only when the quotas leave something.
      const share = db.postmasterPid === null ? null : envelopeShareCores(envelope?.request ?? null, layout.allowed.length, appBudgets);
      return share !== null && share >= DRIVER_BOUND_LIMITS.minCapacityCores ? share : null;
    },
    db: dbSampler?.available ? dbSampler.start() : null,
    machineCores: layout.allowed.length,
    sqlCensus,
  };
}

/**
 * CPU (and throttling) of one reader with the resident memory of the app's processes, and of their children when
 * they serve too (cluster workers). One plain process reads its own /proc entry: a /proc scan four times a second
 * would be the load generator's CPU.
 */
function withRss(cpu: UsageReader, pids: number[], children: boolean): UsageReader {
  const own = pids.map(processReader);
  return () => {
    const c = cpu();
    const rss = children ? treeRssMiB(pids) : own.reduce<number | null>((n, r) => (n === null ? null : ((x) => (x?.rssMiB == null ? null : n + x.rssMiB))(r())), 0);
    return c && rss !== null ? { ...c, rssMiB: rss } : null;
  };
}

/** CPU of several process trees (the instances behind nginx). */
function sumOfTrees(pids: number[]): UsageReader {
  const readers = pids.map(processTreeReader);
  return () => {
    const all = readers.map((r) => r());
    if (all.some((x) => x === null)) return null;
    return { cpuSeconds: all.reduce((n, x) => n + x!.cpuSeconds, 0), rssMiB: null };
  };
}

/** Scale-out: every instance's pool together must fit PostgreSQL's max_connections (one line, exit 1 otherwise). */
async function checkMaxConnections(config: BenchConfig, databaseUrl: string): Promise<void> {
  const widest = Math.max(0, ...config.runs.filter((r) => r.conn === 'pool').map((r) => r.scale?.count ?? 1));
  if (widest <= 1) return;
  const client = new pg.Client({ connectionString: databaseUrl });
  let max: number;
  let reserved: number;
  try {
    await client.connect();
    max = Number((await client.query('SHOW max_connections')).rows[0].max_connections);
    reserved = Number((await client.query('SHOW superuser_reserved_connections')).rows[0].superuser_reserved_connections);
  } finally {
    await client.end().catch(() => undefined);
  }
  const problem = checkConnections(config.poolSize, widest, max, reserved);
  if (problem) throw new CliError(problem);
}

function engineFor(config: BenchConfig, layout: CpuLayout): LoadEngine {
  if (config.engine.name === 'node') return nodeEngine;
  return k6Engine({
    binary: config.engine.k6!.binary,
    script: config.engine.k6!.script,
    profile: config.profile.name,
    threshold: config.threshold,
    cpus: layout.mode === 'pinned' ? 1 : layout.allowed.length,
    goMaxProcs: envelopeGeneratorCpus(config, layout),
  });
}

/**
 * The CPUs the envelope leaves the load generator (machine − app and PostgreSQL quotas, at least 1), or undefined
 * without quotas. Scale-out with a budget per instance counts every instance's budget.
 */
export function envelopeGeneratorCpus(config: Pick<BenchConfig, 'envelope' | 'scaleOut'>, layout: Pick<CpuLayout, 'allowed'>): number | undefined {
  const budgets = config.scaleOut?.budget === 'each' ? Math.max(...config.scaleOut.counts) : 1;
  const share = envelopeShareCores(config.envelope, layout.allowed.length, budgets);
  return share === null ? undefined : Math.max(1, Math.ceil(share - 1e-9));
}

/** Cores the envelope leaves the load generator: the machine's minus the app's budgets and PostgreSQL's quota; null without both quotas. */
export function envelopeShareCores(request: EnvelopeRequest | null, cores: number, appBudgets: number): number | null {
  if (!request || request.appCpus === null || request.dbCpus === null) return null;
  return Math.round((cores - request.appCpus * appBudgets - request.dbCpus) * 100) / 100;
}

async function k6Version(binary: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(binary, ['version'], { timeout: 10_000 }, (err, stdout) => {
      const m = /v?(\d+\.\d+\.\d+\S*)/.exec(String(stdout));
      resolve(err || !m ? 'unknown' : m[1]!);
    });
  });
}

/**
 * `stackbench bench`: every flag is checked first (one line and exit 1 on a bad one, nothing started); then the
 * envelope's cgroups, the database (DATABASE_URL or the embedded one, confined), then each combination in order (see
 * orchestrator/run.ts), with results.json rewritten after each one and the report generated at the end. Ctrl-C stops
 * the current step, the app and the embedded database, removes the cgroups, and still writes what was measured.
 */
export async function run(args: string[]): Promise<number> {
  const config = await parseBenchArgs(args);
  if (config === 'help') {
    console.log(benchUsage());
    return 0;
  }
  return runConfigured(config);
}

/** What runs once the envelope, the database and the environment are ready: `bench`'s loop, or a lab's. */
export type Runner<C extends BenchConfig> = (ctx: Omit<OrchestratorContext, 'logDir' | 'config'> & { config: C; environment: Environment }) => Promise<BenchOutcome>;

/** The run of an already parsed configuration (labs and presets build their own). */
export async function runConfigured<C extends BenchConfig>(config: C, runner: Runner<C> = runBench as Runner<C>, title = 'stackbench bench'): Promise<number> {
  const layout = planCpuLayout(config.cpuLayout);
  if (config.cpuLayout === 'pinned' && layout.mode !== 'pinned') throw new CliError(`--cpu-layout pinned: ${layout.note}`);
  const engine = engineFor(config, layout);

  // Ctrl-C / SIGTERM. Our listener goes first (prepended): it aborts the run before the shared shutdown handler
  // (@stackbench/db) starts stopping what was registered, newest first: the app, our cleanup below (which waits,
  // bounded, for the run to stop and write results.json), the cgroups, then the embedded database.
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    process.stdout.write('\ninterrupted: stopping the app and writing what was measured ...\n');
  };
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  const unlisten = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  let running: Promise<unknown> = Promise.resolve();

  // The envelope first: a machine without cgroups fails in one line before a database is started. Its removal is
  // registered at once, so Ctrl-C while the database starts removes it too (handlers run newest first: the
  // database, started later, stops before the cgroups go).
  let envelope: CgroupEnvelope | null;
  try {
    envelope = createEnvelope(config.envelope);
  } catch (err) {
    unlisten();
    throw err;
  }
  const cleanups: Array<() => void> = [];
  if (envelope) cleanups.push(onShutdown(async () => envelope!.remove()));
  let db: DatabaseHandle;
  try {
    db = await resolveDatabase();
  } catch (err) {
    unlisten();
    for (const c of cleanups) c();
    envelope?.remove();
    throw new CliError((err as Error).message.split('\n')[0]!);
  }
  cleanups.push(
    onShutdown(async () => {
      controller.abort();
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
    }),
  );

  const progress = new Progress(process.stdout);
  let outcome: BenchOutcome | undefined;
  try {
    let envelopeRecord: Envelope = { mechanism: 'none', periodUs: null, app: { cpus: null, memoryMiB: null, applied: false }, db: { cpus: null, memoryMiB: null, applied: false }, note: 'run with --envelope none' };
    if (envelope) envelopeRecord = envelope.describe(confineDatabase(envelope, db), config.scaleOut?.budget);
    // Pin the generator (this process) after the embedded database started, so PostgreSQL keeps every CPU.
    if (layout.mode === 'pinned' && layout.driverCpu !== null && !(await pinProcess(process.pid, layout.driverCpu))) {
      progress.line(`warning: could not pin the load generator to cpu ${layout.driverCpu}`);
    }
    await checkMaxConnections(config, db.url);
    const censusMissing = await censusUnavailable(db.url);
    if (censusMissing) progress.line(censusMissing);
    const resources = resourcesFor(envelope, db, layout, censusMissing, config.scaleOut?.budget);
    const environment = await collectEnvironment({
      databaseUrl: db.url,
      cpuLayout: `${layout.description}${layout.note ? ` (${layout.note})` : ''}`,
      envelope: envelopeRecord,
      extraPackages: config.engine.name === 'k6' ? { k6: await k6Version(config.engine.k6!.binary) } : {},
    });
    const n = config.runs.length;
    const c = config.combinations.length;
    progress.line(
      `${title}: ${n} run${n === 1 ? '' : 's'} (${c} combination${c === 1 ? '' : 's'} x ${config.runtimes.length} runtime${config.runtimes.length === 1 ? '' : 's'} x ${config.repeats} repeat${config.repeats === 1 ? '' : 's'}), ${config.model} model, profile ${config.profile.name}${config.preset ? ` (preset ${config.preset})` : ''}, threshold ${config.threshold.text} and errors ${config.threshold.errorRate.op} ${config.threshold.errorRate.limit * 100} %`,
    );
    progress.line(`engine: ${config.engine.note}; database: PostgreSQL ${environment.postgres} at ${describeUrl(db.url)} (${db.source})`);
    progress.line(`envelope: ${envelope ? `${envelope.summary()}${envelopeRecord.db.applied ? '' : `; PostgreSQL not confined: ${envelopeRecord.db.note}`}` : 'none (--envelope none): app, PostgreSQL and load generator share the machine'}`);
    progress.line(`machine: ${environment.cpuModel}, ${environment.cores} cores, ${environment.memoryGiB} GiB; Node ${environment.node}; cpu layout: ${layout.description}${layout.note ? ` (${layout.note})` : ''}`);
    progress.line(`results: ${config.outDir}`);
    running = runner({ config, engine, databaseUrl: db.url, layout, resources, progress, signal: controller.signal, environment });
    outcome = (await running) as BenchOutcome;
    resources.db?.stop();
  } finally {
    unlisten();
    for (const c of cleanups.reverse()) c();
    envelope?.remove();
    await db.stop();
  }

  progress.line(`\nresults: ${outcome.resultsFile}`);
  if (!outcome.interrupted) {
    const report = await writeRunReport(config.outDir).catch((err: Error) => `report not written: ${err.message.split('\n')[0]}`);
    progress.line(report);
  }
  const unaudited = outcome.results.combos.filter((c) => c.status === 'measured' && c.integrity === null);
  if (unaudited.length) progress.line(`${unaudited.length} measured combination${unaudited.length === 1 ? '' : 's'} could not be audited: exit code ${EXIT.someFailed}`);
  return exitCode(outcome);
}
