/**
 * Store-level tests shared by the ORM stores (store-drizzle and store-typeorm run it on their own factory): every
 * Store method against a real seeded database, in both connection strategies, plus what each strategy promises
 * about server connections, observed on the server (pg_stat_database / pg_stat_activity), not assumed.
 */
import {
  LOW_STOCK,
  REGULAR_STOCK,
  seededPriceCents,
  seededProductName,
  type ConnectionStrategy,
  type PlaceOrderResult,
  type Store,
  type StoreConfig,
} from '@stackbench/contract';
import { DEFAULT_DATABASE_TIMEOUTS } from '@stackbench/server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, withHeavyConnectionsLock, type TestDatabase } from './db.js';
import { CONTENTION_DATABASE_TIMEOUTS } from './servers.js';

export type StoreFactory = (config: StoreConfig) => Store | Promise<Store>;

const PRODUCTS = 105;
const POOL_SIZE = 4;
const PRODUCT_KEYS = ['id', 'name', 'priceCents', 'stock', 'sold'];
const ORDER_KEYS = ['id', 'productId', 'quantity', 'unitPriceCents', 'totalCents', 'createdAt'];
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const seededProduct = (id: number, sold = 0) => ({
  id,
  name: seededProductName(id),
  priceCents: seededPriceCents(id),
  stock: id <= LOW_STOCK.length ? LOW_STOCK[id - 1]! : REGULAR_STOCK,
  sold,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A client on the server's maintenance database, so watching the test database adds no session to it. */
async function observer(): Promise<pg.Client> {
  const url = new URL(inject('databaseServerUrl'));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString(), application_name: 'stackbench-test-observer' });
  await client.connect();
  return client;
}


