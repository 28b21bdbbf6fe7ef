/**
 * The embedded PostgreSQL's credentials and files, on servers of its own (a fresh STACKBENCH_HOME and port each):
 * a random superuser password kept 0600, the old fixed one rotated away, data directories outside the home that
 * are checked before use, and pg_stat_statements loaded.
 */
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { embeddedDataDir, embeddedPasswordFile, startEmbeddedPostgres, withDatabase, type DatabaseHandle } from '../src/index.js';

const LEGACY_PASSWORD = 'stackbench';

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

/** The error code of a login with `password`, or 'ok'. */
async function login(serverUrl: string, password: string): Promise<string> {
  const url = new URL(serverUrl);
  url.password = password;
  try {
    await sql(url.toString(), 'SELECT 1');
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  }
}

const homes: string[] = [];
const handles: DatabaseHandle[] = [];
const savedHome = process.env.STACKBENCH_HOME;

/** Starts the embedded server with `home` as STACKBENCH_HOME (read when it starts). */
async function start(home: string, port: number): Promise<DatabaseHandle> {
  process.env.STACKBENCH_HOME = home;
  try {
    const handle = await startEmbeddedPostgres({ port });
    handles.push(handle);
    return handle;
  } finally {
    if (savedHome === undefined) delete process.env.STACKBENCH_HOME;
    else process.env.STACKBENCH_HOME = savedHome;
  }
}

function newHome(mode: number): string {
  const home = mkdtempSync(join(tmpdir(), 'stackbench-db-test-'));
  chmodSync(home, mode);
  homes.push(home);
  return home;
}

afterEach(async () => {
  for (const h of handles.splice(0)) await h.stop();
});

