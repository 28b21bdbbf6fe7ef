import { validateResults, type Combo, type Results } from '@stackbench/report';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { runCli } from '@stackbench/test-support/cli';
import { describeWithPart, probePart } from '@stackbench/test-support/optional';
import { checkLabServices } from '../src/commands/lab.js';
import { parseLabArgs } from '../src/labs/config.js';

/**
 * `stackbench lab <name>` end to end at smoke size: the compiled CLI, a real app with its lab routes, real load,
 * PostgreSQL of the test run, Redis where the cache lab needs it. Figures are not asserted (speed goals belong in
 * benchmarks): what is checked is that every point ran every load against the right route, with what each lab
 * records beside the steps.
 */
const ENVELOPE_ARGS = probePart('cgroups').available ? [] : ['--envelope', 'none'];
/** Two short steps: the smallest run that still steps users. */
const SHORT = ['--profile', 'smoke', '--steps', '1,2', '--step-seconds', '1', '--warmup-seconds', '0', ...ENVELOPE_ARGS];

function readResults(dir: string): Results {
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
  expect(validateResults(results)).toEqual([]);
  return results;
}

/** Every point measured at both loads, with completed requests of its own route and clean data. */
function expectMeasured(combos: Combo[], points: string[]): void {
  expect(combos.map((c) => c.lab?.point)).toEqual(points);
  for (const c of combos) {
    expect(c.status, `${c.lab?.point}: ${c.reason ?? ''}`).toBe('measured');
    expect(c.steps.map((s) => s.load)).toEqual([1, 2]);
    for (const s of c.steps) {
      expect(s.requests).toBeGreaterThan(0);
      for (const name of c.lab!.requests.map((r) => r.name)) expect(Object.keys(s.endpoints)).toContain(name);
    }
    expect(c.integrity?.ok).toBe(true);
  }
}

