/**
 * CPU and memory of something running beside the load — the app, PostgreSQL, k6 — sampled on the wall clock so that
 * usage can be read over exactly a step's measured window. Linux only (/proc, cgroup files); no agent in the app.
 *
 * One sampler, several readers: a process (`/proc/<pid>/stat` utime + stime, `/proc/<pid>/status` VmRSS), a process
 * tree (PostgreSQL: the postmaster's own and its reaped children's CPU plus every live backend's, so short-lived
 * per-request backends are not lost), or a cgroup (exact, whatever forks and exits inside it; see the bench's
 * envelope). CPU % is in percent of ONE core (two full cores = 200), as results.json expects.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { nowMs } from './engines/engine.js';

export interface UsageSample {
  /** Epoch milliseconds when read. */
  t: number;
  /** Cumulative CPU seconds. */
  cpuSeconds: number;
  /** Resident memory, MiB (null when the reader cannot tell). */
  rssMiB: number | null;
  /** Cgroups only: CFS periods elapsed and periods in which the CPU quota throttled the group (cumulative). */
  periods?: number;
  throttledPeriods?: number;
}

/** Reads the cumulative usage now, or null when the thing is gone. */
export type UsageReader = () => Omit<UsageSample, 't'> | null;

let clockTicks: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on every mainstream Linux). */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
      clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcStat {
  ppid: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
  /** cutime + cstime: CPU of children this process has waited for, seconds. */
  childrenCpuSeconds: number;
}

/** Parses /proc/<pid>/stat: the command name is in parentheses and may hold spaces, so split after the last ')'. */
export function parseProcStat(text: string, ticksPerSecond = clockTicksPerSecond()): ProcStat {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
  const field = (n: number) => Number(rest[n - 3]);
  const [ppid, utime, stime, cutime, cstime] = [field(4), field(14), field(15), field(16), field(17)];
  if (![ppid, utime, stime, cutime, cstime].every(Number.isFinite)) throw new Error('unexpected /proc/<pid>/stat format');
  return { ppid, cpuSeconds: (utime + stime) / ticksPerSecond, childrenCpuSeconds: (cutime + cstime) / ticksPerSecond };
}

/** VmRSS of /proc/<pid>/status, MiB (0 for a zombie, which has no VmRSS line). */
export function parseVmRssMiB(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) / 1024 : 0;
}

/** One process: its CPU and RSS. */
export function processReader(pid: number): UsageReader {
  return () => {
    try {
      const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      return { cpuSeconds: stat.cpuSeconds, rssMiB: parseVmRssMiB(readFileSync(`/proc/${pid}/status`, 'utf8')) };
    } catch {
      return null;
    }
  };
}

/**
 * A process and all its descendants (PostgreSQL's postmaster and backends): the root's own CPU, the CPU of children
 * it reaped (cutime + cstime: exited per-request backends), and every live descendant's. RSS is not summed (shared
 * buffers would be counted once per backend): null.
 */
export function processTreeReader(rootPid: number): UsageReader {
  return () => {
    let root: ProcStat;
    try {
      root = parseProcStat(readFileSync(`/proc/${rootPid}/stat`, 'utf8'));
    } catch {
      return null;
    }
    const children = new Map<number, number[]>();
    const cpu = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const s = parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8'));
        const pid = Number(entry);
        cpu.set(pid, s.cpuSeconds + s.childrenCpuSeconds);
        const list = children.get(s.ppid);
        if (list) list.push(pid);
        else children.set(s.ppid, [pid]);
      } catch {
        /* exited meanwhile */
      }
    }
    let total = root.cpuSeconds + root.childrenCpuSeconds;
    const stack = [...(children.get(rootPid) ?? [])];
    while (stack.length > 0) {
      const pid = stack.pop()!;
      total += cpu.get(pid) ?? 0;
      stack.push(...(children.get(pid) ?? []));
    }
    return { cpuSeconds: total, rssMiB: null };
  };
}

export interface UsageWindow {
  /** Average CPU over the window, % of one core. */
  cpuPct: number;
  /** CPU seconds used in the window. */
  cpuSeconds: number;
  /** Highest RSS seen in the window, MiB (null when the reader has none). */
  peakRssMiB: number | null;
  /** Share of CPU periods throttled by a cgroup quota in the window, % (null without a cgroup). */
  throttledPct: number | null;
  samples: number;
  seconds: number;
}

