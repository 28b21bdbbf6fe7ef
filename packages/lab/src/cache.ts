import type { LabCacheMode, LabConfig, Product, Store } from '@stackbench/contract';
import { createHash } from 'node:crypto';
import type { LRUCache } from 'lru-cache';

/**
 * The cache lab. Modes:
 * - `none`: no cache (the baseline);
 * - `memory`: products read through an lru-cache in this process (TTL `cacheTtlMs`);
 * - `redis`: products read through Redis (GET, conditional SET with PX = `cacheTtlMs`), one connection per app;
 * - `http`: nothing cached on the server; `/lab/cache/products/:id` sends `Cache-Control: max-age` and a strong ETag,
 *   and answers a matching `If-None-Match` with 304, so caching is the client's (or a proxy's) job.
 *
 * Consistency (memory, redis): `placeOrder` invalidates the product after a successful order, and a read that
 * started before an invalidation never stores what it read (each entry has a version, bumped by every invalidation;
 * a fill only lands when the version is unchanged). So a process never hides its own orders: once `placeOrder`
 * returned, every later read of that product in any process on the same cache shows them. What a process can read
 * stale: in memory mode, orders placed by *other* processes, for at most the TTL (each process has its own cache);
 * in redis mode, only a read already in flight when the invalidation ran (the cache is shared).
 */

export interface LabCacheStats {
  mode: LabCacheMode;
  hits: number;
  misses: number;
  /** hits / (hits + misses); null before the first read. */
  hitRate: number | null;
  /** The process these counters belong to (each instance of a scaled-out app counts its own). */
  instance: number;
}

/** Where cached products live. Versions are opaque strings that change with every invalidation. */
interface ProductCacheBackend {
  read(id: number): Promise<{ product: Product | undefined; version: string }>;
  /** Stores `product` for the TTL unless the entry was invalidated since `version` was read. */
  fill(id: number, product: Product, version: string): Promise<void>;
  invalidate(id: number): Promise<void>;
  close(): Promise<void>;
}

/** Entries at most in memory mode: the seeded catalog (10 000 products) fits ten times over. */
const MEMORY_MAX_ENTRIES = 100_000;

function memoryBackend(ttlMs: number): ProductCacheBackend {
  // Loaded only by an app that uses it: a commerce benchmark never loads lru-cache.
  const lru: Promise<LRUCache<number, Product>> = import('lru-cache').then(({ LRUCache }) => new LRUCache<number, Product>({ max: MEMORY_MAX_ENTRIES, ttl: ttlMs }));
  lru.catch(() => undefined); // a failure surfaces in the requests that use it, not as an unhandled rejection
  // Products are few and bounded (ids of the catalog), so the versions map needs no eviction.
  const versions = new Map<number, number>();
  const versionOf = (id: number) => String(versions.get(id) ?? 0);
  return {
    async read(id) {
      return { product: (await lru).get(id), version: versionOf(id) };
    },
    async fill(id, product, version) {
      if (versionOf(id) === version) (await lru).set(id, product);
    },
    async invalidate(id) {
      versions.set(id, (versions.get(id) ?? 0) + 1);
      (await lru).delete(id);
    },
    async close() {
      (await lru.catch(() => undefined))?.clear();
    },
  };
}

