import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@stackbench/test-support/cli';
import { CliError } from '../src/cli-support.js';
import { parseBenchArgs, parseCpus, parseMemoryMiB, type BenchConfig } from '../src/orchestrator/config.js';
import { defaultSelection } from '../src/registry.js';
import { planCpuLayout, parseCpuList } from '../src/orchestrator/cpu-layout.js';
import { maxRequests, requestTimeoutMs, stepBudgetMs, withLockTimeout } from '../src/orchestrator/run.js';

/**
 * Flag validation of `stackbench bench`: every mistake is one line and exit 1 before anything starts (no database,
 * no app, no output directory). Needs the apps built (root `npm test` builds first).
 */

let tmp: string;
let noK6: string;
let fakeK6: string;
let notExecutable: string;
// A port nothing listens on: if a bad flag ever reached the database, the error would be a connection error instead.
const DEAD_DATABASE_URL = 'postgres://nobody:nothing@127.0.0.1:1/none';

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'stackbench-bench-cli-'));
  noK6 = join(tmp, 'empty-bin');
  mkdirSync(noK6);
  fakeK6 = join(tmp, 'fake-bin');
  mkdirSync(fakeK6);
  writeFileSync(join(fakeK6, 'k6'), '#!/bin/sh\necho "k6 v1.4.0"\n');
  notExecutable = join(tmp, 'k6-not-executable');
  writeFileSync(notExecutable, '');
  chmodSync(join(fakeK6, 'k6'), 0o755);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function parse(args: string[], env: NodeJS.ProcessEnv = {}): Promise<BenchConfig> {
  const config = await parseBenchArgs(args, { PATH: noK6, INIT_CWD: tmp, ...env });
  if (config === 'help') throw new Error('help');
  return config;
}