/**
 * Samples a reader every `intervalMs` (default 250 ms) until stopped. `window(fromMs, toMs)` gives the usage between
 * two wall-clock times: CPU from the cumulative counter, interpolated linearly at both ends (exact up to the
 * sampling interval), RSS as the peak of the samples inside. Call `sample()` at step boundaries for sharp ends.
 */
export class UsageSampler {
  readonly samples: UsageSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** False when the first read failed (not Linux, or the thing is already gone). */
  readonly available: boolean;

  constructor(
    private readonly read: UsageReader,
    readonly intervalMs = 250,
  ) {
    this.available = this.sample() !== null;
  }

  start(): this {
    if (!this.available || this.timer) return this;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes a sample now. */
  sample(): UsageSample | null {
    const r = this.read();
    if (!r) return null;
    const s = { t: nowMs(), ...r };
    this.samples.push(s);
    // Keep memory bounded on very long runs: ~2 h at 250 ms.
    if (this.samples.length > 30_000) this.samples.splice(0, this.samples.length - 30_000);
    return s;
  }

  /** Cumulative CPU seconds at time t, interpolated between the samples around it (null outside the samples). */
  cpuAt(t: number): number | null {
    const s = this.samples;
    if (s.length === 0 || t < s[0]!.t || t > s[s.length - 1]!.t) return null;
    let i = s.length - 1;
    while (i > 0 && s[i - 1]!.t > t) i--;
    const b = s[i]!;
    const a = i > 0 ? s[i - 1]! : b;
    if (b.t === a.t) return b.cpuSeconds;
    return a.cpuSeconds + ((b.cpuSeconds - a.cpuSeconds) * (t - a.t)) / (b.t - a.t);
  }

  window(fromMs: number, toMs: number): UsageWindow | null {
    const start = this.cpuAt(fromMs);
    const end = this.cpuAt(toMs);
    const seconds = (toMs - fromMs) / 1000;
    if (start === null || end === null || !(seconds > 0)) return null;
    const inside = this.samples.filter((s) => s.t >= fromMs && s.t <= toMs);
    const rss = inside.map((s) => s.rssMiB).filter((v): v is number => v !== null);
    const cpuSeconds = Math.max(0, end - start);
    return { cpuPct: (cpuSeconds / seconds) * 100, cpuSeconds, peakRssMiB: rss.length ? Math.max(...rss) : null, throttledPct: this.throttledPct(fromMs, toMs), samples: inside.length, seconds };
  }

  /** Throttled share of the CFS periods between the samples nearest the window's ends (cgroups only). */
  private throttledPct(fromMs: number, toMs: number): number | null {
    const around = this.samples.filter((s) => s.periods !== undefined);
    if (around.length < 2) return null;
    const first = [...around].reverse().find((s) => s.t <= fromMs) ?? around[0]!;
    const last = around.find((s) => s.t >= toMs) ?? around[around.length - 1]!;
    const periods = (last.periods ?? 0) - (first.periods ?? 0);
    return periods > 0 ? Math.min(100, (((last.throttledPeriods ?? 0) - (first.throttledPeriods ?? 0)) / periods) * 100) : 0;
  }

  /**
   * Like window(), for a process that may exit right at the window's end (k6 ends within ~100 ms of its last
   * request): when the last sample falls short of `toMs` but covers at least `minCover` of the window, the usage is
   * read over [fromMs, last sample] — the average of most of the window rather than nothing.
   */
  windowUpToExit(fromMs: number, toMs: number, minCover = 0.8): UsageWindow | null {
    const last = this.samples[this.samples.length - 1];
    if (!last || last.t >= toMs) return this.window(fromMs, toMs);
    return last.t - fromMs >= minCover * (toMs - fromMs) ? this.window(fromMs, last.t) : null;
  }

  /** Peak RSS over everything sampled so far. */
  peakRssMiB(): number | null {
    const rss = this.samples.map((s) => s.rssMiB).filter((v): v is number => v !== null);
    return rss.length ? Math.max(...rss) : null;
  }
}
