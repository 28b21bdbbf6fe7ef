import { afterEach, describe, expect, it } from 'vitest';
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import { nodeEngine, REQUEST_NAMES, runNodeStep, StepMeasurementSchema, type StepMeasurement, type StepRequest, type StepRun } from '../src/index.js';
import { Value } from '@sinclair/typebox/value';
import { eventually, PRODUCT_COUNT, startLoopbackApp, type LoopbackApp } from './loopback-app.js';

/**
 * The embedded driver against a real HTTP server on loopback. Counts are checked against what the server itself
 * saw; no assertion depends on how fast anything ran (bounds come from the step's own schedule and window).
 */

let app: LoopbackApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function step(overrides: Partial<StepRequest>): StepRequest {
  return {
    baseUrl: app?.url ?? 'http://127.0.0.1:9',
    model: 'closed',
    load: 2,
    durationMs: 600,
    warmupMs: 0,
    thinkMs: 0,
    productCount: PRODUCT_COUNT,
    maxRequests: 100_000,
    requestTimeoutMs: 5_000,
    ...overrides,
  };
}

/** How late (ms) a response may reach the driver after the server handed it to the socket, on this same clock. */
const DELIVERY_MS = 50;

/**
 * The window rule seen from the server: a response the server finished inside the window (with room to reach the
 * driver) must be counted, and one it finished outside cannot have been (the driver reads it later still).
 */
function expectWindowRule(run: StepRun, server: LoopbackApp): void {
  const { startMs, endMs } = run.window;
  for (const name of REQUEST_NAMES) {
    const counted = run.measurement.endpoints[name]?.requests ?? 0;
    expect(counted, name).toBeGreaterThanOrEqual(server.finishedBetween(startMs, endMs - DELIVERY_MS, name));
    expect(counted, name).toBeLessThanOrEqual(server.finishedBetween(startMs - DELIVERY_MS, endMs, name));
  }
}

function totalReceived(server: LoopbackApp): number {
  return server.counts.list + server.counts.product + server.counts.order + server.counts.order_view;
}

function expectOrderedLatency(l: StepMeasurement['latencyMs']): void {
  expect(l.p50).toBeGreaterThan(0);
  expect(l.p50).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p95);
  expect(l.p95).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.max);
}

