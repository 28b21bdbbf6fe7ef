import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export type CpuLayoutMode = 'auto' | 'pinned' | 'shared';
/** `auto` pins from this many usable CPUs up. */
export const AUTO_PIN_MIN_CPUS = 4;
export const CPU_LAYOUT_MODES: readonly CpuLayoutMode[] = ['auto', 'pinned', 'shared'];

/**
 * Where the app, PostgreSQL and the load driver run.
 *
 * Decision (measured, see benchmarks/repeatability.ts and the orchestrator's report): `auto` pins only on machines
 * with 4+ usable CPUs and `taskset`: the app to the LAST allowed CPU, the driver (this process, and k6, which
 * inherits its affinity) to the FIRST, PostgreSQL unpinned (it is not always ours, and its backends should spread).
 * On 2 CPUs pinning cannot isolate anything — PostgreSQL still runs on the app's core — and on the development
 * machine it cost throughput without narrowing the spread (fastify+pg+pool, quick, 3 repeats each: peak rps
 * 3490/4371/4407 pinned vs 4204/5010/5293 shared; spread ~21 % vs ~22 % of the median), so there `auto` leaves
 * everything to the scheduler and says so. `pinned` forces pinning on 2+ CPUs; `shared` never pins.
 */
export interface CpuLayout {
  mode: 'pinned' | 'shared';
  /** CPUs this process may use, e.g. [0, 1]. */
  allowed: number[];
  appCpu: number | null;
  driverCpu: number | null;
  /** One sentence for results.json's environment.cpuLayout. */
  description: string;
  /** Why pinning was not used, when it was asked for or `auto` fell back. */
  note?: string;
}

/** Parses a cpu list such as "0-3,6,8-9". */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    if (!Number.isInteger(a)) continue;
    for (let i = a!; i <= (Number.isInteger(b) ? b! : a!); i++) out.push(i);
  }
  return out;
}

export function allowedCpus(): number[] {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return parseCpuList(m[1]!);
  } catch {
    /* not Linux */
  }
  return cpus().map((_, i) => i);
}

export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore', timeout: 2000 });
    return true;
  } catch {
    return false;
  }
}

function fmt(list: number[]): string {
  return list.length > 1 && list[list.length - 1]! - list[0]! === list.length - 1 ? `cpus ${list[0]}-${list[list.length - 1]}` : `cpus ${list.join(',')}`;
}

export function planCpuLayout(mode: CpuLayoutMode, probe = { allowed: allowedCpus(), taskset: hasTaskset() }): CpuLayout {
  const { allowed } = probe;
  const n = allowed.length;
  const small = n <= 2 ? ` With ${n} core${n === 1 ? '' : 's'}, app, PostgreSQL and driver share one machine: figures are not those of separate hosts.` : '';
  let note: string | undefined;
  const wantPinned = mode === 'pinned' || (mode === 'auto' && n >= AUTO_PIN_MIN_CPUS);
  if (wantPinned) {
    if (n >= 2 && probe.taskset) {
      const appCpu = allowed[n - 1]!;
      const driverCpu = allowed[0]!;
      const pgCpus = fmt(allowed);
      return {
        mode: 'pinned',
        allowed,
        appCpu,
        driverCpu,
        description: `app: cpu ${appCpu}; driver: cpu ${driverCpu} (taskset); PostgreSQL: unpinned (${pgCpus}), competing with both.${small}`,
      };
    }
    note = n < 2 ? 'only one CPU: nothing to pin' : '`taskset` not found: not pinned';
  } else if (mode === 'auto' && n >= 2) {
    note = `not pinned: with fewer than ${AUTO_PIN_MIN_CPUS} CPUs pinning cannot keep PostgreSQL off the app's core`;
  }
  return {
    mode: 'shared',
    allowed,
    appCpu: null,
    driverCpu: null,
    description: `app, PostgreSQL and driver share ${fmt(allowed)} (no pinning).${small}`,
    note,
  };
}

/** Pins every thread of a process to one CPU (`taskset -a -p -c`). Resolves false (never throws) on failure. */
export function pinProcess(pid: number, cpu: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { timeout: 5000 }, (err) => resolve(!err));
  });
}

/** The CPUs a process may run on now (for tests and diagnostics). */
export function processAffinity(pid: number): number[] | null {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? parseCpuList(m[1]!) : null;
  } catch {
    return null;
  }
}