export function describeStore(label: string, factory: StoreFactory, strategies: readonly ConnectionStrategy[] = ['pool', 'per-request']): void {
  describe.each(strategies)(`${label} store (%s)`, (conn) => {
    let db: TestDatabase;
    let store: Store;
    let watch: pg.Client;

    const stackbenchBackends = async (): Promise<{ pid: number; wait_event_type: string | null }[]> =>
      (
        await watch.query<{ pid: number; wait_event_type: string | null }>(
          "SELECT pid, wait_event_type FROM pg_stat_activity WHERE datname = $1 AND application_name = 'stackbench' ORDER BY pid",
          [db.name],
        )
      ).rows;
    const anyBackends = async (): Promise<number> =>
      Number(
        (await watch.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", [db.name]))
          .rows[0]!.n,
      );
    const sessions = async (): Promise<number> =>
      Number((await watch.query<{ s: string }>('SELECT sessions AS s FROM pg_stat_database WHERE datname = $1', [db.name])).rows[0]!.s);

    beforeAll(async () => {
      db = await createTestDatabase(`${label}_${conn}`, { products: PRODUCTS });
      watch = await observer();
      store = await factory({ databaseUrl: db.url, conn, poolSize: POOL_SIZE, timeouts: DEFAULT_DATABASE_TIMEOUTS });
    });

    afterAll(async () => {
      await store?.close();
      await watch?.end();
      await db?.drop();
    });

    it('pings', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('lists the first page in id order, with exactly the contract keys', async () => {
      const page = await store.listProducts({ limit: 3, after: 0 });
      expect(page).toEqual({ items: [seededProduct(1), seededProduct(2), seededProduct(3)], nextAfter: 3 });
      for (const item of page.items) expect(Object.keys(item)).toEqual(PRODUCT_KEYS);
      expect(typeof page.items[0]!.priceCents).toBe('number');
    });

    it('walks every page and ends with nextAfter null', async () => {
      const ids: number[] = [];
      let after = 0;
      let pages = 0;
      for (;;) {
        const page = await store.listProducts({ limit: 50, after });
        pages++;
        ids.push(...page.items.map((p) => p.id));
        if (page.nextAfter === null) break;
        expect(page.nextAfter).toBe(page.items[page.items.length - 1]!.id);
        after = page.nextAfter;
      }
      expect(pages).toBe(3);
      expect(ids).toEqual(Array.from({ length: PRODUCTS }, (_, i) => i + 1));
    });

    it('returns nextAfter null when the page ends exactly at the last row, and an empty page past it', async () => {
      const last = await store.listProducts({ limit: 5, after: PRODUCTS - 5 });
      expect(last.items.map((p) => p.id)).toEqual([101, 102, 103, 104, 105]);
      expect(last.nextAfter).toBeNull();
      const oneShort = await store.listProducts({ limit: 4, after: PRODUCTS - 5 });
      expect(oneShort.nextAfter).toBe(104);
      expect(await store.listProducts({ limit: 10, after: PRODUCTS })).toEqual({ items: [], nextAfter: null });
    });

    it('gets a product, or null for an unknown id', async () => {
      const product = await store.getProduct(42);
      expect(product).toEqual(seededProduct(42));
      expect(Object.keys(product!)).toEqual(PRODUCT_KEYS);
      expect(await store.getProduct(999_999)).toBeNull();
    });

    it('places an order and reads it back (round trip), incrementing sold', async () => {
      const before = Date.now();
      const result = await store.placeOrder({ productId: 42, quantity: 3 });
      expect(result.status).toBe('created');
      const order = (result as Extract<PlaceOrderResult, { status: 'created' }>).order;
      expect(Object.keys(order)).toEqual(ORDER_KEYS);
      expect(order).toMatchObject({ productId: 42, quantity: 3, unitPriceCents: seededPriceCents(42), totalCents: 3 * seededPriceCents(42) });
      expect(Number.isInteger(order.id)).toBe(true);
      expect(order.createdAt).toMatch(ISO_UTC);
      expect(Date.parse(order.createdAt)).toBeGreaterThanOrEqual(before - 5_000);
      expect(Date.parse(order.createdAt)).toBeLessThanOrEqual(Date.now() + 5_000);

      const read = await store.getOrder(order.id);
      expect(read).toEqual(order);
      expect(Object.keys(read!)).toEqual(ORDER_KEYS);
      expect(await store.getProduct(42)).toEqual(seededProduct(42, 3));

      const [row] = await db.sql<{ created_at: Date }>('SELECT created_at FROM orders WHERE id = $1', [order.id]);
      expect(row!.created_at.toISOString()).toBe(order.createdAt);
    });

    it('returns null for an unknown order', async () => {
      expect(await store.getOrder(999_999)).toBeNull();
    });

    it('reports insufficient stock (409) with what is available, changing nothing', async () => {
      expect(await store.placeOrder({ productId: 1, quantity: 1 })).toEqual({ status: 'insufficient_stock', available: 0 });
      expect(await store.placeOrder({ productId: 2, quantity: 2 })).toEqual({ status: 'insufficient_stock', available: 1 });
      const rows = await db.sql<{ n: string }>('SELECT count(*) AS n FROM orders WHERE product_id IN (1, 2)');
      expect(rows[0]!.n).toBe('0');
      expect(await store.getProduct(2)).toEqual(seededProduct(2));
    });

    it('reports an unknown product (404)', async () => {
      expect(await store.placeOrder({ productId: 999_999, quantity: 1 })).toEqual({ status: 'product_not_found' });
    });

    it('sells the last unit exactly once', async () => {
      expect((await store.placeOrder({ productId: 2, quantity: 1 })).status).toBe('created');
      expect(await store.placeOrder({ productId: 2, quantity: 1 })).toEqual({ status: 'insufficient_stock', available: 0 });
    });

    it('never oversells: 200 concurrent orders for a product with stock 50', async () => {
      const productId = 4; // stock 50
      expect(LOW_STOCK[productId - 1]).toBe(50);
      const patient = await factory({ databaseUrl: db.url, conn, poolSize: POOL_SIZE, timeouts: CONTENTION_DATABASE_TIMEOUTS });
      const results = await withHeavyConnectionsLock(() =>
        Promise.all(Array.from({ length: 200 }, () => patient.placeOrder({ productId, quantity: 1 }))),
      ).finally(() => patient.close());
      const created = results.filter((r) => r.status === 'created');
      const refused = results.filter((r) => r.status === 'insufficient_stock');
      expect(created).toHaveLength(50);
      expect(refused).toHaveLength(150);
      for (const r of refused) expect(r).toEqual({ status: 'insufficient_stock', available: 0 });
      expect(new Set(created.map((r) => r.order.id)).size).toBe(50);
      const [row] = await db.sql<{ sold: number; orders: string; quantity: string }>(
        'SELECT p.sold, count(o.id) AS orders, coalesce(sum(o.quantity), 0) AS quantity FROM products p LEFT JOIN orders o ON o.product_id = p.id WHERE p.id = $1 GROUP BY p.sold',
        [productId],
      );
      expect(row).toEqual({ sold: 50, orders: '50', quantity: '50' });
    });

    if (conn === 'per-request') {
      it('opens exactly one new server connection per call, and closes it', async () => {
        // Nothing else may be connected to the test database while sessions are counted (pg_stat_database.sessions
        // counts client backends only, so an autovacuum worker does not matter).
        await until('no connections to the test database', async () => ((await anyBackends()) === 0 ? true : undefined));
        const start = await sessions();
        const calls: (() => Promise<unknown>)[] = [
          () => store.ping(),
          () => store.listProducts({ limit: 10, after: 0 }),
          () => store.getProduct(7),
          () => store.getProduct(999_999),
          () => store.placeOrder({ productId: 7, quantity: 1 }),
          () => store.placeOrder({ productId: 1, quantity: 1 }),
          () => store.placeOrder({ productId: 999_999, quantity: 1 }),
          () => store.getOrder(1),
        ];
        for (const call of calls) {
          await call();
          // Closed after the call (a pool-backed store closes asynchronously on release, hence the wait).
          await until('the call connection to close', async () => ((await stackbenchBackends()).length === 0 ? true : undefined));
        }
        // A backend's stats (its session included) are flushed when it exits.
        const counted = await until('the sessions to be counted', async () => {
          const n = (await sessions()) - start;
          return n >= calls.length ? n : undefined;
        });
        await sleep(300);
        expect(counted).toBe(calls.length);
        expect((await sessions()) - start).toBe(calls.length);
      });

      it('uses one connection for a whole placeOrder, and a different one for the next call', async () => {
        const pids: number[] = [];
        for (let i = 0; i < 2; i++) {
          const blocker = new pg.Client({ connectionString: db.url, application_name: 'stackbench-test-blocker' });
          await blocker.connect();
          try {
            await blocker.query('BEGIN');
            await blocker.query('SELECT 1 FROM products WHERE id = 8 FOR UPDATE');
            const pending = store.placeOrder({ productId: 8, quantity: 1 });
            const waiting = await until('placeOrder to wait on the row lock', async () => {
              const rows = await stackbenchBackends();
              return rows.some((r) => r.wait_event_type === 'Lock') ? rows : undefined;
            });
            expect(waiting).toHaveLength(1);
            pids.push(waiting[0]!.pid);
            await blocker.query('COMMIT');
            expect((await pending).status).toBe('created');
          } finally {
            await blocker.end();
          }
        }
        expect(pids[0]).not.toBe(pids[1]);
      });
    } else {
      it('reuses its pooled connections across calls, within poolSize', async () => {
        await store.ping();
        const before = await stackbenchBackends();
        expect(before.length).toBeGreaterThan(0);
        expect(before.length).toBeLessThanOrEqual(POOL_SIZE);
        for (let i = 0; i < 5; i++) {
          await store.listProducts({ limit: 10, after: 0 });
          await store.getProduct(7);
          await store.placeOrder({ productId: 7, quantity: 1 });
          await store.getOrder(1);
        }
        // No connection was opened (the pool may have closed an idle one in between: pg-pool's idle timeout).
        const after = await stackbenchBackends();
        expect(after.length).toBeGreaterThan(0);
        for (const { pid } of after) expect(before.map((r) => r.pid)).toContain(pid);
      });

      it('never holds more than poolSize connections under load', async () => {
        const peak = { n: 0 };
        let done = false;
        const sampler = (async () => {
          while (!done) {
            peak.n = Math.max(peak.n, (await stackbenchBackends()).length);
            await sleep(5);
          }
        })();
        await Promise.all(Array.from({ length: 40 }, (_, i) => store.placeOrder({ productId: 10 + (i % 5), quantity: 1 })));
        done = true;
        await sampler;
        expect(peak.n).toBeGreaterThan(0);
        expect(peak.n).toBeLessThanOrEqual(POOL_SIZE);
      });
    }

    it('closes idempotently', async () => {
      const extra = await factory({ databaseUrl: db.url, conn, poolSize: POOL_SIZE, timeouts: DEFAULT_DATABASE_TIMEOUTS });
      await extra.ping();
      await Promise.all([extra.close(), extra.close()]);
      await expect(extra.close()).resolves.toBeUndefined();
    });
  });

  describe(`${label} store against an unreachable database`, () => {
    it.each(strategies)('rejects (%s)', async (conn) => {
      const attempt = async () => {
        const store = await factory({ databaseUrl: 'postgres://stackbench:stackbench@127.0.0.1:1/nothing', conn, poolSize: 2, timeouts: DEFAULT_DATABASE_TIMEOUTS });
        try {
          await store.ping();
        } finally {
          await store.close();
        }
      };
      await expect(attempt()).rejects.toThrow();
    });
  });
}