describe('embedded driver, closed model', () => {
  it('runs the journey and counts every request per endpoint, with no errors, in the shared measurement schema', async () => {
    app = await startLoopbackApp();
    const run = await nodeEngine.runStep(step({ load: 3, durationMs: 700 }));
    const m = run.measurement;
    expect(Value.Errors(StepMeasurementSchema, m).First()).toBeUndefined();
    expect(m).toMatchObject({ model: 'closed', load: 3, seconds: 0.7, errors: 0, errorRate: 0, maxRequestsReached: false, errorSamples: [] });
    expect(m.errorsByKind).toEqual({ status: 0, body: 0, timeout: 0, connection: 0, dropped: 0 });
    expect(m.requests).toBeGreaterThan(0);
    expect(app.counts.other).toBe(0);
    expectWindowRule(run, app);
    // Each user has at most one request in flight at the window's end, which is left out.
    expect(totalReceived(app) - m.requests).toBeGreaterThanOrEqual(0);
    expect(totalReceived(app) - m.requests).toBeLessThanOrEqual(3);
    const sum = Object.values(m.endpoints).reduce((n, e) => n + e.requests, 0);
    expect(sum).toBe(m.requests);
    expect(m.rps).toBeCloseTo(m.requests / 0.7, 0);
    // Closed loop: each user's requests follow list -> product -> order -> order_view.
    expect(m.endpoints.list!.requests - m.endpoints.order_view!.requests).toBeLessThanOrEqual(3);
    expect(m.endpoints.list!.requests).toBeGreaterThanOrEqual(m.endpoints.order_view!.requests);
    expectOrderedLatency(m.latencyMs);
    for (const e of Object.values(m.endpoints)) expect(e.latencyMs.max).toBeGreaterThan(0);
    // Server time is the apps' own Server-Timing figure (this server always reports 2.5 ms), not a client clock.
    expect(m.serverMs).not.toBeNull();
    for (const v of Object.values(m.serverMs!)) expect(v).toBeCloseTo(2.5, 2);
    expect(m.driver.engine).toBe('node');
    expect(m.driver.parallelism).toBe(1);
    expect(m.driver.cpuPct).toBeGreaterThan(0);
    expect(m.driver.eventLoopDelayP99Ms).toBeGreaterThanOrEqual(0);
    expect(run.window.endMs - run.window.startMs).toBe(700);
    // Every created order is listed, and none is for a low-stock product.
    expect(run.createdOrders.length).toBe(app.orders.size);
    for (const o of run.createdOrders) {
      expect(app.orders.get(o.id)).toEqual({ productId: o.productId, quantity: 1 });
      expect(o.productId).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID);
      expect(o.productId).toBeLessThanOrEqual(PRODUCT_COUNT);
    }
    // Each user keeps one keep-alive connection.
    expect(app.connectionsAccepted()).toBe(3);
    // POST bodies are JSON.
    expect(app.records.filter((r) => r.name === 'order').every((r) => r.contentType === 'application/json')).toBe(true);
  });

  it('counts only responses completing inside the window: warm-up-started ones that finish inside, not those in flight at the end', async () => {
    // Every response takes 200 ms. Warm-up 100 ms, window 600 ms: each user's responses complete at ~200, ~400 and
    // ~600 ms (inside [100, 700)); its 4th request (order_view) is sent at ~600 and completes at ~800, after the end.
    app = await startLoopbackApp({ fault: () => ({ delayMs: 200 }) });
    const run = await runNodeStep(step({ load: 3, warmupMs: 100, durationMs: 600 }));
    const m = run.measurement;
    expect(app.counts).toMatchObject({ list: 3, product: 3, order: 3, order_view: 3 });
    expect(m.requests).toBe(9);
    expect(m.endpoints.list!.requests).toBe(3); // sent during the warm-up, completed inside: counted
    expect(m.endpoints.order!.requests).toBe(3);
    expect(m.endpoints.order_view).toBeUndefined(); // straddled the end: left out
    expect(app.finishedBetween(run.window.startMs, run.window.endMs)).toBe(9);
    expect(app.finishedBetween(run.window.endMs, Infinity, 'order_view')).toBe(3);
    expect(m.errors).toBe(0);
    // Latency is at least the server's delay.
    expect(m.latencyMs.p50).toBeGreaterThanOrEqual(200);
    // The orders exist whatever the window: all three are reported for the audit.
    expect(run.createdOrders).toHaveLength(3);
  });

  it('does not record warm-up requests, but reports the orders they created', async () => {
    app = await startLoopbackApp();
    const run = await runNodeStep(step({ load: 2, warmupMs: 300, durationMs: 400 }));
    expectWindowRule(run, app);
    expect(app.finishedBetween(0, run.window.startMs - DELIVERY_MS)).toBeGreaterThan(0);
    expect(run.measurement.requests).toBeLessThan(totalReceived(app));
    expect(run.createdOrders.length).toBe(app.orders.size);
  });

  it('reads serverMs from the Server-Timing header: null when the server sends none', async () => {
    app = await startLoopbackApp({ serverTimingMs: false });
    const run = await runNodeStep(step({ load: 1, maxRequests: 20, durationMs: 30_000 }));
    expect(run.measurement.requests).toBe(20);
    expect(run.measurement.serverMs).toBeNull();
  });

  it('counts 500s as status errors and dropped connections as connection errors, per endpoint', async () => {
    // Bounded by the request cap (not the clock), so that every request completes inside the window.
    app = await startLoopbackApp({
      fault: (name, n) => (name === 'product' && n % 5 === 0 ? { status: 500 } : name === 'order_view' && n % 4 === 0 ? { destroy: true } : undefined),
    });
    const run = await runNodeStep(step({ load: 2, durationMs: 30_000, maxRequests: 200 }));
    const m = run.measurement;
    expect(m.requests).toBe(200);
    expect(totalReceived(app)).toBe(200);
    expect(app.faults.status).toBeGreaterThan(0);
    expect(app.faults.destroy).toBeGreaterThan(0);
    expect(m.errorsByKind).toEqual({ status: app.faults.status, body: 0, timeout: 0, connection: app.faults.destroy, dropped: 0 });
    expect(m.endpoints.product!.errors).toBe(app.faults.status);
    expect(m.endpoints.order_view!.errors).toBe(app.faults.destroy);
    expect(m.endpoints.list!.errors).toBe(0);
    expect(m.endpoints.order!.errors).toBe(0);
    expect(m.errors).toBe(app.faults.status + app.faults.destroy);
    expect(m.errorRate).toBeCloseTo(m.errors / m.requests, 5);
    // After a 500 the journey stops: no order for that product view (each user may also be cut by the cap between
    // its product view and its order).
    const okViews = m.endpoints.product!.requests - m.endpoints.product!.errors;
    expect(m.endpoints.order!.requests).toBeLessThanOrEqual(okViews);
    expect(m.endpoints.order!.requests).toBeGreaterThanOrEqual(okViews - 2);
    expect(m.errorSamples.some((s) => s.includes('expected 200, got 500'))).toBe(true);
    expect(m.errorSamples.length).toBeLessThanOrEqual(5);
    // Each request, error or not, was seen by the server exactly once (no silent retries).
    for (const name of REQUEST_NAMES) expect(m.endpoints[name]!.requests, name).toBe(app.counts[name]);
    // A connection error has no latency; a 500 has one. Only order_view had connection errors, so its histogram
    // holds fewer values than its request count, but latency figures exist for it.
    expect(m.endpoints.order_view!.latencyMs.max).toBeGreaterThan(0);
  });

  it('counts requests without an answer in time as timeouts, at their elapsed time', async () => {
    app = await startLoopbackApp({ fault: (name) => (name === 'order_view' ? { hang: true } : undefined) });
    // 2 users x 2 journeys of 4 requests: every journey ends on a hanging order_view.
    const run = await runNodeStep(step({ load: 2, durationMs: 30_000, requestTimeoutMs: 250, maxRequests: 16 }));
    const m = run.measurement;
    expect(app.counts.order_view).toBe(4);
    expect(m.errorsByKind).toMatchObject({ timeout: 4, connection: 0, status: 0 });
    expect(m.endpoints.order_view).toMatchObject({ requests: 4, errors: 4 });
    // Recorded at the time they took to fail (the timeout), not at zero.
    expect(m.endpoints.order_view!.latencyMs.p50).toBeGreaterThanOrEqual(240);
    expect(m.errorSamples).toContain('order_view: timeout error');
  });

  it('counts refused connections as connection errors, without latency', async () => {
    app = await startLoopbackApp();
    const url = app.url;
    await app.close();
    app = undefined;
    const run = await runNodeStep({ ...step({ load: 1, durationMs: 200, maxRequests: 50 }), baseUrl: url });
    const m = run.measurement;
    expect(m.requests).toBeGreaterThan(0);
    expect(m.errors).toBe(m.requests);
    expect(m.errorsByKind.connection).toBe(m.requests);
    expect(m.endpoints.list!.requests).toBe(m.requests);
    expect(m.latencyMs).toEqual({ avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 });
    expect(m.serverMs).toBeNull();
    expect(run.createdOrders).toEqual([]);
  });

  it('honours maxRequests as a hard bound', async () => {
    app = await startLoopbackApp();
    const run = await runNodeStep(step({ load: 4, durationMs: 30_000, maxRequests: 37 }));
    expect(run.measurement.requests).toBe(37);
    expect(run.measurement.maxRequestsReached).toBe(true);
    expect(totalReceived(app)).toBe(37);
  });

  it('counts the warm-up against maxRequests too', async () => {
    app = await startLoopbackApp();
    const run = await runNodeStep(step({ load: 2, warmupMs: 10_000, durationMs: 30_000, maxRequests: 10 }));
    // The cap is reached inside the warm-up: nothing measured, the step flagged.
    expect(totalReceived(app)).toBe(10);
    expect(run.measurement.requests).toBe(0);
    expect(run.measurement.maxRequestsReached).toBe(true);
  });

  it('reports progress during the measured window', async () => {
    app = await startLoopbackApp();
    const seen: number[] = [];
    const run = await runNodeStep(step({ load: 1, durationMs: 1_300, onProgress: (p) => seen.push(p.requests) }));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toBeLessThanOrEqual(run.measurement.requests);
  });

  it('applies think time between requests', async () => {
    app = await startLoopbackApp();
    const run = await runNodeStep(step({ load: 1, durationMs: 500, thinkMs: 100 }));
    // One user pausing 100 ms between the requests of a journey cannot send more than 7 requests in 0.5 s.
    expect(run.measurement.requests).toBeGreaterThan(0);
    expect(totalReceived(app)).toBeLessThanOrEqual(7);
  });

  it('rejects when the signal aborts, and destroys its connections', async () => {
    // The server never answers: only destroying the connections closes them.
    app = await startLoopbackApp({ fault: () => ({ hang: true }) });
    const controller = new AbortController();
    const server = app;
    setTimeout(() => controller.abort(), 150);
    await expect(runNodeStep(step({ load: 3, durationMs: 20_000, signal: controller.signal }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.connectionsAccepted()).toBe(3);
    expect(await eventually(() => server.openConnections() === 0)).toBe(true);
  });

  it('rejects at once when the signal is already aborted', async () => {
    app = await startLoopbackApp();
    await expect(runNodeStep(step({ signal: AbortSignal.abort(new Error('stop now')) }))).rejects.toThrow('stop now');
    expect(totalReceived(app)).toBe(0);
  });

  it('refuses non-loopback targets, however they are written, and bad options', async () => {
    for (const baseUrl of ['http://192.0.2.1:3000', 'http://127.1:3000', 'http://0x7f.0.0.1:3000', 'http://127.0.0.01:3000', 'https://127.0.0.1:3000']) {
      await expect(runNodeStep({ ...step({}), baseUrl }), baseUrl).rejects.toThrow(/loopback/);
    }
    // The refusal names the host as written, not as a URL parser normalized it (127.1 -> 127.0.0.1).
    await expect(runNodeStep({ ...step({}), baseUrl: 'http://0x7f.0.0.1:3000' })).rejects.toThrow(/0x7f\.0\.0\.1/);
    app = await startLoopbackApp();
    await expect(runNodeStep(step({ load: 0 }))).rejects.toThrow(/load/);
    await expect(runNodeStep(step({ load: 1.5 }))).rejects.toThrow(/load/);
    await expect(runNodeStep(step({ productCount: 3 }))).rejects.toThrow(/productCount/);
    await expect(runNodeStep(step({ maxRequests: 0 }))).rejects.toThrow(/maxRequests/);
    await expect(runNodeStep(step({ durationMs: 0 }))).rejects.toThrow(/durationMs/);
    await expect(runNodeStep(step({ requestTimeoutMs: 0 }))).rejects.toThrow(/requestTimeoutMs/);
    expect(totalReceived(app)).toBe(0);
  });
});

describe('embedded driver, open model', () => {
  it('starts journeys on the schedule: rate x (warm-up + window), counted on the server', async () => {
    // 20 journeys/s for 250 ms warm-up + 1000 ms window: arrivals at 0, 50, ..., 1200 ms -> 25 journeys; the
    // last one is 50 ms before the window's end.
    app = await startLoopbackApp();
    const run = await runNodeStep(step({ model: 'open', load: 20, warmupMs: 250, durationMs: 1_000 }));
    const m = run.measurement;
    expect(m.model).toBe('open');
    expect(m.load).toBe(20);
    // Every arrival either started its journey (the server saw its list request) or was dropped: exactly 25.
    expect(app.counts.list + m.errorsByKind.dropped).toBe(25);
    expect(m.errors).toBe(m.errorsByKind.dropped);
    // A healthy server: no arrival waits, so at most the very last one could miss the window on a stalled machine.
    expect(app.counts.list).toBeGreaterThanOrEqual(24);
    expectWindowRule(run, app);
    expect(m.endpoints.list!.requests).toBeLessThanOrEqual(21);
    expect(Value.Errors(StepMeasurementSchema, m).First()).toBeUndefined();
  });

  it('times the first request of a journey from its intended start: a stall shows in many latencies (coordinated omission)', async () => {
    // One connection at most; the very first response takes 300 ms. Arrivals every 20 ms meanwhile wait for the
    // connection: arrival k (k = 0..7) cannot finish its list request before 300 ms, so its latency from its
    // intended start (20k ms) is >= 300 - 20k >= 160 ms. That is >= 8 of <= 50 list requests: p90 >= 150 ms. Timed
    // from when each request was actually sent, only one request would have been slow.
    app = await startLoopbackApp({ fault: (name, n) => (name === 'list' && n === 1 ? { delayMs: 300 } : undefined) });
    const run = await runNodeStep(step({ model: 'open', load: 50, warmupMs: 0, durationMs: 1_000, maxInFlight: 1 }));
    const list = run.measurement.endpoints.list!;
    expect(app.connectionsAccepted()).toBe(1);
    expect(list.requests).toBeLessThanOrEqual(50);
    expect(list.latencyMs.max).toBeGreaterThanOrEqual(300);
    expect(list.latencyMs.p90).toBeGreaterThanOrEqual(150);
  });

  it('drops journeys that cannot get a connection within the request timeout', async () => {
    // One connection, 100 ms per list response, 50 arrivals/s: most arrivals wait > 300 ms and are dropped.
    app = await startLoopbackApp({ fault: (name) => (name === 'list' ? { delayMs: 100 } : undefined) });
    const run = await runNodeStep(step({ model: 'open', load: 50, warmupMs: 0, durationMs: 1_000, requestTimeoutMs: 300, maxInFlight: 1 }));
    const m = run.measurement;
    expect(app.connectionsAccepted()).toBe(1);
    // Each journey holds the only connection for >= 100 ms: at most 10 can start in the 1 s window.
    expect(app.counts.list).toBeLessThanOrEqual(10);
    // Arrivals at 0, 20, ..., 980 ms: each either reached the server or was dropped (so >= 40 dropped).
    expect(app.counts.list + m.errorsByKind.dropped).toBe(50);
    expect(m.errors).toBe(m.errorsByKind.dropped);
    expect(m.endpoints.list!.errors).toBe(m.errorsByKind.dropped);
    expect(m.errorSamples.some((s) => /dropped/.test(s))).toBe(true);
    expect(Value.Errors(StepMeasurementSchema, m).First()).toBeUndefined();
  });

  it('rejects when the signal aborts, and destroys its connections', async () => {
    app = await startLoopbackApp({ fault: () => ({ hang: true }) });
    const server = app;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    await expect(runNodeStep(step({ model: 'open', load: 50, durationMs: 20_000, signal: controller.signal }))).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.connectionsAccepted()).toBeGreaterThan(0);
    expect(await eventually(() => server.openConnections() === 0)).toBe(true);
  });

  it('accepts a fractional rate', async () => {
    app = await startLoopbackApp();
    // 2.5 journeys/s for 1 s: arrivals at 0, 400 and 800 ms.
    const run = await runNodeStep(step({ model: 'open', load: 2.5, warmupMs: 0, durationMs: 1_000 }));
    expect(app.counts.list + run.measurement.errorsByKind.dropped).toBe(3);
  });
});
