import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import { runStep, type StepOptions } from '../src/driver/index.js';

/**
 * A tiny in-memory implementation of the four routes the scenario uses, with fault injection. It is a driver test
 * double, not an app: no validation beyond what the scenario needs.
 */
interface Faults {
  /** Every Nth GET /products/:id answers 500. */
  productStatus500Every?: number;
  /** Every Nth GET /orders/:id has its connection destroyed without a response. */
  orderViewCloseEvery?: number;
  /** GET /orders/:id never answers (for timeouts). */
  orderViewHang?: boolean;
}

interface FakeApp {
  url: string;
  counts: Record<'list' | 'product' | 'order' | 'order_view' | 'other', number>;
  product500: number;
  orderViewClosed: number;
  orders: Map<number, { productId: number; quantity: number }>;
  orderedProducts: Set<number>;
  close(): Promise<void>;
}

const PRODUCT_COUNT = 200;

async function startFakeApp(faults: Faults = {}): Promise<FakeApp> {
  const counts = { list: 0, product: 0, order: 0, order_view: 0, other: 0 };
  const orders = new Map<number, { productId: number; quantity: number }>();
  const orderedProducts = new Set<number>();
  const sockets = new Set<Socket>();
  const state = { product500: 0, orderViewClosed: 0 };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const product = (id: number) => ({ id, name: `Product ${id}`, priceCents: 100 + id, stock: 1_000_000, sold: 0 });
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && url.pathname === '/products') {
        counts.list++;
        const limit = Number(url.searchParams.get('limit') ?? 20);
        const after = Number(url.searchParams.get('after') ?? 0);
        const items = [];
        for (let id = after + 1; id <= Math.min(after + limit, PRODUCT_COUNT); id++) items.push(product(id));
        return json(res, 200, { items, nextAfter: null });
      }
      let m = /^\/products\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        counts.product++;
        if (faults.productStatus500Every && counts.product % faults.productStatus500Every === 0) {
          state.product500++;
          return json(res, 500, { error: { code: 'internal', message: 'internal error' } });
        }
        return json(res, 200, product(Number(m[1])));
      }
      if (req.method === 'POST' && url.pathname === '/orders') {
        counts.order++;
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { productId: number; quantity: number };
        orderedProducts.add(body.productId);
        const id = orders.size + 1;
        orders.set(id, body);
        return json(res, 201, { id, ...body, unitPriceCents: 1, totalCents: 1, createdAt: new Date().toISOString() });
      }
      m = /^\/orders\/(\d+)$/.exec(url.pathname);
      if (req.method === 'GET' && m) {
        counts.order_view++;
        if (faults.orderViewHang) return; // never answers
        if (faults.orderViewCloseEvery && counts.order_view % faults.orderViewCloseEvery === 0) {
          state.orderViewClosed++;
          req.socket.destroy();
          return;
        }
        const order = orders.get(Number(m[1]));
        return order ? json(res, 200, { id: Number(m[1]), ...order }) : json(res, 404, { error: { code: 'not_found', message: 'x' } });
      }
      counts.other++;
      json(res, 404, { error: { code: 'not_found', message: 'route not found' } });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    get product500() {
      return state.product500;
    },
    get orderViewClosed() {
      return state.orderViewClosed;
    },
    orders,
    orderedProducts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let app: FakeApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function options(overrides: Partial<StepOptions>): StepOptions {
  return {
    baseUrl: app?.url ?? 'http://127.0.0.1:9',
    users: 2,
    durationMs: 600,
    warmupMs: 0,
    thinkMs: 0,
    productCount: PRODUCT_COUNT,
    maxRequests: 100_000,
    requestTimeoutMs: 5_000,
    ...overrides,
  };
}

