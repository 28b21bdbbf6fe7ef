import { ApiError } from '@stackbench/contract';
import { send } from '@stackbench/contract/suite';
import {
  acquireUpstreamClient,
  assertLoopbackUpstream,
  LAB_MESSAGES,
  parseFanoutQuery,
  startSlowUpstream,
  type SlowUpstream,
  type UpstreamClient,
} from '@stackbench/lab';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

describe('the slow upstream', () => {
  let upstream: SlowUpstream;
  beforeAll(async () => {
    upstream = await startSlowUpstream();
  });
  afterAll(() => upstream?.close());

  it('listens on 127.0.0.1 and answers /delay?ms=M after M ms; anything else is 400 or 404', async () => {
    expect(upstream.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const started = performance.now();
    const res = await send(upstream.url, { method: 'GET', path: '/delay?ms=150' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(149);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ delayedMs: 150 });
    for (const path of ['/delay?ms=5001', '/delay?ms=-1', '/delay?ms=01', '/delay']) expect((await send(upstream.url, { method: 'GET', path })).status, path).toBe(400);
    expect((await send(upstream.url, { method: 'GET', path: '/other' })).status).toBe(404);
    expect((await send(upstream.url, { method: 'POST', path: '/delay?ms=1' })).status).toBe(404);
  });

  it('closes with connections still open (keep-alive) and in flight', async () => {
    const other = await startSlowUpstream();
    const client = acquireUpstreamClient(other.url);
    try {
      await client.fanout(5, 0, { kind: 'all' }); // five idle keep-alive connections now
      const inFlight = client.fanout(1, 300, { kind: 'all' });
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all([other.close(), inFlight]);
      expect(other.stats().requests).toBe(6);
    } finally {
      await client.close();
    }
  });
});

describe('fan-out modes against a real slow upstream', () => {
  let upstream: SlowUpstream;
  let client: UpstreamClient;
  beforeAll(async () => {
    upstream = await startSlowUpstream();
    client = acquireUpstreamClient(upstream.url);
    await client.fanout(8, 0, { kind: 'all' }); // connections up, so the timings below are the calls'
  });
  afterAll(async () => {
    await client?.close();
    await upstream?.close();
  });

  /** Runs a mode; returns the elapsed time the client reported, its own measure, and the upstream's peak concurrency. */
  async function run(mode: string, calls: number, ms: number) {
    const q = parseFanoutQuery({ calls: String(calls), ms: String(ms), mode });
    const before = upstream.stats();
    const started = performance.now();
    const reported = await client.fanout(q.calls, q.ms, q.mode);
    const measured = performance.now() - started;
    const after = upstream.stats();
    return { reported, measured, requests: after.requests - before.requests, peak: after.peakInFlight };
  }

  it('sequential: one call at a time, so at least calls x ms', async () => {
    const r = await run('sequential', 6, 100);
    expect(r.requests).toBe(6);
    expect(r.reported).toBeGreaterThanOrEqual(600);
    expect(r.measured).toBeGreaterThanOrEqual(r.reported - 1);
  });

  it('all: every call at once, so about ms (at least ms, well under calls x ms)', async () => {
    const r = await run('all', 6, 100);
    expect(r.requests).toBe(6);
    expect(r.reported).toBeGreaterThanOrEqual(100);
    expect(r.reported).toBeLessThan(600);
  });

  it('limit:K: at most K at once, so about ceil(calls / K) x ms', async () => {
    for (const [k, rounds] of [[2, 3], [4, 2], [6, 1], [10, 1]] as const) {
      const r = await run(`limit:${k}`, 6, 100);
      expect(r.requests).toBe(6);
      expect(r.reported, `limit:${k}`).toBeGreaterThanOrEqual(rounds * 100);
      expect(r.reported, `limit:${k}`).toBeLessThan(600);
    }
  });

  it('really bounds the calls in flight: 1 for sequential, K for limit:K, all of them for all (1000 at most, one connection each)', async () => {
    // The peak is the upstream's, over its lifetime: each case needs a fresh upstream. Each call waits long enough
    // for all of a round's connections to be open before the first one is answered (3 s for 1000 new connections).
    for (const [mode, calls, ms, peak] of [['sequential', 5, 200, 1], ['limit:3', 9, 200, 3], ['all', 40, 200, 40], ['all', 1000, 3000, 1000]] as const) {
      const fresh = await startSlowUpstream();
      const c = acquireUpstreamClient(fresh.url);
      try {
        const q = parseFanoutQuery({ calls: String(calls), ms: String(ms), mode });
        await c.fanout(q.calls, q.ms, q.mode);
        expect(fresh.stats(), mode).toEqual({ requests: calls, peakInFlight: peak });
      } finally {
        await c.close();
        await fresh.close();
      }
    }
  });
});

describe('fan-out failures', () => {
  const clients: UpstreamClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  it('an upstream that is gone is a 503 with a fixed message', async () => {
    const gone = await startSlowUpstream();
    await gone.close();
    const client = acquireUpstreamClient(gone.url);
    clients.push(client);
    const err = await client.fanout(2, 1, { kind: 'all' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).toBody()).toEqual({ error: { code: 'unavailable', message: LAB_MESSAGES.upstreamFailed } });
  });

  it('only loopback upstreams, written plainly, with nothing after the port', () => {
    for (const ok of ['http://127.0.0.1:1234', 'http://127.0.0.1:1234/', 'http://localhost:80', 'http://[::1]:8080', 'http://127.10.0.1:1']) {
      expect(() => assertLoopbackUpstream(ok), ok).not.toThrow();
    }
    for (const bad of ['http://10.0.0.1:80', 'http://example.com', 'https://127.0.0.1:1', 'http://127.1:80', 'http://0x7f.0.0.1:1', 'http://127.0.0.1:1/api', 'http://127.0.0.1:1?x=1', 'http://user:pw@127.0.0.1:1', '127.0.0.1:80', '']) {
      expect(() => assertLoopbackUpstream(bad), bad).toThrow(/loopback/);
      expect(() => acquireUpstreamClient(bad), bad).toThrow(/loopback/);
    }
  });
});
