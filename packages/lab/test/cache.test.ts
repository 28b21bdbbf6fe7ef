import type { LabCacheMode, Product, Store } from '@stackbench/contract';
import { cachedStore, createLabCache, ifNoneMatchMatches, strongEtag, type LabCache } from '@stackbench/lab';
import { createStore, DEFAULT_DATABASE_TIMEOUTS } from '@stackbench/server';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { describeWithPart } from '@stackbench/test-support/optional';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from './support/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * cachedStore on the real pg store and a real PostgreSQL, for each server-side cache mode. Product ids are spread so
 * that the cases do not share entries.
 */
function describeCachedStore(mode: Extract<LabCacheMode, 'memory' | 'redis'>, redisUrl: () => string | null): void {
  let db: TestDatabase;
  let store: Store;
  const caches: LabCache[] = [];
  const cache = (cacheTtlMs: number) => {
    const c = createLabCache({ cache: mode, cacheTtlMs, redisUrl: redisUrl() });
    caches.push(c);
    return c;
  };
  const soldInDb = async (id: number) => (await db.sql<{ sold: number }>('SELECT sold FROM products WHERE id = $1', [id]))[0]!.sold;

  beforeAll(async () => {
    db = await createTestDatabase(`lab_cache_${mode}`, { products: 200 });
    store = await createStore('pg', { databaseUrl: db.url, conn: 'pool', poolSize: 4, timeouts: DEFAULT_DATABASE_TIMEOUTS });
  });
  afterEach(async () => {
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it('misses once, then hits, and really serves from the cache (a change made behind its back stays hidden)', async () => {
    const c = cache(60_000);
    const cached = cachedStore(store, c);
    const first = await cached.getProduct(20);
    expect(c.stats()).toEqual({ mode, hits: 0, misses: 1, hitRate: 0, instance: process.pid });
    expect(await cached.getProduct(20)).toEqual(first);
    expect(c.stats()).toEqual({ mode, hits: 1, misses: 1, hitRate: 0.5, instance: process.pid });
    await db.sql('UPDATE products SET sold = sold + 5 WHERE id = 20');
    expect((await cached.getProduct(20))!.sold).toBe(first!.sold);
    expect(await soldInDb(20)).toBe(first!.sold + 5);
    // Unknown products are misses every time (never cached).
    expect(await cached.getProduct(999_999)).toBeNull();
    expect(await cached.getProduct(999_999)).toBeNull();
    expect(c.stats().misses).toBe(3);
  });

  it('expires an entry after the TTL', async () => {
    const c = cache(300);
    const cached = cachedStore(store, c);
    await cached.getProduct(30);
    await cached.getProduct(30);
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1 });
    await db.sql('UPDATE products SET sold = sold + 1 WHERE id = 30');
    await sleep(700);
    expect((await cached.getProduct(30))!.sold).toBe(await soldInDb(30));
    expect(c.stats()).toMatchObject({ hits: 1, misses: 2 });
  });

  it('invalidates the product after a successful order, and only then', async () => {
    const c = cache(60_000);
    const cached = cachedStore(store, c);
    const before = (await cached.getProduct(40))!;
    const result = await cached.placeOrder({ productId: 40, quantity: 3 });
    expect(result.status).toBe('created');
    expect((await cached.getProduct(40))!.sold).toBe(before.sold + 3);
    expect(c.stats()).toMatchObject({ hits: 0, misses: 2 });
    // Product 1 has no stock: a refused order changes nothing, so the entry stays.
    await cached.getProduct(1);
    expect((await cached.placeOrder({ productId: 1, quantity: 1 })).status).toBe('insufficient_stock');
    expect((await cached.placeOrder({ productId: 999_999, quantity: 1 })).status).toBe('product_not_found');
    await cached.getProduct(1);
    expect(c.stats()).toMatchObject({ hits: 1, misses: 3 });
    // Everything else passes through.
    const order = (result as Extract<typeof result, { status: 'created' }>).order;
    expect(await cached.getOrder(order.id)).toEqual(order);
    expect((await cached.listProducts({ limit: 2, after: 39 })).items[0]).toEqual(await store.getProduct(40));
    await expect(cached.ping()).resolves.toBeUndefined();
  });

  it('never stores what a read fetched before an invalidation (the stale-fill race)', async () => {
    const c = cache(60_000);
    // The real store, with the first read of product 50 held after the database answered: an order lands meanwhile.
    let hold: Promise<void> | undefined;
    let release!: () => void;
    let fetched!: () => void;
    const fetchedOnce = new Promise<void>((r) => (fetched = r));
    const held: Store = {
      ...store,
      ping: () => store.ping(),
      listProducts: (q) => store.listProducts(q),
      getOrder: (id) => store.getOrder(id),
      placeOrder: (i) => store.placeOrder(i),
      close: () => store.close(),
      async getProduct(id) {
        const product = await store.getProduct(id);
        if (hold) {
          const wait = hold;
          hold = undefined;
          fetched();
          await wait;
        }
        return product;
      },
    };
    const cached = cachedStore(held, c);
    hold = new Promise<void>((r) => (release = r));
    const slowRead = cached.getProduct(50);
    await fetchedOnce;
    expect((await cached.placeOrder({ productId: 50, quantity: 2 })).status).toBe('created');
    release();
    const stale = (await slowRead)!;
    // A read concurrent with the order may show either state; what comes after must show the order.
    const after = (await cached.getProduct(50))!;
    expect(after.sold).toBe(stale.sold + 2);
    expect(after.sold).toBe(await soldInDb(50));
  });

  it('keeps each app on its own counters while the entries are the backend\'s', async () => {
    const a = cache(60_000);
    const b = cache(60_000);
    const first = cachedStore(store, a);
    const second = cachedStore(store, b);
    await first.getProduct(60);
    await second.getProduct(60);
    // memory: each app its own entries; redis: one shared server, so the second app hits what the first stored.
    expect(b.stats()).toMatchObject(mode === 'memory' ? { hits: 0, misses: 1 } : { hits: 1, misses: 0 });
    await first.placeOrder({ productId: 60, quantity: 1 });
    const seen = (await second.getProduct(60))!.sold;
    // redis: the invalidation is everyone's; memory: the other app may serve its copy until the TTL.
    if (mode === 'redis') expect(seen).toBe(await soldInDb(60));
    else expect(seen).toBe((await soldInDb(60)) - 1);
  });

  it('returns the store itself for the modes that keep nothing on the server', () => {
    for (const other of ['none', 'http'] as const) {
      const c = createLabCache({ cache: other, cacheTtlMs: 1000, redisUrl: null });
      expect(cachedStore(store, c)).toBe(store);
      expect(c.backend).toBeNull();
    }
  });
}

