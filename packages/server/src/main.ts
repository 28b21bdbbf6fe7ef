import {
  isLoopbackHost,
  LOOPBACK_RULE,
  rawHttpHost,
  type AppConfig,
  type AppDeps,
  type ConnectionStrategy,
  type DatabaseTimeouts,
  type HttpTimeouts,
  type LabCacheMode,
  type LabConfig,
  type RunningServer,
} from '@stackbench/contract';
import type { Server } from 'node:http';
import { isClusterPrimary, readInstances, reportListening, runClusterPrimary, servedLine } from './instances.js';
import { installProfilerToggle } from './profiler.js';
import { addServerTiming } from './server-timing.js';
import { createStore, isConnectionStrategy, isStoreName, storeNames, type StoreName } from './stores.js';
import { applyHttpTimeouts, readDatabaseTimeouts, readHttpTimeouts } from './timeouts.js';

/**
 * What an app package exports for each app it provides: a factory that does not listen, and a way to listen. Both
 * get the HTTP timeouts: Fastify takes them as construction options, node:http servers get them before listening.
 */
export interface AppModule<TApp = unknown> {
  buildApp(deps: AppDeps, config: AppConfig): TApp | Promise<TApp>;
  listen(app: TApp, port: number, host: string, timeouts: HttpTimeouts): Promise<RunningServer>;
}

export interface ServerConfig {
  databaseUrl: string;
  store: StoreName;
  conn: ConnectionStrategy;
  poolSize: number;
  port: number;
  host: string;
  logger: boolean;
  database: DatabaseTimeouts;
  http: HttpTimeouts;
  /** The lab routes (@stackbench/lab): null or absent for the commerce API alone. */
  lab?: LabConfig | null;
}

/** The loopback address apps listen on unless the CLI says otherwise (`stackbench serve --host`). */
export const DEFAULT_HOST = '127.0.0.1';

/**
 * Reads the server's configuration from the environment; throws a one-line error on bad values. The listen address
 * is STACKBENCH_HOST, which only the stackbench CLI sets: a HOST inherited from a shell or a platform (often
 * 0.0.0.0) must not expose an app.
 */
export function readServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required');
  const store = env.STACKBENCH_STORE ?? 'pg';
  if (!isStoreName(store)) throw new Error(`unknown store "${store}" (known: ${storeNames().join(', ')})`);
  const conn = env.STACKBENCH_CONN ?? 'pool';
  if (!isConnectionStrategy(conn)) throw new Error(`unknown connection strategy "${conn}" (known: pool, per-request)`);
  const poolSize = Number(env.STACKBENCH_POOL_SIZE ?? 10);
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) throw new Error(`pool size must be 1..1000, got ${env.STACKBENCH_POOL_SIZE}`);
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0..65535, got ${env.PORT}`);
  const host = env.STACKBENCH_HOST || DEFAULT_HOST;
  return {
    databaseUrl,
    store,
    conn,
    poolSize,
    port,
    host,
    logger: env.STACKBENCH_LOG === '1',
    database: readDatabaseTimeouts(env),
    http: readHttpTimeouts(env),
    lab: readLabConfig(env),
  };
}

const LAB_CACHE_MODES: readonly LabCacheMode[] = ['none', 'memory', 'redis', 'http'];
const LAB_MAX_TTL_MS = 3_600_000;

/**
 * The lab configuration: null unless STACKBENCH_LAB=1. Then STACKBENCH_LAB_UPSTREAM (optional: the fan-out's slow
 * upstream, http on a loopback host), STACKBENCH_LAB_CACHE (none|memory|redis|http, default none),
 * STACKBENCH_LAB_CACHE_TTL_MS (1..3600000, default 1000; whole seconds in http mode, where it is `max-age`) and, for
 * the redis mode, REDIS_URL (redis:// on a loopback host). Throws a one-line error on a bad value.
 */
export function readLabConfig(env: NodeJS.ProcessEnv = process.env): LabConfig | null {
  const enabled = env.STACKBENCH_LAB;
  if (enabled === undefined || enabled === '' || enabled === '0') return null;
  if (enabled !== '1') throw new Error(`STACKBENCH_LAB must be 1 (lab routes on) or 0/unset, got "${enabled}"`);
  const upstream = env.STACKBENCH_LAB_UPSTREAM || null;
  if (upstream !== null) {
    const host = rawHttpHost(upstream);
    const url = URL.canParse(upstream) ? new URL(upstream) : undefined;
    if (!host || !isLoopbackHost(host) || !url || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      throw new Error(`STACKBENCH_LAB_UPSTREAM must be http://<loopback host>[:port] (${LOOPBACK_RULE}), got "${upstream}"`);
    }
  }
  const cache = env.STACKBENCH_LAB_CACHE || 'none';
  if (!(LAB_CACHE_MODES as readonly string[]).includes(cache)) {
    throw new Error(`STACKBENCH_LAB_CACHE must be one of ${LAB_CACHE_MODES.join(', ')}, got "${cache}"`);
  }
  const rawTtl = env.STACKBENCH_LAB_CACHE_TTL_MS || '1000';
  if (!/^[1-9]\d{0,6}$/.test(rawTtl) || Number(rawTtl) > LAB_MAX_TTL_MS) {
    throw new Error(`STACKBENCH_LAB_CACHE_TTL_MS must be an integer from 1 to ${LAB_MAX_TTL_MS} (milliseconds), got "${rawTtl}"`);
  }
  const cacheTtlMs = Number(rawTtl);
  if (cache === 'http' && cacheTtlMs % 1000 !== 0) {
    throw new Error(`STACKBENCH_LAB_CACHE_TTL_MS must be whole seconds in http mode (it is the max-age), got "${rawTtl}"`);
  }
  let redisUrl: string | null = null;
  if (cache === 'redis') {
    redisUrl = env.REDIS_URL || null;
    // The value is not echoed: a Redis URL may carry a password.
    const url = redisUrl !== null && URL.canParse(redisUrl) ? new URL(redisUrl) : undefined;
    if (!url || url.protocol !== 'redis:' || !isLoopbackHost(url.hostname) || url.search !== '' || url.hash !== '') {
      throw new Error(`the redis cache mode needs REDIS_URL=redis://[user:password@]host[:port][/db] on a loopback host (${LOOPBACK_RULE})`);
    }
  }
  return { upstream, cache: cache as LabCacheMode, cacheTtlMs, redisUrl };
}

