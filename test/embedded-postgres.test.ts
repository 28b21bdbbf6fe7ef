import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { exited, isAlive, runCli, STACKBENCH, startCli } from '@stackbench/test-support/cli';

function readableByOthers(file: string): boolean {
  if ((statSync(file).mode & 0o004) === 0) return false;
  for (let d = dirname(file); d !== dirname(d); d = dirname(d)) if ((statSync(d).mode & 0o001) === 0) return false;
  return true;
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function gone(pid: number, ms = 15_000): Promise<boolean> {
  for (let waited = 0; waited < ms && isAlive(pid); waited += 100) await new Promise((r) => setTimeout(r, 100));
  return !isAlive(pid);
}

/**
 * The embedded PostgreSQL's life cycle through the real CLI, in a home and port of its own (DATABASE_URL unset):
 * it starts, serves, and never outlives its owner.
 */
describe('embedded PostgreSQL', () => {
  const home = mkdtempSync(join(tmpdir(), 'stackbench-home-'));
  chmodSync(home, 0o777); // reachable by the postgres user (root) and by an unprivileged user (below)
  const env = { STACKBENCH_HOME: home, DATABASE_URL: '' };
  const postmasterPid = () => Number(readFileSync(join(home, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('db up serves a seeded database on loopback and Ctrl-C stops the server', async () => {
    const port = await freePort();
    const up = await startCli(['db', 'up'], { ...env, STACKBENCH_PG_PORT: String(port) }, /DATABASE_URL=(\S+)/);
    const url = up.match[1]!;
    expect(new URL(url).hostname).toBe('127.0.0.1');
    expect(await query(url, 'SELECT count(*)::int AS n FROM products')).toEqual([{ n: 10_000 }]);
    const pid = postmasterPid();
    up.child.kill('SIGINT');
    expect(await exited(up.child)).toBe(0);
    expect(await gone(pid)).toBe(true);
  });

  it('a server left behind by a killed owner is adopted and stopped by the next command', async () => {
    const port = await freePort();
    const up = await startCli(['db', 'up'], { ...env, STACKBENCH_PG_PORT: String(port) }, /DATABASE_URL=(\S+)/);
    const pid = postmasterPid();
    up.child.kill('SIGKILL');
    await exited(up.child);
    expect(isAlive(pid)).toBe(true); // SIGKILL leaves no chance to clean up...
    const reset = await runCli(['db', 'reset', '--products', '200'], env);
    expect(reset.code).toBe(0);
    expect(reset.stderr).toContain('seeded 200 products');
    expect(await gone(pid)).toBe(true); // ...so the next owner adopts the server and stops it.
  });

  it('refuses a port in use with one line', async () => {
    const srv = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const result = await runCli(['db', 'reset'], { ...env, STACKBENCH_PG_PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain(`port ${port} is in use`);
    } finally {
      srv.close();
    }
  });

  // Needs a checkout that other users can read (not one under a private home such as /root).
  it.runIf(process.getuid?.() === 0 && readableByOthers(STACKBENCH))('works for an unprivileged user too (runuser -u nobody)', async () => {
    const userHome = mkdtempSync(join(tmpdir(), 'stackbench-nobody-'));
    chmodSync(userHome, 0o777);
    const port = await freePort();
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(
      'runuser',
      ['-u', 'nobody', '--', 'env', `STACKBENCH_HOME=${userHome}`, `STACKBENCH_PG_PORT=${port}`, 'DATABASE_URL=', process.execPath, STACKBENCH, 'db', 'reset', '--products', '150'],
      { encoding: 'utf8', timeout: 90_000 },
    );
    try {
      expect(result.stderr).toContain('seeded 150 products');
      expect(result.status).toBe(0);
    } finally {
      rmSync(userHome, { recursive: true, force: true });
    }
  });
});
