import { appMainPath, findApp, loadAppModule } from '@stackbench/server';
import { spawn, type ChildProcess } from 'node:child_process';
import type { ConnectionStrategy, DatabaseTimeouts, HttpTimeouts, RunningServer } from '@stackbench/contract';
import { DEFAULT_DATABASE_TIMEOUTS, DEFAULT_HTTP_TIMEOUTS, readDatabaseTimeouts, startServer, TIMEOUT_ENV, type StoreName } from '@stackbench/server';

/**
 * Database timeouts for the oversell tests: 200 concurrent orders queue on one product's row lock, and with a new
 * connection per order (SCRAM, a backend fork) on a slow 2-core machine the last of them waited longer than the
 * servers' 5 s statement and 2 s lock timeouts. Those tests check the stock invariant, not the timeouts (tested
 * apart), so they wait as long as the queue takes.
 */
export const CONTENTION_DATABASE_TIMEOUTS: DatabaseTimeouts = readDatabaseTimeouts({
  [TIMEOUT_ENV.statementMs]: '60000',
  [TIMEOUT_ENV.lockMs]: '60000',
});

export interface TestServerOptions {
  app: string;
  store: StoreName;
  conn: ConnectionStrategy;
  databaseUrl: string;
  poolSize?: number;
  /** Default: the servers' defaults. */
  database?: DatabaseTimeouts;
  http?: HttpTimeouts;
}

/** Builds the app in this process (its compiled dist) on a real store and listens on a free loopback port. */
export async function startTestServer(options: TestServerOptions): Promise<RunningServer> {
  const app = await loadAppModule(findApp(options.app));
  return startServer(app, {
    databaseUrl: options.databaseUrl,
    store: options.store,
    conn: options.conn,
    poolSize: options.poolSize ?? 10,
    port: 0,
    host: '127.0.0.1',
    logger: false,
    database: options.database ?? DEFAULT_DATABASE_TIMEOUTS,
    http: options.http ?? DEFAULT_HTTP_TIMEOUTS,
  });
}

export interface AppChild {
  url: string;
  child: ChildProcess;
  /** Everything the app printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs an app's compiled main.js as its own process with exactly `env` on top of PATH (nothing inherited from the
 * test run, so a stray HOST or STACKBENCH_* cannot change it) and resolves once it prints `listening on <url>`.
 */
export function spawnApp(app: string, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<AppChild> {
  const child = spawn(process.execPath, [appMainPath(findApp(app))], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(kill);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${app} did not print "listening on" within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, child, output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited (${signal ?? `code ${code}`}) before listening:\n${out}`));
    });
  });
}
