/**
 * CPU profiles of one load step, with the runtime's own profiler (node:inspector, in the app's own process: no port,
 * no debugger attached). The orchestrator starts the app with STACKBENCH_CPU_PROF_DIR and sends SIGUSR2 when the step
 * starts and again when it ends; the second signal writes `<dir>/<pid>.cpuprofile` (opens as is in Chrome DevTools and
 * speedscope) and `<dir>/<pid>.meta.json` with the wall-clock start and stop, so a profile can be checked to cover
 * exactly its step. Nothing runs and nothing is sampled between the signals' absence: the other steps stay unprofiled.
 * SIGUSR1 is Node's own inspector signal, hence SIGUSR2.
 */
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Session } from 'node:inspector';

/**
 * Sampling interval of the profiler, µs: V8's default. (500 µs cost the profiled step about a quarter of its
 * throughput here, on an app held to half a CPU; at 1 ms the frameworks' frames are still well sampled.)
 */
export const PROFILE_INTERVAL_US = 1000;

export interface ProfileMeta {
  pid: number;
  /** Epoch milliseconds when sampling started and stopped. */
  startedAtMs: number;
  stoppedAtMs: number;
  intervalUs: number;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T))));
}

/**
 * Installs the SIGUSR2 toggle when STACKBENCH_CPU_PROF_DIR is set. Prints `cpu profile started` / `cpu profile
 * written <file>` (the orchestrator waits for these lines), or `cpu profile failed: <reason>`.
 */
export function installProfilerToggle(dir: string | undefined = process.env.STACKBENCH_CPU_PROF_DIR): void {
  if (!dir) return;
  // The session is made ready now, so that a signal starts sampling at once (importing the inspector and enabling
  // the profiler on the signal took ~140 ms here: a profile must lie inside its step). Enabled, not started, the
  // profiler samples nothing.
  const ready = (async () => {
    const inspector = await import('node:inspector');
    const s = new inspector.Session();
    s.connect();
    await post(s, 'Profiler.enable');
    await post(s, 'Profiler.setSamplingInterval', { interval: PROFILE_INTERVAL_US });
    return s;
  })();
  ready.catch((err: unknown) => console.log(`cpu profile failed: ${(err as Error).message}`));
  let running = false;
  let startedAtMs = 0;
  let busy = false;
  process.on('SIGUSR2', () => {
    if (busy) return;
    busy = true;
    const toggle = running ? stop() : start();
    toggle.catch((err: unknown) => console.log(`cpu profile failed: ${(err as Error).message}`)).finally(() => (busy = false));
  });

  async function start(): Promise<void> {
    const s = await ready;
    await post(s, 'Profiler.start');
    running = true;
    startedAtMs = Date.now();
    console.log('cpu profile started');
  }

  async function stop(): Promise<void> {
    const s = await ready;
    running = false;
    const { profile } = await post<{ profile: unknown }>(s, 'Profiler.stop');
    const stoppedAtMs = Date.now();
    const file = join(dir!, `${process.pid}.cpuprofile`);
    const meta: ProfileMeta = { pid: process.pid, startedAtMs, stoppedAtMs, intervalUs: PROFILE_INTERVAL_US };
    // Written whole, then renamed: the orchestrator never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(profile));
    renameSync(`${file}.tmp`, file);
    writeFileSync(join(dir!, `${process.pid}.meta.json`), JSON.stringify(meta));
    console.log(`cpu profile written ${file}`);
  }
}