/** What this module calls on ioredis: plain commands plus the two scripts defined below. */
interface LabRedis {
  mget(...keys: string[]): Promise<(string | null)[]>;
  labFill(key: string, versionKey: string, version: string, value: string, ttlMs: number): Promise<number>;
  labInvalidate(key: string, versionKey: string): Promise<number>;
  status: string;
  quit(): Promise<unknown>;
  disconnect(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** SET ... PX only when the version key still holds what the reader saw (absent reads as ''). */
const FILL_SCRIPT = `
local current = redis.call('GET', KEYS[2])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;

/** Bump the version (no TTL: a version must outlive every reader that saw the previous one) and drop the entry. */
const INVALIDATE_SCRIPT = `
redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
return 1`;

const productKey = (id: number) => `stackbench:lab:product:${id}`;
const versionKey = (id: number) => `stackbench:lab:product:${id}:version`;

function redisBackend(url: string, ttlMs: number): ProductCacheBackend {
  // ioredis: one connection per app, reconnects on its own, queues commands while (re)connecting, and runs the
  // scripts by EVALSHA. A command fails after 2 reconnection attempts instead of waiting forever.
  const client: Promise<LabRedis> = import('ioredis').then(({ Redis }) => {
    const redis = new Redis(url, {
      maxRetriesPerRequest: 2,
      connectTimeout: 2_000,
      scripts: {
        labFill: { numberOfKeys: 2, lua: FILL_SCRIPT },
        labInvalidate: { numberOfKeys: 2, lua: INVALIDATE_SCRIPT },
      },
    }) as unknown as LabRedis;
    // Connection errors reach the commands that fail because of them (a 500 for that request); without a
    // listener ioredis would also print every reconnection attempt.
    redis.on('error', () => undefined);
    return redis;
  });
  client.catch(() => undefined); // a failure surfaces in the requests that use it, not as an unhandled rejection
  return {
    async read(id) {
      const [value, version] = await (await client).mget(productKey(id), versionKey(id));
      return { product: value === null || value === undefined ? undefined : (JSON.parse(value) as Product), version: version ?? '' };
    },
    async fill(id, product, version) {
      await (await client).labFill(productKey(id), versionKey(id), version, JSON.stringify(product), ttlMs);
    },
    async invalidate(id) {
      await (await client).labInvalidate(productKey(id), versionKey(id));
    },
    async close() {
      const redis = await client.catch(() => undefined);
      if (!redis) return;
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    },
  };
}

/** The cache of one app: its mode, its backend (memory and redis only) and this process's hit and miss counts. */
export class LabCache {
  hits = 0;
  misses = 0;
  private closed: Promise<void> | undefined;

  constructor(
    readonly mode: LabCacheMode,
    readonly ttlMs: number,
    /** Null in the modes that keep nothing on the server (none, http). */
    readonly backend: ProductCacheBackend | null,
  ) {}

  stats(): LabCacheStats {
    const reads = this.hits + this.misses;
    return { mode: this.mode, hits: this.hits, misses: this.misses, hitRate: reads === 0 ? null : this.hits / reads, instance: process.pid };
  }

  /** Idempotent. */
  close(): Promise<void> {
    return (this.closed ??= this.backend?.close() ?? Promise.resolve());
  }
}

export function createLabCache(config: Pick<LabConfig, 'cache' | 'cacheTtlMs' | 'redisUrl'>): LabCache {
  switch (config.cache) {
    case 'memory':
      return new LabCache('memory', config.cacheTtlMs, memoryBackend(config.cacheTtlMs));
    case 'redis':
      if (!config.redisUrl) throw new Error('the redis cache mode needs REDIS_URL');
      return new LabCache('redis', config.cacheTtlMs, redisBackend(config.redisUrl, config.cacheTtlMs));
    case 'none':
    case 'http':
      return new LabCache(config.cache, config.cacheTtlMs, null);
  }
}

/**
 * The store with `getProduct` read through the cache and `placeOrder` invalidating the ordered product; the other
 * methods untouched. Returns `store` itself in the modes that keep nothing on the server (none, http). Apps wrap
 * their store once, and every route (the commerce ones included) uses the result.
 */
export function cachedStore(store: Store, cache: LabCache): Store {
  const backend = cache.backend;
  if (!backend) return store;
  return {
    ping: () => store.ping(),
    listProducts: (query) => store.listProducts(query),
    async getProduct(id) {
      const { product, version } = await backend.read(id);
      if (product) {
        cache.hits++;
        return product;
      }
      cache.misses++;
      const fresh = await store.getProduct(id);
      // Unknown ids are not cached: the catalog is fixed, and a miss costs one indexed lookup.
      if (fresh) await backend.fill(id, fresh, version);
      return fresh;
    },
    async placeOrder(input) {
      let result;
      try {
        result = await store.placeOrder(input);
      } catch (err) {
        // The outcome is unknown (e.g. the connection died after COMMIT was sent): invalidating is always safe.
        await backend.invalidate(input.productId).catch(() => undefined);
        throw err;
      }
      if (result.status === 'created') await backend.invalidate(input.productId);
      return result;
    },
    getOrder: (id) => store.getOrder(id),
    close: () => store.close(),
  };
}

// ---- http mode ---------------------------------------------------------------------------------------------------

/** A strong ETag of a response body: the same bytes, the same tag. */
export function strongEtag(body: string): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`;
}

/**
 * Whether `If-None-Match` matches `etag` (RFC 9110 13.1.2: weak comparison, a list of tags, or `*` for any current
 * representation).
 */
export function ifNoneMatchMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}
