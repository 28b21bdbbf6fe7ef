import type { DatabaseTimeouts, HttpTimeouts } from '@stackbench/contract';
import type { Server } from 'node:http';

/**
 * Every limit an app and its store run with, written once here and read from the environment by every app's main.
 * Defaults, and why:
 * - statement 5 s / lock 2 s: every query here is a point lookup or a one-row update taking milliseconds; a
 *   statement stuck behind a lock (a forgotten transaction, a manual `SELECT ... FOR UPDATE`) fails after 2 s
 *   instead of holding a pool slot, and the benchmark's line is 100 ms, so nothing legitimate gets near either;
 * - idle in transaction 10 s: a session that opened a transaction and went quiet is ended, releasing its row locks;
 * - connect 10 s: waiting for a pool slot or a new connection; generous, because a per-request burst of hundreds
 *   of SCRAM handshakes on 2 cores is slow but legitimate;
 * - query = statement + 2 s: only a backstop for a server that stops answering (the server's own timeout fires first);
 * - request 10 s: headers and a body of at most 16 KiB on loopback take milliseconds; a client that stalls
 *   mid-request (slowloris) loses its connection;
 * - keep-alive 30 s: far above the think time of closed-loop users (seconds at most), so a user never races the
 *   server closing its idle connection;
 * - socket 60 s: no traffic either way while a request is in progress; above connect + statement, so a slow
 *   database answer is never cut as an idle socket.
 */
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  statementMs: 5_000,
  lockMs: 2_000,
  idleInTransactionMs: 10_000,
  connectMs: 10_000,
  queryMs: 7_000,
};

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  requestMs: 10_000,
  keepAliveMs: 30_000,
  socketMs: 60_000,
};

/** Environment variables the server reads for them. */
export const TIMEOUT_ENV = {
  statementMs: 'STACKBENCH_STATEMENT_TIMEOUT_MS',
  lockMs: 'STACKBENCH_LOCK_TIMEOUT_MS',
  idleInTransactionMs: 'STACKBENCH_IDLE_IN_TRANSACTION_TIMEOUT_MS',
  connectMs: 'STACKBENCH_CONNECT_TIMEOUT_MS',
  requestMs: 'STACKBENCH_REQUEST_TIMEOUT_MS',
  keepAliveMs: 'STACKBENCH_KEEP_ALIVE_TIMEOUT_MS',
  socketMs: 'STACKBENCH_SOCKET_TIMEOUT_MS',
} as const;

const MAX_MS = 3_600_000;

function msFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_MS) throw new Error(`${name} must be an integer from 1 to ${MAX_MS} (milliseconds), got "${raw}"`);
  return Number(raw);
}

/** Database timeouts from the environment (defaults above); throws a one-line error on a bad value. */
export function readDatabaseTimeouts(env: NodeJS.ProcessEnv = process.env): DatabaseTimeouts {
  const d = DEFAULT_DATABASE_TIMEOUTS;
  const statementMs = msFromEnv(env, TIMEOUT_ENV.statementMs, d.statementMs);
  return {
    statementMs,
    lockMs: msFromEnv(env, TIMEOUT_ENV.lockMs, d.lockMs),
    idleInTransactionMs: msFromEnv(env, TIMEOUT_ENV.idleInTransactionMs, d.idleInTransactionMs),
    connectMs: msFromEnv(env, TIMEOUT_ENV.connectMs, d.connectMs),
    queryMs: statementMs + 2_000,
  };
}

/** HTTP server timeouts from the environment (defaults above); throws a one-line error on a bad value. */
export function readHttpTimeouts(env: NodeJS.ProcessEnv = process.env): HttpTimeouts {
  const d = DEFAULT_HTTP_TIMEOUTS;
  return {
    requestMs: msFromEnv(env, TIMEOUT_ENV.requestMs, d.requestMs),
    keepAliveMs: msFromEnv(env, TIMEOUT_ENV.keepAliveMs, d.keepAliveMs),
    socketMs: msFromEnv(env, TIMEOUT_ENV.socketMs, d.socketMs),
  };
}

/**
 * How often node:http looks for requests past their headers/request timeout (default 30 s, which would let a
 * stalled request live up to 30 s beyond its limit): at most 1 s, and no longer than the timeout itself.
 */
export function timeoutCheckIntervalMs(t: HttpTimeouts): number {
  return Math.min(1_000, t.requestMs);
}

/**
 * Sets the timeouts on a node:http server before it listens (node:http, Express and Nest-Express build on it; the
 * Fastify apps set the same values through Fastify's options, see `fastifyTimeoutOptions`).
 */
export function applyHttpTimeouts(server: Server, t: HttpTimeouts): void {
  server.requestTimeout = t.requestMs;
  server.headersTimeout = t.requestMs;
  server.keepAliveTimeout = t.keepAliveMs;
  server.timeout = t.socketMs;
  // A createServer option in @types/node, but node:http reads the property when the server starts listening.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = timeoutCheckIntervalMs(t);
}

/** The same timeouts as Fastify's own server options (Fastify and Nest's FastifyAdapter). */
export function fastifyTimeoutOptions(t: HttpTimeouts) {
  return {
    requestTimeout: t.requestMs,
    keepAliveTimeout: t.keepAliveMs,
    connectionTimeout: t.socketMs,
    // Passed to http.createServer: what Fastify has no option of its own for.
    http: { headersTimeout: t.requestMs, connectionsCheckingInterval: timeoutCheckIntervalMs(t) },
  };
}
