import { describeUrl, onShutdown, resolveDatabase, type DatabaseHandle } from '@stackbench/db';
import { CliError } from '../cli-support.js';
import { BENCH_USAGE, parseBenchArgs } from '../orchestrator/config.js';
import { pinProcess, planCpuLayout } from '../orchestrator/cpu-layout.js';
import { collectEnvironment } from '../orchestrator/environment.js';
import { k6StepRunner } from '../orchestrator/k6.js';
import { Progress } from '../orchestrator/progress.js';
import { runBench, type BenchOutcome } from '../orchestrator/run.js';
import { nodeStepRunner, type StepRunner } from '../orchestrator/step-runner.js';
import { writeRunReport } from './report.js';

/** Exit codes: 0 every combination measured with clean data; 2 some failed/unverified/data problems; 130 Ctrl-C. */
export const EXIT = { ok: 0, userError: 1, someFailed: 2, interrupted: 130 } as const;

/**
 * `stackbench bench`: every flag is checked first (one line and exit 1 on a bad one, nothing started); then the
 * database (DATABASE_URL or the embedded one), then each combination in order (see orchestrator/run.ts), with
 * results.json rewritten after each one and the report generated at the end. Ctrl-C stops the current step, stops
 * the app and the embedded database, and still writes what was measured.
 */
export async function run(args: string[]): Promise<number> {
  const config = await parseBenchArgs(args);
  if (config === 'help') {
    console.log(BENCH_USAGE);
    return 0;
  }
  const layout = planCpuLayout(config.cpuLayout);
  if (config.cpuLayout === 'pinned' && layout.mode !== 'pinned') throw new CliError(`--cpu-layout pinned: ${layout.note}`);

  let runner: StepRunner;
  if (config.driver === 'k6') {
    runner = k6StepRunner({
      binary: config.k6!.binary,
      script: config.k6!.script,
      profile: config.profile.name,
      latencyThreshold: config.thresholdText,
      errorRate: config.threshold.errorRate,
      cpus: layout.mode === 'pinned' ? 1 : layout.allowed.length,
    });
  } else {
    try {
      runner = await nodeStepRunner();
    } catch (err) {
      throw new CliError(`the Node driver is not available: ${(err as Error).message.split('\n')[0]}`);
    }
  }

  // Ctrl-C / SIGTERM. Our listener goes first (prepended): it aborts the run before the shared shutdown handler
  // (@stackbench/db) starts stopping what was registered, newest first: the app, then our cleanup below (which waits,
  // bounded, for the run to stop and write results.json), then the embedded database.
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) return;
    controller.abort();
    process.stdout.write('\ninterrupted: stopping the app and writing what was measured ...\n');
  };
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  let running: Promise<unknown> = Promise.resolve();

  let db: DatabaseHandle;
  try {
    db = await resolveDatabase();
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw new CliError((err as Error).message.split('\n')[0]!);
  }
  const unregister = onShutdown(async () => {
    controller.abort();
    await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 10_000).unref())]);
  });

  const progress = new Progress(process.stdout);
  let outcome: BenchOutcome | undefined;
  try {
    // Pin the driver (this process) after the embedded database started, so PostgreSQL keeps every CPU.
    if (layout.mode === 'pinned' && layout.driverCpu !== null && !(await pinProcess(process.pid, layout.driverCpu))) {
      progress.line(`warning: could not pin the driver to cpu ${layout.driverCpu}`);
    }
    const environment = await collectEnvironment({
      databaseUrl: db.url,
      cpuLayout: `${layout.description}${layout.note ? ` (${layout.note})` : ''}`,
      extraPackages: config.driver === 'k6' ? { k6: await k6Version(config.k6!.binary) } : {},
    });
    const n = config.runs.length;
    progress.line(`stackbench bench: ${n} run${n === 1 ? '' : 's'} (${config.combinations.length} combination${config.combinations.length === 1 ? '' : 's'} x ${config.runtimes.length} runtime${config.runtimes.length === 1 ? '' : 's'} x ${config.repeats} repeat${config.repeats === 1 ? '' : 's'}), profile ${config.profile.name}, threshold ${config.thresholdText} and errors ${config.threshold.errorRate.op} ${config.threshold.errorRate.limit * 100} %`);
    progress.line(`driver: ${config.driverNote}; database: PostgreSQL ${environment.postgres.replace(/^PostgreSQL /, '')} at ${describeUrl(db.url)} (${db.source})`);
    progress.line(`machine: ${environment.cpuModel}, ${environment.cores} cores, ${environment.memoryGiB} GiB; Node ${environment.node}`);
    progress.line(`cpu layout: ${layout.description}${layout.note ? ` (${layout.note})` : ''}`);
    progress.line(`results: ${config.outDir}`);
    running = runBench({ config, runner, databaseUrl: db.url, layout, progress, signal: controller.signal, environment });
    outcome = (await running) as BenchOutcome;
  } finally {
    unregister();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.stop();
  }

  progress.line(`\nresults: ${outcome.resultsFile}`);
  if (!outcome.interrupted) {
    const report = await writeRunReport(config.outDir).catch((err: Error) => `report not written: ${err.message.split('\n')[0]}`);
    progress.line(report);
  }
  const combos = outcome.results.combos;
  const code = outcome.interrupted
    ? EXIT.interrupted
    : combos.every((c) => c.status === 'measured' && c.integrity?.ok !== false)
      ? EXIT.ok
      : EXIT.someFailed;
  return code;
}

async function k6Version(binary: string): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile(binary, ['version'], { timeout: 10_000 }, (err, stdout) => {
      const m = /v?(\d+\.\d+\.\d+\S*)/.exec(String(stdout));
      resolve(err || !m ? 'unknown' : m[1]!);
    });
  });
}