async function parseError(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    await parse(args, env);
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    const message = (err as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error(`bench ${args.join(' ')} was accepted`);
}

const names = (c: BenchConfig) => c.runs.map((r) => `${r.app.name}+${r.store}+${r.conn}${c.repeats > 1 ? `#${r.repeat}` : ''}`);

describe('bench selection', () => {
  it('defaults to every app on pg+pool plus fastify on per-request, drizzle and typeorm: 8 runs in registry order', async () => {
    const config = await parse([]);
    expect(defaultSelection()).toHaveLength(8);
    expect(names(config)).toEqual([
      'node-http+pg+pool',
      'express+pg+pool',
      'fastify+pg+pool',
      'fastify+pg+per-request',
      'fastify+drizzle+pool',
      'fastify+typeorm+pool',
      'nest-express+pg+pool',
      'nest-fastify+pg+pool',
    ]);
    expect(config.profile.name).toBe('quick');
    expect(config.threshold.text).toBe('p95<100');
    expect(config.model).toBe('closed');
    expect(config.envelope).toEqual({ appCpus: 0.5, appMemoryMiB: 512, dbCpus: 1, dbMemoryMiB: 1024 });
    expect(config.threshold.errorRate).toEqual({ op: '<', limit: 0.01 });
    expect(config.poolSize).toBe(10);
    expect(config.thinkMs).toBe(0);
    expect(config.products).toBe(10_000);
    expect(config.repeats).toBe(1);
    expect(config.engine.name).toBe('node');
    expect(config.runtimes.map((r) => r.version)).toEqual([process.versions.node]);
    expect(config.outDir).toMatch(/results[/\\]runs[/\\]\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z/);
  });

  it('takes the product of the lists given, pg and pool filling in what is missing', async () => {
    expect(names(await parse(['--apps', 'fastify,node-http']))).toEqual(['node-http+pg+pool', 'fastify+pg+pool']);
    expect(names(await parse(['--apps', 'fastify', '--stores', 'all']))).toEqual(['fastify+pg+pool', 'fastify+drizzle+pool', 'fastify+drizzle-tuned+pool', 'fastify+typeorm+pool', 'fastify+typeorm-tuned+pool']);
    expect(await parse(['--conn', 'all']).then((c) => c.runs.length)).toBe(10);
    expect(await parse(['--apps', 'all', '--stores', 'all', '--conn', 'all']).then((c) => c.runs.length)).toBe(50);
  });

  it('runs repeats repeat-major (repeat 1 of everything first) and takes the full profile repeats by default', async () => {
    expect(names(await parse(['--apps', 'express,fastify', '--repeats', '2']))).toEqual([
      'express+pg+pool#1',
      'fastify+pg+pool#1',
      'express+pg+pool#2',
      'fastify+pg+pool#2',
    ]);
    expect((await parse(['--apps', 'fastify', '--profile', 'full'])).repeats).toBe(3);
  });

  it('reads the numbers, the threshold and the output directory (relative to where the command was typed)', async () => {
    const c = await parse(['--apps', 'fastify', '--pool-size', '20', '--think-ms', '5', '--products', '500', '--threshold', 'p99<250', '--max-error-rate', '0.5%', '--out', 'runs/x']);
    expect(c.poolSize).toBe(20);
    expect(c.thinkMs).toBe(5);
    expect(c.products).toBe(500);
    expect(c.threshold.text).toBe('p99<250');
    expect(c.threshold.errorRate.limit).toBeCloseTo(0.005);
    expect(c.outDir).toBe(join(tmp, 'runs', 'x'));
    expect(c.command).toBe("stackbench bench --apps fastify --pool-size 20 --think-ms 5 --products 500 --threshold 'p99<250' --max-error-rate 0.5% --out runs/x");
  });

  it('keeps the embedded driver by default even with k6 installed; k6 only when asked (K6_BIN first, then PATH)', async () => {
    expect((await parse(['--apps', 'fastify'], { PATH: fakeK6 })).engine.name).toBe('node');
    const c = await parse(['--apps', 'fastify', '--engine', 'k6'], { PATH: fakeK6 });
    expect(c.engine.name).toBe('k6');
    expect(c.engine.k6!.binary).toBe(join(fakeK6, 'k6'));
    expect(c.engine.k6!.script).toMatch(/loadtests[/\\]dist[/\\]k6[/\\]stepped\.js$/);
    expect((await parse(['--apps', 'fastify', '--engine', 'k6'], { PATH: noK6, K6_BIN: join(fakeK6, 'k6') })).engine.k6!.binary).toBe(join(fakeK6, 'k6'));
    expect((await parse(['--apps', 'fastify', '--engine', 'auto'], { PATH: fakeK6 })).engine.name).toBe('k6');
    expect((await parse(['--apps', 'fastify', '--engine', 'auto'])).engine.name).toBe('node');
    // --driver is the old name of --engine.
    expect((await parse(['--apps', 'fastify', '--driver', 'k6'], { PATH: fakeK6 })).engine.name).toBe('k6');
  });

  it('accepts every threshold the grammar accepts and records it structured', async () => {
    const avg = await parse(['--apps', 'fastify', '--threshold', 'avg<50']);
    expect(avg.threshold).toEqual({ text: 'avg<50', latency: [{ stat: 'avg', op: '<', limitMs: 50 }], errorRate: { op: '<', limit: 0.01 } });
    const two = await parse(['--apps', 'fastify', '--threshold', 'p95<100, p99<=0.25s']);
    expect(two.threshold.text).toBe('p95<100,p99<=250');
  });

  it('reads the load model and the envelope', async () => {
    const open = await parse(['--apps', 'fastify', '--model', 'open']);
    expect(open.model).toBe('open');
    const e = await parse(['--apps', 'fastify', '--app-cpus', '1', '--app-memory', '1G', '--db-cpus', 'max', '--db-memory', '768']);
    expect(e.envelope).toEqual({ appCpus: 1, appMemoryMiB: 1024, dbCpus: null, dbMemoryMiB: 768 });
    expect((await parse(['--apps', 'fastify', '--envelope', 'none'])).envelope).toBeNull();
    expect(parseCpus('0.25', 'app-cpus')).toBe(0.25);
    expect(parseMemoryMiB('1.5GiB', 'app-memory')).toBe(1536);
    expect(parseMemoryMiB('512MiB', 'app-memory')).toBe(512);
  });
});

describe('bench flag errors (one line, before anything starts)', () => {
  it.each([
    [['--apps', 'koa'], /^unknown app "koa" \(known: node-http, express, fastify, nest-express, nest-fastify\)$/],
    [['--apps', 'fastify,koa'], /unknown app "koa"/],
    [['--stores', 'prisma'], /unknown store "prisma"/],
    [['--conn', 'sometimes'], /unknown conn "sometimes"/],
    [['--apps', ''], /--apps needs at least one name/],
    [['--profile', 'huge'], /unknown profile "huge" \(known: smoke, quick, full\)/],
    [['--engine', 'wrk'], /unknown engine "wrk"/],
    [['--engine', 'k6'], /--engine k6: k6 not found/],
    [['--engine', 'k6', '--driver', 'node'], /--engine and --driver .* disagree/],
    [['--model', 'sometimes'], /unknown model "sometimes" \(known: closed, open\)/],
    [['--threshold', 'p95<fast'], /cannot parse latency threshold "p95<fast"/],
    [['--threshold', 'p42<10'], /unknown latency statistic "p42"/],
    [['--envelope', 'docker'], /unknown envelope "docker"/],
    [['--envelope', 'none', '--app-cpus', '1'], /--envelope none cannot be combined with --app-cpus/],
    [['--app-cpus', '0'], /--app-cpus must be a number of CPUs/],
    [['--app-cpus', '999'], /--app-cpus must be a number of CPUs/],
    [['--db-memory', '12K'], /--db-memory must be a size/],
    [['--max-error-rate', 'lots'], /cannot parse error-rate limit "lots"/],
    [['--pool-size', '0'], /--pool-size must be an integer from 1 to 1000, got "0"/],
    [['--think-ms', '-1'], /think-ms/],
    [['--products', '10'], /--products must be an integer from 105/],
    [['--repeats', 'x'], /--repeats must be an integer/],
    [['--cpu-layout', 'spread'], /unknown cpu layout "spread"/],
    [['--runtime', '99'], /runtime "99"/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
  ])('bench %j', async (args, message) => {
    expect(await parseError(args as string[])).toMatch(message as RegExp);
  });

  it('refuses a K6_BIN that is not an executable', async () => {
    expect(await parseError(['--apps', 'fastify', '--engine', 'k6'], { K6_BIN: notExecutable })).toMatch(/K6_BIN=.* is not an executable file/);
  });

  it('refuses an output directory that already holds results', async () => {
    const dir = join(tmp, 'used');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'results.json'), '{}');
    expect(await parseError(['--apps', 'fastify', '--out', dir])).toMatch(/already holds a results.json/);
  });

  it('as a command: exit 1, one line on stderr, nothing on stdout, no database contacted, no directory created', async () => {
    const out = join(tmp, 'never');
    for (const args of [
      ['bench', '--apps', 'koa', '--out', out],
      ['bench', '--apps', 'fastify', '--engine', 'k6', '--out', out],
      ['bench', '--stores', 'pg,mongo', '--out', out],
    ]) {
      const result = await runCli(args, { DATABASE_URL: DEAD_DATABASE_URL, PATH: noK6, K6_BIN: '' });
      expect(result.code, result.stderr).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^stackbench bench: /);
      expect(result.stderr).not.toMatch(/database|ECONNREFUSED/);
    }
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).not.toContain('never');
  });

  it('--help prints the flags and exits 0', async () => {
    const result = await runCli(['bench', '--help'], { DATABASE_URL: DEAD_DATABASE_URL });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--apps A,B\|all/);
    expect(result.stdout).toMatch(/--engine E/);
    expect(result.stdout).toMatch(/--app-cpus N/);
  });
});

