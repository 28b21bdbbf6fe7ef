import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU and memory of another process, read from Linux's /proc (no dependency, no agent in the app):
 * `/proc/<pid>/stat` fields 14 and 15 (utime + stime, in clock ticks) and `/proc/<pid>/status` VmRSS (kB).
 * CPU % is in percent of ONE core (a process using two full cores reports 200), as results.json expects.
 */
export interface ProcSample {
  /** performance.now() when read. */
  t: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
  /** Resident set size, MiB. */
  rssMiB: number;
}

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

/** Parses /proc/<pid>/stat: the command name is in parentheses and may hold spaces, so split after the last ')'. */
export function parseProcStat(text: string, ticksPerSecond = clockTicksPerSecond()): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc/<pid>/stat format');
  return (utime + stime) / ticksPerSecond;
}

/** VmRSS of /proc/<pid>/status, MiB (0 for a zombie, which has no VmRSS line). */
export function parseVmRssMiB(text: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) / 1024 : 0;
}

/** One reading, or null when the process is gone (or this is not Linux). */
export function readProcSample(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { t: performance.now(), cpuSeconds: parseProcStat(stat), rssMiB: parseVmRssMiB(status) };
  } catch {
    return null;
  }
}

export interface UsageWindow {
  /** Average CPU over the window, % of one core. */
  cpuPct: number;
  /** Highest RSS seen in the window, MiB. */
  peakRssMiB: number;
  /** Average RSS over the window's samples, MiB. */
  avgRssMiB: number;
  samples: number;
  seconds: number;
}

/**
 * Samples a process every `intervalMs` (default 250 ms) for as long as it runs. `mark()` returns a position in
 * the sample stream; `window(from, to)` summarizes the samples between two marks: CPU from the difference of the
 * cumulative CPU time (exact, whatever the sampling jitter), RSS as peak and average of the samples.
 */
export class ProcessSampler {
  readonly samples: ProcSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** False when /proc could not be read at start (not Linux, or the process already gone). */
  readonly available: boolean;

  constructor(
    readonly pid: number,
    readonly intervalMs = 250,
  ) {
    const first = readProcSample(pid);
    this.available = first !== null;
    if (first) this.samples.push(first);
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

  /** Takes a sample now (also used at step boundaries, so windows start and end exactly there). */
  sample(): ProcSample | null {
    const s = readProcSample(this.pid);
    if (s) this.samples.push(s);
    // Keep memory bounded on very long runs: ~2 h at 250 ms.
    if (this.samples.length > 30_000) this.samples.splice(0, this.samples.length - 30_000);
    return s;
  }

  /** A fresh sample and its position, to delimit a window. */
  mark(): number {
    this.sample();
    return this.samples.length - 1;
  }

  window(from: number, to = this.samples.length - 1): UsageWindow | null {
    const slice = this.samples.slice(Math.max(0, from), to + 1);
    if (slice.length < 2) return null;
    const first = slice[0]!;
    const last = slice[slice.length - 1]!;
    const seconds = (last.t - first.t) / 1000;
    if (seconds <= 0) return null;
    const rss = slice.map((s) => s.rssMiB);
    return {
      cpuPct: ((last.cpuSeconds - first.cpuSeconds) / seconds) * 100,
      peakRssMiB: Math.max(...rss),
      avgRssMiB: rss.reduce((a, b) => a + b, 0) / rss.length,
      samples: slice.length,
      seconds,
    };
  }
}

/** Index of the first sample taken at or after `t` (performance.now() time), or the last index. */
export function sampleIndexAt(samples: readonly ProcSample[], t: number): number {
  for (let i = 0; i < samples.length; i++) if (samples[i]!.t >= t) return i;
  return Math.max(0, samples.length - 1);
}