describe('cachedStore, memory', () => {
  describeCachedStore('memory', () => null);
});

describeWithPart('redis', 'cachedStore, redis', (found) => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer(found.path);
  });
  afterAll(() => redis?.stop());

  describeCachedStore('redis', () => redis.url);

  describe('the connection', () => {
    let db: TestDatabase;
    let store: Store;
    beforeAll(async () => {
      db = await createTestDatabase('lab_cache_redis_conn', { products: 200 });
      store = await createStore('pg', { databaseUrl: db.url, conn: 'pool', poolSize: 4, timeouts: DEFAULT_DATABASE_TIMEOUTS });
    });
    afterAll(async () => {
      await store?.close();
      await db?.drop();
    });

    it('is one per app, whatever the concurrency, and closes with the cache; entries carry the TTL as PX', async () => {
      const admin = new Redis(redis.url);
      try {
        const clients = async () => Number(/connected_clients:(\d+)/.exec(await admin.info('clients'))![1]) - 1;
        const c = createLabCache({ cache: 'redis', cacheTtlMs: 45_000, redisUrl: redis.url });
        const cached = cachedStore(store, c);
        const products = await Promise.all(Array.from({ length: 100 }, (_, i) => cached.getProduct(100 + (i % 10))));
        expect(products.every((p): p is Product => p !== null)).toBe(true);
        expect(await clients()).toBe(1);
        const ttl = await admin.pttl('stackbench:lab:product:100');
        expect(ttl).toBeGreaterThan(40_000);
        expect(ttl).toBeLessThanOrEqual(45_000);
        await c.close();
        await c.close();
        for (let i = 0; i < 50 && (await clients()) > 0; i++) await sleep(20);
        expect(await clients()).toBe(0);
      } finally {
        admin.disconnect();
      }
    });

    it('fails a read when Redis is unreachable instead of hanging (a 500 for that request)', async () => {
      const gone = await startRedisServer(found.path);
      await gone.stop();
      const c = createLabCache({ cache: 'redis', cacheTtlMs: 1000, redisUrl: gone.url });
      try {
        await expect(cachedStore(store, c).getProduct(5)).rejects.toThrow();
      } finally {
        await c.close();
      }
    });
  });
});

describe('http mode helpers', () => {
  it('tags a body strongly and compares If-None-Match weakly (lists, W/, *)', () => {
    const tag = strongEtag('{"id":1}');
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(strongEtag('{"id":1}')).toBe(tag);
    expect(strongEtag('{"id":2}')).not.toBe(tag);
    expect(ifNoneMatchMatches(undefined, tag)).toBe(false);
    expect(ifNoneMatchMatches(tag, tag)).toBe(true);
    expect(ifNoneMatchMatches(`W/${tag}`, tag)).toBe(true);
    expect(ifNoneMatchMatches(`"a", ${tag}`, tag)).toBe(true);
    expect(ifNoneMatchMatches('*', tag)).toBe(true);
    expect(ifNoneMatchMatches('"a", "b"', tag)).toBe(false);
    expect(ifNoneMatchMatches(tag.slice(1, -1), tag)).toBe(false);
  });
});