afterAll(() => {
  for (const home of homes) {
    const record = join(home, 'postgres.datadir');
    if (existsSync(record)) rmSync(readFileSync(record, 'utf8').trim(), { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  }
});

describe('the embedded superuser password', () => {
  // 0755: reachable by the postgres user when the tests run as root, so the data stays in the home.
  const home = newHome(0o755);
  let port: number;

  it('is random, saved with mode 0600, and the old fixed password no longer logs in', async () => {
    port = await freePort();
    // A temporary directory of this test's own: other test files start embedded servers at the same time, and their
    // initdb folders in the shared one are not this server's. 0755: the postgres user reads the password file there.
    const privateTmp = mkdtempSync(join(tmpdir(), 'stackbench-test-tmp-'));
    chmodSync(privateTmp, 0o755);
    onTestFinished(() => rmSync(privateTmp, { recursive: true, force: true }));
    const sharedTmp = process.env.TMPDIR;
    process.env.TMPDIR = privateTmp;
    let db: DatabaseHandle;
    try {
      db = await start(home, port);
    } finally {
      if (sharedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = sharedTmp;
    }
    const file = embeddedPasswordFile(home);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    const password = readFileSync(file, 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(decodeURIComponent(new URL(db.serverUrl).password)).toBe(password);
    expect(await login(db.serverUrl, password)).toBe('ok');
    expect(await login(db.serverUrl, LEGACY_PASSWORD)).toBe('28P01');
    // initdb's password file lived in a private folder that is gone.
    expect(readdirSync(privateTmp).filter((name) => name.startsWith('stackbench-initdb-'))).toEqual([]);
  });

  it('loads pg_stat_statements, tracking all statements, in the stackbench database', async () => {
    const db = await start(home, port);
    expect(await sql(db.url, 'SHOW pg_stat_statements.track')).toEqual([{ 'pg_stat_statements.track': 'all' }]);
    await sql(db.url, 'SELECT 42 AS stackbench_probe_statement');
    const rows = await sql<{ calls: string }>(db.url, "SELECT calls::text FROM pg_stat_statements WHERE query LIKE '%stackbench_probe_statement%' AND query NOT LIKE '%pg_stat_statements%'");
    expect(rows.map((r) => Number(r.calls))).toEqual([1]);
  });

  it('rotates the old fixed password of an existing data directory on first start', async () => {
    // A data directory as older versions left it: the role's password is the fixed one, and none is saved.
    const before = await start(home, port);
    await sql(before.serverUrl, `ALTER ROLE stackbench PASSWORD '${LEGACY_PASSWORD}'`);
    await before.stop();
    const old = readFileSync(embeddedPasswordFile(home), 'utf8').trim();
    rmSync(embeddedPasswordFile(home));

    const after = await start(home, port);
    const password = readFileSync(embeddedPasswordFile(home), 'utf8').trim();
    expect(password).not.toBe(old);
    expect(lstatSync(embeddedPasswordFile(home)).mode & 0o777).toBe(0o600);
    expect(await login(after.serverUrl, password)).toBe('ok');
    expect(await login(after.serverUrl, LEGACY_PASSWORD)).toBe('28P01');
    // The statement text never held the password itself (only its SCRAM verifier).
    const texts = await sql<{ query: string }>(withDatabase(after.serverUrl, 'stackbench'), "SELECT query FROM pg_stat_statements WHERE query ILIKE '%ALTER ROLE%'");
    for (const { query } of texts) expect(query).not.toContain(password);
  });

  it('completes a rotation that was interrupted after saving the new password', async () => {
    const before = await start(home, port);
    const saved = readFileSync(embeddedPasswordFile(home), 'utf8').trim();
    await sql(before.serverUrl, `ALTER ROLE stackbench PASSWORD '${LEGACY_PASSWORD}'`);
    await before.stop();

    const after = await start(home, port);
    expect(readFileSync(embeddedPasswordFile(home), 'utf8').trim()).toBe(saved);
    expect(await login(after.serverUrl, saved)).toBe('ok');
    expect(await login(after.serverUrl, LEGACY_PASSWORD)).toBe('28P01');
  });

  it('refuses a password file other users can read, with one line', async () => {
    chmodSync(embeddedPasswordFile(home), 0o644);
    try {
      await expect(start(home, port)).rejects.toThrow(/^\S+postgres\.password is readable by other users \(mode 644\): chmod 600 it$/);
    } finally {
      chmodSync(embeddedPasswordFile(home), 0o600);
    }
  });
});

// As root in a home the postgres user cannot enter (a clone under /root), the data lives outside the home.
describe.runIf(process.getuid?.() === 0)('a data directory outside a private home (root)', () => {
  const home = newHome(0o700);
  let port: number;
  let dataDir: string;

  it('has an unpredictable name, is recorded in the home, and belongs to the postgres user only', async () => {
    port = await freePort();
    await start(home, port);
    dataDir = embeddedDataDir(home);
    expect(readFileSync(join(home, 'postgres.datadir'), 'utf8').trim()).toBe(dataDir);
    expect(dirname(dataDir)).toBe(tmpdir());
    expect(dataDir).toMatch(/stackbench-postgres-[A-Za-z0-9]{6}$/);
    const stats = lstatSync(dataDir);
    expect(stats.isDirectory()).toBe(true);
    expect(stats.uid).toBe(Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()));
    expect(stats.mode & 0o077).toBe(0);
    // Reused on the next start.
    await handles.pop()!.stop();
    await start(home, port);
    expect(embeddedDataDir(home)).toBe(dataDir);
  });

  it('refuses the recorded directory when it has become a symbolic link', async () => {
    const real = `${dataDir}-real`;
    renameSync(dataDir, real);
    symlinkSync(real, dataDir);
    try {
      await expect(start(home, port)).rejects.toThrow(/^refusing the embedded PostgreSQL data directory \S+: it is a symbolic link \(remove \S+ to start afresh\)$/);
    } finally {
      rmSync(dataDir);
      renameSync(real, dataDir);
    }
  });

  it('refuses the recorded directory when the postgres user does not own it', async () => {
    const real = `${dataDir}-real`;
    renameSync(dataDir, real);
    const planted = mkdtempSync(join(tmpdir(), 'stackbench-planted-'));
    renameSync(planted, dataDir);
    chmodSync(dataDir, 0o700);
    try {
      await expect(start(home, port)).rejects.toThrow(/it is owned by uid 0, not by the postgres user/);
    } finally {
      rmSync(dataDir, { recursive: true });
      renameSync(real, dataDir);
    }
  });

  it('starts afresh in a new directory when the recorded one is gone (a cleaned /tmp)', async () => {
    rmSync(dataDir, { recursive: true });
    await start(home, port);
    const fresh = embeddedDataDir(home);
    expect(fresh).not.toBe(dataDir);
    expect(existsSync(join(fresh, 'PG_VERSION'))).toBe(true);
  });
});