/** Builds the store and the app, listens, and closes both on SIGINT/SIGTERM. */
export async function startServer(app: AppModule, config: ServerConfig): Promise<RunningServer> {
  const store = await createStore(config.store, {
    databaseUrl: config.databaseUrl,
    conn: config.conn,
    poolSize: config.poolSize,
    timeouts: config.database,
  });
  try {
    const built = await app.buildApp({ store }, { logger: config.logger, http: config.http, lab: config.lab ?? null });
    const server = await app.listen(built, config.port, config.host, config.http);
    let closed: Promise<void> | undefined;
    return {
      url: server.url,
      close: () =>
        (closed ??= (async () => {
          await server.close();
          await store.close();
        })()),
    };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/**
 * The body of every app's main.ts. Prints `listening on <url>` when ready; exits 1 with one line on a bad
 * configuration or a port in use.
 */
export async function runMain(app: AppModule): Promise<void> {
  try {
    const config = readServerConfig();
    const instances = readInstances();
    if (isClusterPrimary(instances)) return runClusterPrimary(instances);
    const server = await startServer(app, config);
    installProfilerToggle();
    if (!reportListening(server.url)) console.log(`listening on ${server.url}`);
    let closing = false;
    const shutdown = () => {
      if (closing) return;
      closing = true;
      const done = (code: number) => {
        console.log(servedLine());
        process.exit(code);
      };
      server.close().then(
        () => done(0),
        () => done(1),
      );
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    console.error(e.code === 'EADDRINUSE' ? `port in use: ${e.message}` : `cannot start: ${e.message}`);
    process.exit(1);
  }
}

/** What every app does to its node:http server before listening: explicit timeouts and Server-Timing. */
export function prepareHttpServer(server: Server, timeouts: HttpTimeouts): void {
  applyHttpTimeouts(server, timeouts);
  addServerTiming(server);
}

/**
 * Listens with a node:http server that is ready (see prepareHttpServer) and returns the uniform handle. close()
 * stops accepting, lets in-flight requests finish and drops idle keep-alive connections.
 */
export async function listenHttpServer(server: Server, port: number, host: string): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    url: listeningUrl(server, host, port),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

/** `http://host:port` of a listening server (the bound port when `port` was 0; IPv6 hosts bracketed). */
export function listeningUrl(server: Server, host: string, port: number): string {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
}
