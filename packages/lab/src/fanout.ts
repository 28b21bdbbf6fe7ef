import { ApiError, isLoopbackHost, LOOPBACK_RULE, rawHttpHost } from '@stackbench/contract';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Agent } from 'undici';
import { LAB_LIMITS, LAB_MESSAGES, type FanoutMode } from './params.js';
import { integerRangePattern } from './patterns.js';

/**
 * Fan-out to a slow upstream: C outgoing GETs, one after the other, all at once, or at most K at once. One undici
 * keep-alive Agent per process, created on the first call and closed with the last app holding a lease. It keeps up
 * to `LAB_LIMITS.calls.max` connections to the upstream, so one `all` request of the largest size never waits for a
 * connection (more concurrent fan-outs than that queue inside the Agent).
 */

type Undici = typeof import('undici');

let shared: Promise<{ agent: Agent; request: Undici['request'] }> | undefined;
let leases = 0;

function sharedAgent(): Promise<{ agent: Agent; request: Undici['request'] }> {
  if (!shared) {
    shared = import('undici').then(({ Agent, request }) => ({
      agent: new Agent({
        connections: LAB_LIMITS.calls.max,
        keepAliveTimeout: 30_000,
        // An upstream call waits at most LAB_LIMITS.ms.max by design: anything far beyond is a hung upstream.
        headersTimeout: LAB_LIMITS.ms.max + 10_000,
        bodyTimeout: 10_000,
      }),
      request,
    }));
    shared.catch(() => (shared = undefined));
  }
  return shared;
}

/** Throws unless `url` is `http://<loopback host>[:port]` with nothing after the authority but an optional `/`. */
export function assertLoopbackUpstream(url: string): void {
  const host = rawHttpHost(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!host || !isLoopbackHost(host) || !parsed || parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '') {
    throw new Error(`the lab upstream must be http://<loopback host>[:port] (${LOOPBACK_RULE}), got "${url}"`);
  }
}

export interface UpstreamClient {
  /** Runs the calls; resolves with the elapsed milliseconds (whole ms). Throws a 503 ApiError when a call fails. */
  fanout(calls: number, ms: number, mode: FanoutMode): Promise<number>;
  /** Gives the lease back; the last one closes the Agent. Idempotent. */
  close(): Promise<void>;
}

/** A lease on the process's Agent, aimed at one upstream base URL (checked: loopback only). */
export function acquireUpstreamClient(baseUrl: string): UpstreamClient {
  assertLoopbackUpstream(baseUrl);
  const base = baseUrl.replace(/\/$/, '');
  leases++;
  let released = false;

  async function call(url: string): Promise<void> {
    const { agent, request } = await sharedAgent();
    let status: number;
    try {
      const res = await request(url, { dispatcher: agent });
      status = res.statusCode;
      await res.body.dump();
    } catch {
      throw new ApiError('unavailable', LAB_MESSAGES.upstreamFailed);
    }
    if (status !== 200) throw new ApiError('unavailable', LAB_MESSAGES.upstreamFailed);
  }

  return {
    async fanout(calls, ms, mode) {
      const url = `${base}/delay?ms=${ms}`;
      const started = performance.now();
      if (mode.kind === 'sequential') {
        for (let i = 0; i < calls; i++) await call(url);
      } else {
        // `all` is `limit` with as many lanes as calls; each lane takes the next call when its last one is done.
        const lanes = mode.kind === 'all' ? calls : Math.min(mode.limit, calls);
        let issued = 0;
        const lane = async () => {
          while (issued < calls) {
            issued++;
            await call(url);
          }
        };
        await Promise.all(Array.from({ length: lanes }, lane));
      }
      return Math.round(performance.now() - started);
    },
    async close() {
      if (released) return;
      released = true;
      leases--;
      if (leases > 0 || !shared) return;
      const closing = shared;
      shared = undefined;
      await (await closing.catch(() => undefined))?.agent.close();
    },
  };
}

// ---- the slow upstream --------------------------------------------------------------------------------------------

export interface SlowUpstream {
  /** `http://127.0.0.1:<port>`: the value for STACKBENCH_LAB_UPSTREAM. */
  url: string;
  /** `/delay` requests answered so far, and the most that were waiting at once (what a fan-out mode really did). */
  stats(): { requests: number; peakInFlight: number };
  /** Starts a new peak from what is in flight now (a lab reads the peak of each point apart). */
  resetPeak(): void;
  /** Stops accepting, lets in-flight delays finish, drops idle keep-alive connections. */
  close(): Promise<void>;
}

const UPSTREAM_MS = new RegExp(integerRangePattern(LAB_LIMITS.ms.min, LAB_LIMITS.ms.max));

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The slow upstream of the fan-out lab: a node:http server on 127.0.0.1 answering `GET /delay?ms=M` with
 * `{"delayedMs":M}` after M milliseconds (0..5000). Port 0 (default) picks a free one.
 */
export async function startSlowUpstream(options: { port?: number } = {}): Promise<SlowUpstream> {
  let requests = 0;
  let closing = false;
  let inFlight = 0;
  let peakInFlight = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (req.method !== 'GET' || url.pathname !== '/delay') return answer(res, 404, { error: 'GET /delay?ms=M only' });
    const ms = url.searchParams.get('ms') ?? '';
    if (!UPSTREAM_MS.test(ms)) return answer(res, 400, { error: `ms must be an integer from ${LAB_LIMITS.ms.min} to ${LAB_LIMITS.ms.max}` });
    inFlight++;
    peakInFlight = Math.max(peakInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      requests++;
      answer(res, 200, { delayedMs: Number(ms) });
      // A keep-alive connection whose last delay ends after close() is idle from now on: let it go.
      if (closing) res.once('finish', () => server.closeIdleConnections());
    }, Number(ms));
  });
  // Longer than the Agent's keep-alive, so the client always closes an idle connection first (no reset races).
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A backlog above the largest fan-out: 1000 connections opened at once must not overflow the accept queue
    // (node's default, 511, makes the rest retry their SYN a second later).
    server.listen({ port: options.port ?? 0, host: '127.0.0.1', backlog: 2 * LAB_LIMITS.calls.max }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => ({ requests, peakInFlight }),
    resetPeak: () => {
      peakInFlight = inFlight;
    },
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        closing = true;
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      })),
  };
}