describe('stackbench lab (end to end)', () => {
  let db: TestDatabase;
  let tmp: string;
  beforeAll(async () => {
    db = await createTestDatabase('bench_lab');
    tmp = mkdtempSync(join(tmpdir(), 'stackbench-lab-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  const lab = (name: string, out: string, extra: string[] = []) => runCli(['lab', name, ...SHORT, '--out', join(tmp, out), ...extra], { DATABASE_URL: db.url }, 240_000);

  it('eventloop: await, block and offload beside /lab/simple; the report names the lab and its figures', async () => {
    const r = await lab('eventloop', 'eventloop', ['--wait-ms', '10']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const results = readResults(join(tmp, 'eventloop'));
    expect(results.method.lab).toMatchObject({ name: 'eventloop', options: { waitMs: 10, modes: 'await,block,offload' }, loads: [1, 2] });
    expectMeasured(results.combos, ['await', 'block', 'offload']);
    expect(results.combos[1]!.lab!.requests).toContainEqual({ name: 'wait', path: '/lab/wait?ms=10&mode=block', weight: 3 });
    const readme = readFileSync(join(tmp, 'eventloop', 'README.md'), 'utf8');
    expect(readme).toContain('## Lab: Blocking the event loop');
    expect(readme).toMatch(/Non-blocking over blocking: \d+\.\d\dx/);
    expect(existsSync(join(tmp, 'eventloop', 'eventloop-rps-vs-users.svg'))).toBe(true);
  }, 300_000);

  it('cpu: main thread and worker pool', async () => {
    const r = await lab('cpu', 'cpu', ['--n', '20000']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expectMeasured(readResults(join(tmp, 'cpu')).combos, ['main', 'worker']);
  }, 300_000);

  it('fanout: the slow upstream is started, counted per point and gone afterwards; pbkdf2 under two pool sizes', async () => {
    const r = await lab('fanout', 'fanout', ['--calls', '4', '--upstream-ms', '5', '--modes', 'sequential,all,limit:2', '--iterations', '1000']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const results = readResults(join(tmp, 'fanout'));
    expectMeasured(results.combos, ['sequential', 'all', 'limit:2', 'pbkdf2 threads=4', 'pbkdf2 threads=16']);
    const [sequential, all, limited] = results.combos;
    // Every request made its 4 calls (requests in the windows and warm-ups, so at least 4 per measured response).
    for (const c of [sequential, all, limited]) expect(c!.lab!.upstream!.requests).toBeGreaterThanOrEqual(4 * c!.steps.reduce((n, s) => n + s.requests, 0));
    // What each mode really did at the upstream: one call at a time, at most 2 per request, or all 4 at once.
    expect(sequential!.lab!.upstream!.peakInFlight).toBeLessThanOrEqual(2); // 2 users
    expect(limited!.lab!.upstream!.peakInFlight).toBeLessThanOrEqual(4);
    expect(all!.lab!.upstream!.peakInFlight).toBeGreaterThanOrEqual(4);
    // The upstream process went with the run.
    expect(spawnSync('pgrep', ['-f', 'labs/upstream-child.js']).stdout.toString().trim()).toBe('');
  }, 300_000);

  it('mixed: every class of the mix is measured per step, shares from --mix', async () => {
    const r = await lab('mixed', 'mixed', ['--mix', 'simple=2,wait=1,db=1,heavy=1', '--n', '10000']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const results = readResults(join(tmp, 'mixed'));
    expectMeasured(results.combos, ['mix']);
    expect(results.combos[0]!.lab!.requests.map((x) => [x.name, x.weight])).toEqual([['simple', 2], ['wait', 1], ['db', 1], ['heavy', 1]]);
    expect(readFileSync(join(tmp, 'mixed', 'README.md'), 'utf8')).toMatch(/p95 per class first at or over/);
  }, 300_000);

  it('payload: each variant of the app at each rows count, with the response size', async () => {
    const r = await lab('payload', 'payload', ['--apps', 'fastify', '--stores', 'pg', '--rows', '1,10']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const results = readResults(join(tmp, 'payload'));
    expectMeasured(results.combos, ['schema rows=1', 'schema rows=10', 'no-schema rows=1', 'no-schema rows=10']);
    const bytes = results.combos.map((c) => c.lab!.responseBytes!);
    expect(bytes[1]).toBeGreaterThan(bytes[0]!);
    // Both variants send the same bytes: only the way they are produced differs.
    expect(bytes.slice(2)).toEqual(bytes.slice(0, 2));
    expect(readFileSync(join(tmp, 'payload', 'README.md'), 'utf8')).toContain('cost vs cheapest at 10');
  }, 300_000);

  it('--cpu-prof: one extra profiled step per point, its flame graph beside results.json', async () => {
    const r = await lab('payload', 'payload-prof', ['--apps', 'fastify', '--stores', 'pg', '--rows', '100', '--variants', 'no-schema', '--cpu-prof']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const [point] = readResults(join(tmp, 'payload-prof')).combos;
    expect(point!.lab!.point).toBe('no-schema rows=100');
    expect(point!.profile!.load).toBe(2);
    expect(existsSync(join(tmp, 'payload-prof', point!.profile!.flameGraph))).toBe(true);
    // The profile lies inside the extra step's window; the planned steps stayed unprofiled.
    expect(point!.profile!.profileWindow.startMs).toBeGreaterThanOrEqual(point!.profile!.stepWindow.startMs);
    expect(point!.profile!.profileWindow.stopMs).toBeLessThanOrEqual(point!.profile!.stepWindow.endMs);
    expect(point!.steps.map((s) => s.load)).toEqual([1, 2]);
    expect(readFileSync(join(tmp, 'payload-prof', 'README.md'), 'utf8')).toContain('## Where the time goes');
  }, 300_000);

  describeWithPart('redis', 'cache lab with a real Redis', () => {
    it('none, memory, redis and http: hit rates from the app, orders placed meanwhile, data audited', async () => {
      const r = await lab('cache', 'cache', ['--hot-products', '5', '--order-share', '20']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const results = readResults(join(tmp, 'cache'));
      expectMeasured(results.combos, ['none', 'memory', 'redis', 'http']);
      const byMode = Object.fromEntries(results.combos.map((c) => [c.lab!.point, c]));
      expect(byMode.none!.lab!.cache).toMatchObject({ hits: 0 });
      for (const mode of ['memory', 'redis', 'http']) expect(byMode[mode]!.lab!.cache!.hits, mode).toBeGreaterThan(0);
      expect(byMode.http!.steps.some((s) => (s.endpoints.view_304?.requests ?? 0) > 0)).toBe(true);
      // Orders were placed and audited (the integrity check saw them).
      expect(results.combos.every((c) => c.integrity!.orders > 0)).toBe(true);
    }, 300_000);
  });

  it('bad input: an unknown lab, a flag of another lab, a value out of the route\'s range: one line, exit 1, nothing written', async () => {
    const out = join(tmp, 'bad');
    const cases: [string[], RegExp][] = [
      [['lab'], /which lab\? stackbench lab <eventloop\|cpu\|fanout\|mixed\|payload\|cache> \[flags\]/],
      [['lab', 'nope'], /unknown lab "nope" \(known: eventloop, cpu, fanout, mixed, payload, cache\)/],
      [['lab', 'eventloop', '--rows', '10'], /--rows is not a flag of lab eventloop/],
      [['lab', 'payload', '--rows', '0,1001'], /--rows: rows must be an integer from 1 to 1000/],
      [['lab', 'eventloop', '--wait-ms', '5001'], /--wait-ms: ms must be an integer from 0 to 5000/],
      [['lab', 'cache', '--cache', 'disk'], /--cache: unknown "disk" \(known: none, memory, redis, http\)/],
      [['lab', 'mixed', '--mix', 'simple=1,slow=2'], /--mix takes class=share pairs/],
      [['lab', 'fanout', '--modes', 'limit:0'], /--modes: mode must be one of sequential, all, limit:K/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli([...args, '--out', out], { DATABASE_URL: db.url }, 30_000);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  }, 120_000);

  it('the redis mode with an unreachable REDIS_URL: one line, exit 1, nothing written', async () => {
    const out = join(tmp, 'no-redis');
    const r = await runCli(['lab', 'cache', '--cache', 'redis', '--out', out], { DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:1' }, 30_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('stackbench lab: REDIS_URL redis://127.0.0.1:1 is unreachable');
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('the redis mode on a machine without redis-server and without REDIS_URL: says how to get it', async () => {
    const config = await parseLabArgs(['cache', '--cache', 'memory,redis', '--out', join(tmp, 'never')], { DATABASE_URL: db.url });
    if (config === 'help') throw new Error('unexpected help');
    await expect(checkLabServices(config, {}, () => null)).rejects.toThrow(/apt-get install redis-server/);
    await expect(checkLabServices(config, {}, () => '/usr/bin/redis-server')).resolves.toBeUndefined();
    const memoryOnly = await parseLabArgs(['cache', '--cache', 'memory', '--out', join(tmp, 'never')], {});
    if (memoryOnly === 'help') throw new Error('unexpected help');
    await expect(checkLabServices(memoryOnly, {}, () => null)).resolves.toBeUndefined();
  });
});