describe('embedded driver (runStep)', () => {
  it('runs the scenario and counts every request, per endpoint, with no errors', async () => {
    app = await startFakeApp();
    const m = await runStep(options({ users: 3, durationMs: 700 }));
    expect(m.users).toBe(3);
    expect(m.requests).toBeGreaterThan(20);
    expect(m.errors).toBe(0);
    expect(m.errorRate).toBe(0);
    // No warm-up: every request the server saw was measured, route by route.
    expect(m.endpoints.list!.requests).toBe(app.counts.list);
    expect(m.endpoints.product!.requests).toBe(app.counts.product);
    expect(m.endpoints.order!.requests).toBe(app.counts.order);
    expect(m.endpoints.order_view!.requests).toBe(app.counts.order_view);
    expect(app.counts.other).toBe(0);
    const sum = Object.values(m.endpoints).reduce((n, e) => n + e.requests, 0);
    expect(sum).toBe(m.requests);
    // Closed loop: each user's requests follow list -> product -> order -> order_view.
    expect(m.endpoints.list!.requests - m.endpoints.order_view!.requests).toBeLessThanOrEqual(3);
    expect(m.endpoints.list!.requests).toBeGreaterThanOrEqual(m.endpoints.order_view!.requests);
    // Latency figures are ordered and positive.
    const l = m.latencyMs;
    expect(l.p50).toBeGreaterThan(0);
    expect(l.p50).toBeLessThanOrEqual(l.p90);
    expect(l.p90).toBeLessThanOrEqual(l.p95);
    expect(l.p95).toBeLessThanOrEqual(l.p99);
    expect(l.p99).toBeLessThanOrEqual(l.max);
    for (const e of Object.values(m.endpoints)) expect(e.latencyMs.max).toBeGreaterThan(0);
    expect(m.rps).toBeGreaterThan(0);
    expect(m.seconds).toBeGreaterThan(0);
    expect(m.iterations).toBeGreaterThan(0);
    expect(m.driver.cpuPct).toBeGreaterThanOrEqual(0);
    expect(m.driver.eventLoopDelayP99Ms).toBeGreaterThanOrEqual(0);
    expect(typeof m.driverBound).toBe('boolean');
    expect(m.driverBound).toBe(m.driver.reasons.length > 0);
    // Every created order is listed, and none is for a low-stock product.
    expect(m.createdOrders.length).toBe(app.orders.size);
    for (const o of m.createdOrders) {
      expect(app.orders.get(o.id)).toEqual({ productId: o.productId, quantity: 1 });
      expect(o.productId).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID);
      expect(o.productId).toBeLessThanOrEqual(PRODUCT_COUNT);
    }
    expect(Math.min(...app.orderedProducts)).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID);
  });

  it('does not record warm-up requests', async () => {
    app = await startFakeApp();
    const m = await runStep(options({ users: 2, warmupMs: 300, durationMs: 400 }));
    expect(m.warmupRequests).toBeGreaterThan(0);
    const seen = app.counts.list + app.counts.product + app.counts.order + app.counts.order_view;
    expect(m.requests + m.warmupRequests).toBe(seen);
    expect(m.requests).toBeLessThan(seen);
    // Warm-up orders are still reported: they changed the database too.
    expect(m.createdOrders.length).toBe(app.orders.size);
  });

  it('counts 500s as status errors and dropped connections as connection errors, per endpoint', async () => {
    app = await startFakeApp({ productStatus500Every: 5, orderViewCloseEvery: 4 });
    const m = await runStep(options({ users: 2, durationMs: 800 }));
    expect(app.product500).toBeGreaterThan(0);
    expect(app.orderViewClosed).toBeGreaterThan(0);
    expect(m.errorsByKind.status).toBe(app.product500);
    expect(m.errorsByKind.connection).toBe(app.orderViewClosed);
    expect(m.errorsByKind.timeout).toBe(0);
    expect(m.errorsByKind.body).toBe(0);
    expect(m.endpoints.product!.errors).toBe(app.product500);
    expect(m.endpoints.order_view!.errors).toBe(app.orderViewClosed);
    expect(m.endpoints.list!.errors).toBe(0);
    expect(m.endpoints.order!.errors).toBe(0);
    expect(m.errors).toBe(app.product500 + app.orderViewClosed);
    expect(m.errorRate).toBeCloseTo(m.errors / m.requests, 5);
    // After a 500 the iteration stops: no order for that product view (each user may also be cut by the deadline
    // between its product view and its order).
    const okViews = m.endpoints.product!.requests - m.endpoints.product!.errors;
    expect(m.endpoints.order!.requests).toBeLessThanOrEqual(okViews);
    expect(m.endpoints.order!.requests).toBeGreaterThanOrEqual(okViews - 2);
    expect(m.errorSamples.some((s) => s.includes('expected 200, got 500'))).toBe(true);
    // Each request, error or not, was seen by the server exactly once (no silent retries).
    expect(m.endpoints.order_view!.requests).toBe(app.counts.order_view);
  });

  it('counts requests without an answer as timeouts', async () => {
    app = await startFakeApp({ orderViewHang: true });
    const m = await runStep(options({ users: 2, durationMs: 300, requestTimeoutMs: 250 }));
    expect(m.errorsByKind.timeout).toBeGreaterThan(0);
    expect(m.endpoints.order_view!.errors).toBe(m.errorsByKind.timeout);
    expect(m.errorsByKind.timeout).toBe(m.endpoints.order_view!.requests);
    // A timeout is recorded at its elapsed time.
    expect(m.endpoints.order_view!.latencyMs.max).toBeGreaterThanOrEqual(200);
  });

  it('counts refused connections as connection errors', async () => {
    app = await startFakeApp();
    const url = app.url;
    await app.close();
    app = undefined;
    const m = await runStep({ ...options({ users: 1, durationMs: 200, maxRequests: 50 }), baseUrl: url });
    expect(m.requests).toBeGreaterThan(0);
    expect(m.errors).toBe(m.requests);
    expect(m.errorsByKind.connection).toBe(m.requests);
    expect(m.endpoints.list!.requests).toBe(m.requests);
    expect(m.createdOrders).toEqual([]);
  });

  it('honours maxRequests as a hard bound', async () => {
    app = await startFakeApp();
    const m = await runStep(options({ users: 4, durationMs: 30_000, maxRequests: 37 }));
    expect(m.requests).toBe(37);
    expect(m.maxRequestsReached).toBe(true);
    const seen = app.counts.list + app.counts.product + app.counts.order + app.counts.order_view;
    expect(seen).toBe(37);
    expect(m.seconds).toBeLessThan(30);
  });

  it('bounds the warm-up by maxRequests too', async () => {
    app = await startFakeApp();
    const m = await runStep(options({ users: 2, warmupMs: 400, durationMs: 30_000, maxRequests: 10 }));
    expect(m.warmupRequests).toBe(10);
    expect(m.requests).toBe(10);
    const seen = app.counts.list + app.counts.product + app.counts.order + app.counts.order_view;
    expect(seen).toBe(20);
  });

  it('reports progress during the measured window', async () => {
    app = await startFakeApp();
    const seen: number[] = [];
    const m = await runStep(options({ users: 1, durationMs: 1_300, onProgress: (p) => seen.push(p.requests) }));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen[0]).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toBeLessThanOrEqual(m.requests);
  });

  it('applies think time between requests', async () => {
    app = await startFakeApp();
    const m = await runStep(options({ users: 1, durationMs: 500, thinkMs: 100 }));
    // One user with 100 ms pauses cannot send more than ~6 requests in 0.5 s.
    expect(m.requests).toBeGreaterThan(0);
    expect(m.requests).toBeLessThanOrEqual(7);
  });

  it('rejects when the signal aborts', async () => {
    app = await startFakeApp();
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 150);
    await expect(runStep(options({ users: 2, durationMs: 20_000, signal: controller.signal }))).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('refuses non-loopback targets and bad options', async () => {
    await expect(runStep({ ...options({}), baseUrl: 'http://192.0.2.1:3000' } as StepOptions)).rejects.toThrow(/loopback/);
    app = await startFakeApp();
    await expect(runStep(options({ users: 0 }))).rejects.toThrow(/users/);
    await expect(runStep(options({ productCount: 3 }))).rejects.toThrow(/productCount/);
    await expect(runStep(options({ maxRequests: 0 }))).rejects.toThrow(/maxRequests/);
  });
});
