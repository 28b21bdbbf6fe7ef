import { LOW_STOCK, type LabCacheMode, type Order, type Product } from '@stackbench/contract';
import { send } from '@stackbench/contract/suite';
import { createTestDatabase, withHeavyConnectionsLock, type TestDatabase } from '@stackbench/test-support/db';
import { describeWithPart } from '@stackbench/test-support/optional';
import { spawnApp, type AppChild } from '@stackbench/test-support/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './support/redis.js';

/**
 * A concurrent order storm through a cached app, per cache mode: the compiled node-http app as its own process
 * (STACKBENCH_LAB=1), 200 concurrent orders for product 4 (stock 50), interleaved with reads of the product through
 * the cache (`/lab/cache/products/4`) and the commerce route. What must hold:
 * - no read ever shows `sold > stock`;
 * - a read sent after k orders were acknowledged shows `sold >= k` (the process's own orders are never hidden);
 *   in http mode the client revalidates with If-None-Match, and a 304 must only confirm a copy that says as much;
 * - exactly 50 orders succeed, each one exists as returned, and `sold` in the database is 50.
 */
const PRODUCT = 4;
const STOCK = LOW_STOCK[PRODUCT - 1]!;
const ORDERS = 200;
const READERS = 4;

function describeStorm(mode: LabCacheMode, extraEnv: () => Record<string, string>): void {
  let db: TestDatabase;
  let app: AppChild;
  beforeAll(async () => {
    db = await createTestDatabase(`lab_storm_${mode}`);
    app = await spawnApp('node-http', {
      DATABASE_URL: db.url,
      PORT: '0',
      STACKBENCH_LAB: '1',
      STACKBENCH_LAB_CACHE: mode,
      // Long enough that a missing invalidation would show: nothing here waits for an entry to expire.
      STACKBENCH_LAB_CACHE_TTL_MS: '60000',
      ...extraEnv(),
    });
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it(`${mode}: 200 concurrent orders on a stock of 50, with reads in between, never oversell nor hide an order`, async () => {
    expect(STOCK).toBe(50);
    let acknowledged = 0;
    let ordersDone = false;
    const created: Order[] = [];
    const refused: number[] = [];
    const violations: string[] = [];
    let reads = 0;
    let notModified = 0;

    const reader = async (path: string) => {
      let copy: { etag: string; product: Product } | undefined;
      while (!ordersDone) {
        const ackedBefore = acknowledged;
        const headers: Record<string, string> = copy && mode === 'http' ? { 'if-none-match': copy.etag } : {};
        const res = await send(app.url, { method: 'GET', path, headers });
        let product: Product;
        if (res.status === 304) {
          notModified++;
          product = copy!.product;
        } else {
          if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
          product = res.json as Product;
          if (typeof res.headers['etag'] === 'string') copy = { etag: res.headers['etag'], product };
        }
        reads++;
        if (product.sold > product.stock) violations.push(`${path}: sold ${product.sold} > stock ${product.stock}`);
        if (product.sold < ackedBefore) violations.push(`${path}${res.status === 304 ? ' (304)' : ''}: sold ${product.sold} after ${ackedBefore} acknowledged orders`);
      }
    };

    await withHeavyConnectionsLock(async () => {
      const readers = Array.from({ length: READERS }, (_, i) => reader(i % 2 === 0 ? `/lab/cache/products/${PRODUCT}` : `/products/${PRODUCT}`));
      const orders = Array.from({ length: ORDERS }, async () => {
        const res = await send(app.url, { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ productId: PRODUCT, quantity: 1 }) });
        if (res.status === 201) {
          created.push(res.json as Order);
          acknowledged++;
        } else refused.push(res.status);
      });
      await Promise.all(orders);
      ordersDone = true;
      await Promise.all(readers);
    });

    expect(violations).toEqual([]);
    expect(reads).toBeGreaterThan(READERS);
    expect(created).toHaveLength(STOCK);
    expect(refused).toEqual(Array.from({ length: ORDERS - STOCK }, () => 409));
    const [row] = await db.sql<{ sold: number; orders: string }>(
      'SELECT p.sold, (SELECT count(*) FROM orders o WHERE o.product_id = p.id) AS orders FROM products p WHERE p.id = $1',
      [PRODUCT],
    );
    expect(row).toEqual({ sold: STOCK, orders: String(STOCK) });
    for (const order of created) {
      const res = await send(app.url, { method: 'GET', path: `/orders/${order.id}` });
      expect(res.status).toBe(200);
      expect(res.json).toEqual(order);
    }
    // After the storm every route shows every order.
    for (const path of [`/lab/cache/products/${PRODUCT}`, `/products/${PRODUCT}`]) {
      expect((await send(app.url, { method: 'GET', path })).json).toMatchObject({ id: PRODUCT, sold: STOCK, stock: STOCK });
    }
    if (mode === 'http') {
      // The storm's 304s (if any: sold kept changing) were checked above; once it is over, the copy stays current.
      const current = await send(app.url, { method: 'GET', path: `/lab/cache/products/${PRODUCT}` });
      const revalidated = await send(app.url, { method: 'GET', path: `/lab/cache/products/${PRODUCT}`, headers: { 'if-none-match': String(current.headers['etag']) } });
      expect(revalidated.status).toBe(304);
      notModified++;
    }
    const stats = (await send(app.url, { method: 'GET', path: '/lab/cache/stats' })).json as { mode: string; hits: number; misses: number };
    expect(stats.mode).toBe(mode);
    if (mode === 'http') expect(stats.hits).toBe(notModified);
    if (mode === 'memory' || mode === 'redis') expect(stats.hits).toBeGreaterThan(0);
  });
}

for (const mode of ['none', 'memory', 'http'] as const) {
  describe(`order storm through a cached app (${mode})`, () => describeStorm(mode, () => ({})));
}

describeWithPart('redis', 'order storm through a cached app (redis)', (found) => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer(found.path);
  });
  afterAll(() => redis?.stop());
  describeStorm('redis', () => ({ REDIS_URL: redis.url }));
});
