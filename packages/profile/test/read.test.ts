import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeProfile, flameGraphSvg, ProfileFormatError, readProfile, readProfileFile, type CpuProfileJson } from '../src/index.js';
import { selfTimes } from './samples.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stackbench-profile-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a snippet under node with `flags` and returns the one file it wrote into a fresh folder. */
async function writtenBy(flags: (out: string) => string[], code: string): Promise<string> {
  const out = await mkdtemp(join(dir, 'out-'));
  await run(process.execPath, [...flags(out), '-e', code], { cwd: out });
  const files = await readdir(out);
  if (files.length !== 1) throw new Error(`expected one file, got ${files.join(', ')}`);
  return join(out, files[0]!);
}

const WORK = 'let s = 0; for (let i = 0; i < 2e6; i++) s += Math.sqrt(i); console.log(s > 0);';

describe('readProfile', () => {
  it('reads the result of inspector Profiler.stop, wrapped or not', async () => {
    const session = new Session();
    session.connect();
    try {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
      let s = 0;
      for (let i = 0; i < 2e6; i++) s += Math.sqrt(i);
      expect(s).toBeGreaterThan(0);
      const stopped = await session.post('Profiler.stop');
      const wrapped = readProfile(stopped);
      const bare = readProfile(stopped.profile);
      expect(wrapped.totalUs).toBe(bare.totalUs);
      expect(wrapped.sampleCount).toBe(stopped.profile.samples!.length);
      expect(wrapped.window).toEqual({ startUs: stopped.profile.startTime, endUs: stopped.profile.endTime });
      const a = analyzeProfile(wrapped);
      expect(a.categories.reduce((sum, c) => sum + c.selfMs, 0)).toBeCloseTo(a.totalMs, 6);
      expect(flameGraphSvg(wrapped)).toMatch(/^<svg /);
    } finally {
      session.disconnect();
    }
  });

  it('reads a file node --cpu-prof wrote, as text, bytes or path', async () => {
    const file = await writtenBy((out) => ['--cpu-prof', `--cpu-prof-dir=${out}`], WORK);
    const text = await readFile(file, 'utf8');
    const fromText = readProfile(text);
    expect(readProfile(await readFile(file)).totalUs).toBe(fromText.totalUs);
    expect(readProfileFile(file).totalUs).toBe(fromText.totalUs);
    expect(fromText.sampleCount).toBe((JSON.parse(text) as { samples: number[] }).samples.length);
  });

  it('refuses anything else with a clear error', async () => {
    const heapProfile = await readFile(await writtenBy((out) => ['--heap-prof', `--heap-prof-dir=${out}`], WORK), 'utf8');
    const trace = await readFile(
      await writtenBy((out) => ['--trace-event-categories=v8', `--trace-event-file-pattern=${join(out, 'trace.json')}`], WORK),
      'utf8',
    );
    const packageJson = await readFile(new URL('../package.json', import.meta.url), 'utf8');
    const cases: Array<[string, unknown, RegExp]> = [
      ['a package.json', packageJson, /missing a non-empty `nodes` array/],
      ['a heap profile (node --heap-prof)', heapProfile, /heap profile/],
      ['a Chrome trace (node --trace-event-categories)', trace, /Chrome trace/],
      ['not JSON', '{"nodes": [', /not JSON/],
      ['an array', [], /Chrome trace/],
      ['a number', 42, /expected a JSON object, got number/],
    ];
    for (const [what, input, message] of cases) {
      let error: unknown;
      try {
        readProfile(input);
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(ProfileFormatError);
      expect((error as Error).message, what).toMatch(/^not a V8 CPU profile \(\.cpuprofile\): /);
      expect((error as Error).message, what).toMatch(message);
    }
  });

  it('orders samples V8 wrote out of order, so no duration is negative', async () => {
    const json = JSON.parse(await readFile(await writtenBy((out) => ['--cpu-prof', `--cpu-prof-dir=${out}`], WORK), 'utf8')) as CpuProfileJson;
    // Three consecutive samples on three different nodes, so a wrong order shows in their self times.
    const { samples, timeDeltas } = json;
    const i = samples.findIndex(
      (id, k) => k >= 1 && k + 2 < samples.length && new Set([samples[k - 1], id, samples[k + 1]]).size === 3 && timeDeltas[k + 2]! > 100,
    );
    expect(i).toBeGreaterThan(0);
    // Sample i moves 50 µs after sample i + 1, which keeps its time: the delta between them turns negative.
    timeDeltas[i] = timeDeltas[i]! + timeDeltas[i + 1]! + 50;
    timeDeltas[i + 1] = -50;
    const profile = readProfile(json);
    const expected = selfTimes(json);
    for (const n of profile.nodes) {
      expect(n.selfUs).toBeGreaterThanOrEqual(0);
      expect(n.selfUs).toBeCloseTo(expected.get(n.id) ?? 0, 6);
    }
  });

  it('refuses a profile whose parts do not fit together', async () => {
    const good = JSON.parse(await readFile(await writtenBy((out) => ['--cpu-prof', `--cpu-prof-dir=${out}`], WORK), 'utf8'));
    const broken = (change: (p: typeof good) => void) => {
      const copy = structuredClone(good);
      change(copy);
      return () => readProfile(copy);
    };
    expect(broken((p) => p.timeDeltas.pop())).toThrow(/`samples` \(\d+\) and `timeDeltas` \(\d+\) differ in length/);
    expect(broken((p) => (p.samples[0] = 1e9))).toThrow(/sample 0 refers to node 1000000000/);
    expect(broken((p) => (p.nodes[0].children = [...p.nodes[0].children, 1e9]))).toThrow(/lists child 1000000000/);
    expect(broken((p) => delete p.nodes[1].callFrame)).toThrow(/has no valid `callFrame`/);
    expect(broken((p) => (p.endTime = p.startTime - 1))).toThrow(/`endTime` is before `startTime`/);
    expect(broken((p) => delete p.samples)).toThrow(/missing `samples` and `timeDeltas`/);
  });
});