describe('bounds and layout', () => {
  it('bounds every step in time and requests', async () => {
    const c = await parse(['--apps', 'fastify']);
    expect(requestTimeoutMs(c)).toBe(2000);
    expect(maxRequests(4, { stepSeconds: 4, warmupSeconds: 0.5, model: 'closed' })).toBe(91_000);
    // Open model: at most 8 requests per offered journey (4 requests each, with room for slow steps).
    expect(maxRequests(100, { stepSeconds: 4, warmupSeconds: 0.5, model: 'open' })).toBe(4_600);
    expect(stepBudgetMs({ stepSeconds: 4, warmupSeconds: 0.5 }, 2000)).toBe(21_500);
  });

  it('adds a lock timeout to the reset URL, keeping other options', () => {
    expect(new URL(withLockTimeout('postgres://u:p@127.0.0.1:5432/db')).searchParams.get('options')).toBe('-c lock_timeout=10000');
    expect(new URL(withLockTimeout('postgres://u:p@h/db?options=-c%20search_path%3Dx', 500)).searchParams.get('options')).toBe('-c search_path=x -c lock_timeout=500');
  });

  it('pins the app to the last CPU and the driver to the first from 4 CPUs (or when asked), and says what it did', () => {
    expect(parseCpuList('0-3,6,8-9')).toEqual([0, 1, 2, 3, 6, 8, 9]);
    const four = planCpuLayout('auto', { allowed: [0, 1, 2, 3], taskset: true });
    expect(four).toMatchObject({ mode: 'pinned', appCpu: 3, driverCpu: 0 });
    expect(four.description).toBe('app: cpu 3; driver: cpu 0 (taskset); PostgreSQL: unpinned (cpus 0-3), competing with both.');
    // 2 CPUs: auto shares (measured: pinning cost throughput, no smaller spread); pinned on request.
    const two = planCpuLayout('auto', { allowed: [0, 1], taskset: true });
    expect(two).toMatchObject({ mode: 'shared', appCpu: null, note: expect.stringMatching(/not pinned/) });
    expect(two.description).toBe('app, PostgreSQL and driver share cpus 0-1 (no pinning). With 2 cores, app, PostgreSQL and driver share one machine: figures are not those of separate hosts.');
    const forced = planCpuLayout('pinned', { allowed: [0, 1], taskset: true });
    expect(forced).toMatchObject({ mode: 'pinned', appCpu: 1, driverCpu: 0 });
    expect(forced.description).toMatch(/With 2 cores, app, PostgreSQL and driver share one machine/);
    expect(planCpuLayout('pinned', { allowed: [0, 1], taskset: false })).toMatchObject({ mode: 'shared', note: expect.stringMatching(/taskset/) });
    expect(planCpuLayout('pinned', { allowed: [0], taskset: true })).toMatchObject({ mode: 'shared', note: expect.stringMatching(/one CPU/) });
    expect(planCpuLayout('shared', { allowed: [0, 1, 2, 3], taskset: true })).toMatchObject({ mode: 'shared', description: 'app, PostgreSQL and driver share cpus 0-3 (no pinning).' });
  });
});

describe('presets', () => {
  it('article: think time, the article\'s user steps then onwards, avg<100, 30 s steps; given flags still win', async () => {
    const c = await parse(['--preset', 'article', '--apps', 'fastify']);
    expect(c.preset).toBe('article');
    expect(c.thinkMs).toBe(500);
    expect(c.threshold.text).toBe('avg<100');
    expect(c.profile.closed.steps).toEqual([40, 50, 60, 70, 80, 160, 320, 640, 1280, 2560, 5120]);
    expect(c.profile.stepSeconds).toBe(30);
    expect(c.profile.warmupSeconds).toBe(5);
    expect(c.envelope).toEqual({ appCpus: 0.5, appMemoryMiB: 512, dbCpus: 1, dbMemoryMiB: 1024 });
    const full = await parse(['--preset', 'article', '--apps', 'fastify', '--step-seconds', '300', '--threshold', 'p95<100']);
    expect(full.profile.stepSeconds).toBe(300);
    expect(full.threshold.text).toBe('p95<100');
    expect(full.thinkMs).toBe(500);
  });

  it('refuses an unknown preset in one line', async () => {
    expect(await parseError(['--preset', 'django'])).toBe('unknown preset "django" (known: article)');
  });
});
