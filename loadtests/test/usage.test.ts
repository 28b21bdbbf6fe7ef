import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { nowMs, parseProcStat, parseVmRssMiB, processReader, processTreeReader, UsageSampler, type UsageSample } from '../src/index.js';

/** CPU and memory readers from /proc, on real child processes (Linux only). No timing assertions. */

const linux = process.platform === 'linux';

/**
 * Starts `node -e code` as the leader of its own process group (so that the test can end it and everything it
 * forked, by that id) and resolves once it printed its first line.
 */
function startChild(code: string): Promise<{ child: ChildProcess; firstLine: string }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  started.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve({ child, firstLine: d.toString('utf8').trim() }));
    child.once('exit', (c) => reject(new Error(`child exited early (${c})`)));
  });
}

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

function waitForSamples(sampler: UsageSampler, n: number): Promise<void> {
  return new Promise((resolve) => {
    const start = sampler.samples.length;
    const timer = setInterval(() => {
      if (sampler.samples.length - start >= n) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
  });
}

describe('/proc parsing', () => {
  it('reads ppid, utime + stime and cutime + cstime after the last parenthesis (command names may hold spaces and parentheses)', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
    const stat = '4242 (my (weird) app) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 7 0 100 1000000 2000';
    expect(parseProcStat(stat, 100)).toEqual({ ppid: 1, cpuSeconds: 3, childrenCpuSeconds: 0.5 });
    expect(() => parseProcStat('garbage', 100)).toThrow(/format/);
  });

  it('reads VmRSS in MiB, 0 when absent (zombie)', () => {
    expect(parseVmRssMiB('Name:\tnode\nVmHWM:\t  90000 kB\nVmRSS:\t   51200 kB\n')).toBe(50);
    expect(parseVmRssMiB('Name:\tnode\nState:\tZ (zombie)\n')).toBe(0);
  });

  it('reads null for a process that does not exist', () => {
    expect(processReader(2 ** 22 + 12345)()).toBeNull();
    expect(processTreeReader(2 ** 22 + 12345)()).toBeNull();
    expect(new UsageSampler(processReader(2 ** 22 + 12345)).available).toBe(false);
  });
});

describe.runIf(linux)('readers on real child processes', () => {
  let child: ChildProcess | undefined;

  it('sees a busy process use CPU and a 128 MiB allocation in its RSS', async () => {
    // Touch 128 MiB (so it is resident), then spin.
    ({ child } = await startChild(`
      const keep = Buffer.alloc(128 * 1024 * 1024, 1);
      process.stdout.write('ready\\n');
      let x = 0;
      for (;;) { x += keep[x % keep.length]; }
    `));
    const sampler = new UsageSampler(processReader(child.pid!), 50).start();
    expect(sampler.available).toBe(true);
    const from = sampler.samples[sampler.samples.length - 1]!.t;
    await waitForSamples(sampler, 8);
    const to = sampler.sample()!.t;
    const window = sampler.window(from, to)!;
    sampler.stop();
    expect(window.samples).toBeGreaterThanOrEqual(8);
    expect(window.cpuSeconds).toBeGreaterThan(0);
    expect(window.cpuPct).toBeGreaterThan(0);
    expect(window.peakRssMiB).toBeGreaterThan(128);
    expect(window.throttledPct).toBeNull(); // a process has no cgroup quota figures
    expect(sampler.peakRssMiB()).toBeGreaterThan(128);
  });

  it('sees an idle process use (almost) no CPU, and stops sampling once it exits', async () => {
    ({ child } = await startChild(`process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`));
    const sampler = new UsageSampler(processReader(child.pid!), 50).start();
    const from = sampler.samples[0]!.t;
    await waitForSamples(sampler, 6);
    const idle = sampler.window(from, sampler.sample()!.t)!;
    // An idle event loop: far from a busy core (no timing involved: it simply does nothing).
    expect(idle.cpuPct).toBeLessThan(50);
    expect(idle.peakRssMiB).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((r) => child!.once('exit', r));
    const before = sampler.samples.length;
    expect(sampler.sample()).toBeNull();
    expect(sampler.samples.length).toBe(before);
    sampler.stop();
  });

  it('processTreeReader counts the CPU of a child that has already exited (how per-request PostgreSQL backends are counted)', async () => {
    // The root forks a child that burns >= 300 ms of CPU and exits; the root reaps it, reports, then idles.
    const burner = `const s = process.cpuUsage(); while (process.cpuUsage(s).user < 300000) {} process.exit(0);`;
    ({ child } = await startChild(`
      const { spawn } = require('node:child_process');
      const grandchild = spawn(process.execPath, ['-e', ${JSON.stringify(burner)}], { stdio: 'ignore' });
      grandchild.on('exit', (code) => {
        process.stdout.write(String(grandchild.pid) + ' ' + code + '\\n');
        setInterval(() => {}, 1000);
      });
    `));
    const tree = processTreeReader(child.pid!)()!;
    const own = processReader(child.pid!)()!;
    // The root itself did little: the burned CPU is in its reaped children's share, which only the tree reader adds.
    expect(tree.cpuSeconds - own.cpuSeconds).toBeGreaterThanOrEqual(0.25);
    expect(tree.rssMiB).toBeNull();
  });

  it('processTreeReader counts live descendants too', async () => {
    // Root -> middle -> spinner: only the spinner works, two generations below the root.
    const spinner = `process.stdout.write('spinning\\n'); for (;;) {}`;
    const middle = `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(spinner)}], { stdio: ['ignore', 'inherit', 'ignore'] }); setInterval(() => {}, 1000);`;
    ({ child } = await startChild(`
      require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(middle)}], { stdio: ['ignore', 'inherit', 'ignore'] });
      setInterval(() => {}, 1000);
    `));
    const tree = new UsageSampler(processTreeReader(child.pid!), 50).start();
    const root = new UsageSampler(processReader(child.pid!), 50).start();
    const from = Math.max(tree.samples[0]!.t, root.samples[0]!.t);
    await waitForSamples(tree, 10);
    const to = Math.min(tree.sample()!.t, root.sample()!.t);
    tree.stop();
    root.stop();
    const treeWindow = tree.window(from, to)!;
    const rootWindow = root.window(from, to)!;
    // Over the same window the idle root used (next to) nothing; the tree adds the spinning grandchild.
    expect(treeWindow.cpuSeconds).toBeGreaterThan(rootWindow.cpuSeconds);
    expect(treeWindow.peakRssMiB).toBeNull();
  });
});

describe('UsageSampler windows (samples on the wall clock)', () => {
  /** A sampler holding exactly these samples (its reader is never called again). */
  function samplerWith(samples: UsageSample[]): UsageSampler {
    const sampler = new UsageSampler(() => ({ cpuSeconds: 0, rssMiB: null }));
    sampler.samples.length = 0;
    sampler.samples.push(...samples);
    return sampler;
  }
  const s = (t: number, cpuSeconds: number, rssMiB: number | null = null, cgroup?: [number, number]): UsageSample => ({
    t,
    cpuSeconds,
    rssMiB,
    ...(cgroup ? { periods: cgroup[0], throttledPeriods: cgroup[1] } : {}),
  });

  it('interpolates cumulative CPU linearly between samples', () => {
    const sampler = samplerWith([s(1000, 1.0, 10), s(2000, 2.0, 30), s(3000, 2.5, 20)]);
    expect(sampler.cpuAt(1000)).toBe(1.0);
    expect(sampler.cpuAt(1500)).toBe(1.5);
    expect(sampler.cpuAt(2000)).toBe(2.0);
    expect(sampler.cpuAt(2500)).toBe(2.25);
    expect(sampler.cpuAt(3000)).toBe(2.5);
    expect(sampler.cpuAt(999)).toBeNull();
    expect(sampler.cpuAt(3001)).toBeNull();
    // 1.5 -> 2.25: 0.75 CPU seconds in 1 s = 75 % of one core; the peak RSS is that of the samples inside.
    expect(sampler.window(1500, 2500)).toEqual({ cpuPct: 75, cpuSeconds: 0.75, peakRssMiB: 30, throttledPct: null, samples: 1, seconds: 1 });
    // Two full cores: 200 %.
    expect(samplerWith([s(0, 0), s(1000, 2)]).window(0, 1000)!.cpuPct).toBe(200);
  });

  it('gives no window outside the samples or of no length', () => {
    const sampler = samplerWith([s(1000, 1), s(2000, 2)]);
    expect(sampler.window(500, 1500)).toBeNull();
    expect(sampler.window(1500, 2500)).toBeNull();
    expect(sampler.window(1500, 1500)).toBeNull();
    expect(samplerWith([]).window(0, 1)).toBeNull();
  });

  it('windowUpToExit reads up to the last sample when the process exited near the window end', () => {
    const sampler = samplerWith([s(1000, 0), s(2000, 1), s(2900, 1.9)]);
    // Covered to 2900 of [1000, 3000]: 95 % >= 80 %, read over [1000, 2900].
    expect(sampler.windowUpToExit(1000, 3000)).toMatchObject({ cpuSeconds: 1.9, seconds: 1.9, cpuPct: 100 });
    // Covered 1900 of 3000 ms: too little, nothing.
    expect(sampler.windowUpToExit(1000, 4000)).toBeNull();
    expect(sampler.windowUpToExit(1000, 4000, 0.5)).toMatchObject({ seconds: 1.9 });
    // The samples cover the window: the plain window.
    expect(sampler.windowUpToExit(1000, 2000)).toEqual(sampler.window(1000, 2000));
    expect(samplerWith([]).windowUpToExit(0, 1)).toBeNull();
  });

  it('reads the throttled share of cgroup CPU periods between the samples around the window', () => {
    const sampler = samplerWith([s(1000, 0, 5, [0, 0]), s(2000, 1, 5, [100, 10]), s(3000, 2, 5, [200, 50])]);
    expect(sampler.window(1000, 3000)!.throttledPct).toBe(25);
    expect(sampler.window(2000, 3000)!.throttledPct).toBe(40);
    expect(samplerWith([s(1000, 0, 5, [7, 0]), s(2000, 1, 5, [7, 0])]).window(1000, 2000)!.throttledPct).toBe(0);
  });

  it('samples on its own clock and keeps the peak RSS', () => {
    let rss = 10;
    const sampler = new UsageSampler(() => ({ cpuSeconds: 0, rssMiB: (rss += 10) }));
    const before = nowMs();
    const taken = sampler.sample()!;
    expect(taken.t).toBeGreaterThanOrEqual(before);
    expect(taken.t).toBeLessThanOrEqual(nowMs());
    expect(sampler.samples).toHaveLength(2);
    expect(sampler.peakRssMiB()).toBe(30);
  });
});
