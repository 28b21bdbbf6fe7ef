import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { parseProcStat, parseVmRssMiB, ProcessSampler, readProcSample, sampleIndexAt } from '../src/orchestrator/proc-sampler.js';

/** CPU and RSS sampling from /proc, on real child processes (Linux only). No timing assertions. */

const linux = process.platform === 'linux';

function startChild(code: string): Promise<{ child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve({ child }));
    child.once('exit', (c) => reject(new Error(`child exited early (${c})`)));
  });
}

function waitForSamples(sampler: ProcessSampler, n: number): Promise<void> {
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
  it('reads utime + stime after the last parenthesis (command names may hold spaces and parentheses)', () => {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    const stat = '4242 (my (weird) app) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 100 1000000 2000';
    expect(parseProcStat(stat, 100)).toBe(3);
  });
  it('reads VmRSS in MiB, 0 when absent (zombie)', () => {
    expect(parseVmRssMiB('Name:\tnode\nVmHWM:\t  90000 kB\nVmRSS:\t   51200 kB\n')).toBe(50);
    expect(parseVmRssMiB('Name:\tnode\nState:\tZ (zombie)\n')).toBe(0);
  });
  it('returns null for a process that does not exist', () => {
    expect(readProcSample(2 ** 22 + 12345)).toBeNull();
  });
});

describe.runIf(linux)('ProcessSampler on a real child process', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  it('sees a busy process use CPU and a 128 MiB allocation in its RSS', async () => {
    // Touch 128 MiB (so it is resident), then spin.
    ({ child } = await startChild(`
      const keep = Buffer.alloc(128 * 1024 * 1024, 1);
      process.stdout.write('ready\\n');
      let x = 0;
      for (;;) { x += keep[x % keep.length]; }
    `));
    const sampler = new ProcessSampler(child.pid!, 50).start();
    expect(sampler.available).toBe(true);
    const from = sampler.mark();
    await waitForSamples(sampler, 8);
    const window = sampler.window(from)!;
    sampler.stop();
    expect(window.samples).toBeGreaterThanOrEqual(8);
    expect(window.cpuPct).toBeGreaterThan(0);
    expect(window.peakRssMiB).toBeGreaterThan(128);
    expect(window.avgRssMiB).toBeGreaterThan(128);
    expect(window.avgRssMiB).toBeLessThanOrEqual(window.peakRssMiB);
  });

  it('sees an idle process use (almost) no CPU, and stops sampling once it exits', async () => {
    ({ child } = await startChild(`process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`));
    const sampler = new ProcessSampler(child.pid!, 50).start();
    const from = sampler.mark();
    await waitForSamples(sampler, 6);
    const idle = sampler.window(from)!;
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

  it('windows by time: sampleIndexAt finds the first sample at or after a time', () => {
    const samples = [10, 20, 30].map((t) => ({ t, cpuSeconds: 0, rssMiB: 1 }));
    expect(sampleIndexAt(samples, 0)).toBe(0);
    expect(sampleIndexAt(samples, 15)).toBe(1);
    expect(sampleIndexAt(samples, 30)).toBe(2);
    expect(sampleIndexAt(samples, 99)).toBe(2);
  });
});
