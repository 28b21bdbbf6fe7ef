import { validateResults, type Results } from '@stackbench/report';
import { readProfileFile } from '@stackbench/profile';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@stackbench/test-support/cli';
import { chromiumLaunch, HEADLESS_ARGS } from '@stackbench/test-support/chromium';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { describeWithPart, probePart } from '@stackbench/test-support/optional';

/**
 * `bench --cpu-prof`: one extra step with the app's own V8 profiler on, for that step only; the .cpuprofile, a flame
 * graph and where the CPU went, per combination. Real app, real load, real profile.
 */

const ENVELOPE_ARGS = probePart('cgroups').available ? [] : ['--envelope', 'none'];

describe('stackbench bench --cpu-prof', () => {
  let db: TestDatabase;
  let tmp: string;
  let out: string;
  let results: Results;
  let stdout = '';
  beforeAll(async () => {
    db = await createTestDatabase('bench_profile');
    tmp = mkdtempSync(join(tmpdir(), 'stackbench-profile-'));
    out = join(tmp, 'run');
    const run = await runCli(['bench', '--profile', 'quick', '--apps', 'fastify', '--steps', '2,4', '--cpu-prof-load', '4', ...ENVELOPE_ARGS, '--out', out], { DATABASE_URL: db.url }, 240_000);
    stdout = run.stdout + run.stderr;
    expect(run.code, stdout).toBe(0);
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  }, 300_000);
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('profiles one extra step at the chosen load, inside its measured window, leaving the planned steps alone', () => {
    expect(validateResults(results)).toEqual([]);
    const [combo] = results.combos;
    const profile = combo!.profile!;
    expect(profile.load).toBe(4);
    // The planned steps are the plan's (2 and 4 users, passing): the extra step is not one of them.
    expect(combo!.steps.map((s) => s.load)).toEqual([2, 4]);
    expect(profile.unprofiledRps).toBe(combo!.steps[1]!.rps);
    expect(profile.step.requests).toBeGreaterThan(0);
    // On the wall clock: the profiler ran only inside the step's measured window.
    expect(profile.profileWindow.startMs).toBeGreaterThanOrEqual(profile.stepWindow.startMs);
    expect(profile.profileWindow.stopMs).toBeLessThanOrEqual(profile.stepWindow.endMs);
    expect(profile.profileWindow.stopMs - profile.profileWindow.startMs).toBeGreaterThan(0.5 * (profile.stepWindow.endMs - profile.stepWindow.startMs));
  });

  it('writes a .cpuprofile that parses, and groups the app\'s CPU by where the code lives', () => {
    const profile = results.combos[0]!.profile!;
    const parsed = readProfileFile(join(out, profile.file));
    expect(parsed.sampleCount).toBe(profile.summary.sampleCount);
    const framework = profile.summary.categories.find((c) => c.category === 'framework')!;
    expect(framework.ms).toBeGreaterThan(0);
    expect(framework.topFunctions.some((f) => f.package === 'fastify' || f.package === 'find-my-way' || f.package === 'fast-json-stringify')).toBe(true);
    expect(profile.summary.owners.find((o) => o.owner === 'Fastify')!.percent).toBeGreaterThan(0);
    expect(profile.summary.owners.find((o) => o.owner === 'node-postgres')!.percent).toBeGreaterThan(0);
    expect(stdout).toMatch(/profile: one extra step at 4 with the CPU profiler on/);
  });

  describeWithPart('chromium', 'the flame graph in a browser', (browser) => {
    it('renders with no console error and no network request', async () => {
      const svg = join(out, results.combos[0]!.profile!.flameGraph);
      expect(existsSync(svg)).toBe(true);
      const launch = await chromiumLaunch(browser);
      const profileDir = mkdtempSync(join(tmpdir(), 'stackbench-chromium-profile-'));
      const ctx = await chromium.launchPersistentContext(profileDir, {
        executablePath: launch.executablePath,
        ...(launch.env ? { env: { ...process.env, ...launch.env } as Record<string, string> } : {}),
        headless: true,
        args: HEADLESS_ARGS,
      });
      try {
        const errors: string[] = [];
        const requests: string[] = [];
        ctx.on('request', (r) => requests.push(r.url()));
        const page = ctx.pages()[0] ?? (await ctx.newPage());
        page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(pathToFileURL(svg).href, { waitUntil: 'load' });
        const frames = await page.evaluate(() => document.querySelectorAll('g.frame[data-category] rect').length);
        expect(frames).toBeGreaterThan(10);
        expect(errors).toEqual([]);
        expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);
      } finally {
        await ctx.close();
        rmSync(profileDir, { recursive: true, force: true });
      }
    });
  });

  it('bad input: an out-of-range load is one line before anything starts', async () => {
    const result = await runCli(['bench', '--apps', 'fastify', '--cpu-prof-load', '0'], { DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('stackbench bench: --cpu-prof-load must be an integer from 1 to 100000, got "0"');
  });
});
