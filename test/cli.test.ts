import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { exited, isAlive, runCli, startCli } from '@stackbench/test-support/cli';

/** A CLI error is exactly one line on stderr and a non-zero exit. */
function expectOneLineError(result: { code: number | null; stderr: string }, pattern: RegExp): void {
  expect(result.code).not.toBe(0);
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
}

describe('stackbench CLI', () => {
  let db: TestDatabase;
  let busy: Server;
  let busyPort: number;
  beforeAll(async () => {
    db = await createTestDatabase('cli');
    busy = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    busy?.close();
    await db?.drop();
  });

  it('list shows 5 apps x 5 stores (2 of them tuned ORM variants) x 2 strategies = 50 combinations', async () => {
    const result = await runCli(['list']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('5 apps x 5 stores x 2 strategies = 50');
    expect(result.stdout).toMatch(/drizzle-tuned +drizzle-orm \d/);
    const json = JSON.parse((await runCli(['list', '--json'])).stdout) as { combinations: number; apps: { name: string }[] };
    expect(json.combinations).toBe(50);
    expect(json.apps.map((a) => a.name)).toEqual(['node-http', 'express', 'fastify', 'nest-express', 'nest-fastify']);
  });

  it('rejects unknown commands, apps, stores, strategies and flags with one line', async () => {
    expectOneLineError(await runCli(['nope']), /unknown command "nope"/);
    expectOneLineError(await runCli(['serve', '--app', 'koa'], { DATABASE_URL: db.url }), /unknown app "koa"/);
    expectOneLineError(await runCli(['serve', '--store', 'prisma'], { DATABASE_URL: db.url }), /unknown store "prisma"/);
    expectOneLineError(await runCli(['serve', '--conn', 'sometimes'], { DATABASE_URL: db.url }), /unknown connection strategy/);
    expectOneLineError(await runCli(['serve', '--pool-size', '0'], { DATABASE_URL: db.url }), /--pool-size must be/);
    expectOneLineError(await runCli(['serve', '--frobnicate'], { DATABASE_URL: db.url }), /Unknown option '--frobnicate'/);
  });

  it('reports an unreachable database in one line', async () => {
    expectOneLineError(await runCli(['serve'], { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none' }), /unreachable/);
    expectOneLineError(await runCli(['db', 'reset'], { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none' }), /unreachable/);
  });

  it('reports a port in use in one line, and starts nothing', async () => {
    expectOneLineError(await runCli(['serve', '--port', String(busyPort)], { DATABASE_URL: db.url }), new RegExp(`port ${busyPort} is in use`));
  });

  it('verify refuses non-loopback targets and reports an unreachable server', async () => {
    expectOneLineError(await runCli(['verify', '--url', 'http://192.0.2.1:80']), /only targets loopback/);
    expectOneLineError(await runCli(['verify', '--url', `http://127.0.0.1:${busyPort}`]), /cannot reach/);
  });

  it('serve runs the compiled app, verify passes against it, Ctrl-C stops it', async () => {
    const served = await startCli(['serve', '--app', 'fastify', '--store', 'pg', '--conn', 'pool', '--port', '0'], { DATABASE_URL: db.url }, /at (http:\/\/127\.0\.0\.1:\d+)/);
    const url = served.match[1]!;
    try {
      const verified = await runCli(['verify', '--url', url]);
      expect(verified.stdout).toMatch(/^\d+ passed, 0 failed$/m);
      expect(verified.code).toBe(0);
    } finally {
      served.child.kill('SIGINT');
    }
    expect(await exited(served.child)).toBe(0);
    // The app process is gone: its port no longer answers.
    const after = await runCli(['verify', '--url', url]);
    expect(after.stderr).toMatch(/cannot reach/);
    expect(served.child.pid && isAlive(served.child.pid)).toBe(false);
  });
});
