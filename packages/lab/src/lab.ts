import { ApiError, errors, parseId, type LabConfig, type Product, type ProductPage, type Store } from '@stackbench/contract';
import { pbkdf2 } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { cachedStore, createLabCache, ifNoneMatchMatches, strongEtag, type LabCache, type LabCacheStats } from './cache.js';
import { acquireUpstreamClient, type UpstreamClient } from './fanout.js';
import {
  LAB_MESSAGES,
  parseCpuQuery,
  parseFanoutQuery,
  parsePbkdf2Query,
  parseProductsQuery,
  parseWaitQuery,
  type CpuMode,
  type CpuQuery,
  type FanoutQuery,
  type LabQuery,
  type Pbkdf2Query,
  type ProductsQuery,
  type WaitMode,
  type WaitQuery,
} from './params.js';
import { acquireWorkPool, type WorkPool } from './pool.js';
import type { LabRouteName } from './routes.js';
import { blockFor, countPrimesBelow } from './work.js';

/**
 * The framework-neutral handler shape: each route takes parsed input and returns a LabReply, which the app writes in
 * its own idiom (status, extra headers, and a JSON value it serializes its own way). Errors are the contract's
 * ApiError (400 for bad parameters, 404, 503), which every app already turns into the contract's error body.
 */
export interface LabReply<T = unknown> {
  status: 200 | 304;
  /** Headers to add to the response (cache routes: cache-control, etag). */
  headers: Readonly<Record<string, string>>;
  /** The JSON value to send; undefined for a 304 (no body). */
  body: T | undefined;
}

/** A request as `Lab.handle` needs it: the query string, the raw (percent-decoded) `:id`, and `If-None-Match`. */
export interface LabRequest {
  query: LabQuery;
  id?: string | undefined;
  ifNoneMatch?: string | undefined;
}

export interface SimpleBody {
  ok: true;
}
export interface WaitBody {
  waitedMs: number;
  mode: WaitMode;
}
export interface CpuBody {
  n: number;
  primes: number;
  mode: CpuMode;
}
export interface FanoutBody {
  calls: number;
  mode: string;
  elapsedMs: number;
}
export interface Pbkdf2Body {
  iterations: number;
}

/** What a Lab runs on. The Lab owns them: `close()` closes the cache, the pool lease and the upstream lease. */
export interface LabParts {
  config: LabConfig;
  /** The store every route of the app uses: already `cachedStore(raw, cache)`. */
  store: Store;
  cache: LabCache;
  pool: WorkPool;
  /** Null when no upstream is configured: `/lab/fanout` answers 503. */
  upstream: UpstreamClient | null;
  /** The app's payload variants (its package.json `labVariants.payload`), the first one being its default idiom. */
  payloadVariants: readonly string[];
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_STORE: Readonly<Record<string, string>> = Object.freeze({ 'cache-control': 'no-store' });
const ok = <T>(body: T, headers = NO_HEADERS): LabReply<T> => ({ status: 200, headers, body });

const pbkdf2Async = promisify(pbkdf2);
/** Fixed inputs: the route measures the key derivation, not the data. */
const PBKDF2_PASSWORD = 'stackbench-lab';
const PBKDF2_SALT = 'stackbench-lab-salt';

export class Lab {
  private closed: Promise<void> | undefined;

  constructor(private readonly parts: LabParts) {}

  get store(): Store {
    return this.parts.store;
  }

  get cache(): LabCache {
    return this.parts.cache;
  }

  get payloadVariants(): readonly string[] {
    return this.parts.payloadVariants;
  }

  /** `GET /lab/simple`: the cheapest JSON route, the framework's floor. */
  simple(): LabReply<SimpleBody> {
    return ok({ ok: true });
  }

  /** `GET /lab/wait`: a timer (await), a blocking call on the main thread (block), or on the pool (offload). */
  async wait({ ms, mode }: WaitQuery): Promise<LabReply<WaitBody>> {
    if (mode === 'await') await sleep(ms);
    else if (mode === 'block') blockFor(ms);
    else await this.parts.pool.block(ms);
    return ok({ waitedMs: ms, mode });
  }

  /** `GET /lab/cpu`: count primes below n on the main thread or on the pool. */
  async cpu({ n, mode }: CpuQuery): Promise<LabReply<CpuBody>> {
    const primes = mode === 'main' ? countPrimesBelow(n) : await this.parts.pool.countPrimes(n);
    return ok({ n, primes, mode });
  }

  /** `GET /lab/fanout`: `calls` GETs to the slow upstream, sequentially, all at once, or at most K at once. */
  async fanout({ calls, ms, mode, modeText }: FanoutQuery): Promise<LabReply<FanoutBody>> {
    if (!this.parts.upstream) throw new ApiError('unavailable', LAB_MESSAGES.upstreamMissing);
    const elapsedMs = await this.parts.upstream.fanout(calls, ms, mode);
    return ok({ calls, mode: modeText, elapsedMs });
  }

  /** `GET /lab/pbkdf2`: one async PBKDF2 on libuv's thread pool (its size is UV_THREADPOOL_SIZE, default 4). */
  async pbkdf2({ iterations }: Pbkdf2Query): Promise<LabReply<Pbkdf2Body>> {
    await pbkdf2Async(PBKDF2_PASSWORD, PBKDF2_SALT, iterations, 64, 'sha512');
    return ok({ iterations });
  }

  /** `GET /lab/products`: one keyset page of `rows` products; the app serializes it the way `variant` says. */
  async products({ rows, after }: ProductsQuery): Promise<LabReply<ProductPage>> {
    return ok(await this.parts.store.listProducts({ limit: rows, after }));
  }

  /**
   * `GET /lab/cache/products/:id`: the product through the cache. In http mode with `Cache-Control: max-age` and a
   * strong ETag of the JSON body (every app sends `JSON.stringify(product)`'s bytes), and 304 without a body for a
   * matching `If-None-Match`; `Cache-Control: no-store` in the other modes.
   */
  async cacheProduct(rawId: string | undefined, ifNoneMatch: string | undefined): Promise<LabReply<Product>> {
    const id = parseId(rawId);
    const product = await this.parts.store.getProduct(id);
    if (!product) throw errors.productNotFound(id);
    const cache = this.parts.cache;
    if (cache.mode !== 'http') {
      // memory and redis count in cachedStore; in none mode every read is one the cache could have saved.
      if (cache.mode === 'none') cache.misses++;
      return ok(product, NO_STORE);
    }
    const headers = { 'cache-control': `max-age=${Math.floor(cache.ttlMs / 1000)}`, etag: strongEtag(JSON.stringify(product)) };
    if (ifNoneMatchMatches(ifNoneMatch, headers.etag)) {
      cache.hits++;
      return { status: 304, headers, body: undefined };
    }
    cache.misses++;
    return ok(product, headers);
  }

  /** `GET /lab/cache/stats`: this process's hits and misses. */
  cacheStats(): LabReply<LabCacheStats> {
    return ok(this.parts.cache.stats(), NO_STORE);
  }

  /**
   * Parses and runs a route by name, for apps that mount every route alike. `products` here answers in the app's
   * first variant's shape (a plain page); apps with several variants parse the query themselves and serialize.
   */
  async handle(name: LabRouteName, request: LabRequest): Promise<LabReply> {
    switch (name) {
      case 'simple':
        return this.simple();
      case 'wait':
        return this.wait(parseWaitQuery(request.query));
      case 'cpu':
        return this.cpu(parseCpuQuery(request.query));
      case 'fanout':
        return this.fanout(parseFanoutQuery(request.query));
      case 'pbkdf2':
        return this.pbkdf2(parsePbkdf2Query(request.query));
      case 'products':
        return this.products(parseProductsQuery(request.query, this.parts.payloadVariants));
      case 'cacheProduct':
        return this.cacheProduct(request.id, request.ifNoneMatch);
      case 'cacheStats':
        return this.cacheStats();
    }
  }

  /** Checks a route's query string with the parser `handle` uses; throws its 400. Routes without parameters take any. */
  parseQuery(name: LabRouteName, query: LabQuery): void {
    if (name === 'wait') parseWaitQuery(query);
    else if (name === 'cpu') parseCpuQuery(query);
    else if (name === 'fanout') parseFanoutQuery(query);
    else if (name === 'pbkdf2') parsePbkdf2Query(query);
    else if (name === 'products') parseProductsQuery(query, this.parts.payloadVariants);
  }

  /** Closes the cache connection and gives back the pool and upstream leases. Idempotent. */
  close(): Promise<void> {
    return (this.closed ??= (async () => {
      const { cache, pool, upstream } = this.parts;
      await Promise.all([cache.close(), pool.close(), upstream?.close()]);
    })());
  }
}

/**
 * Everything a lab app needs, from its configuration and its raw store: the cache, a pool lease, an upstream lease
 * (when configured) and the store wrapped once with `cachedStore`. The pool's threads and the HTTP Agent start on
 * first use; the cache mode's client library (lru-cache or ioredis, nothing for none and http) loads now.
 */
export function createLab(config: LabConfig, store: Store, options: { payloadVariants: readonly string[] }): Lab {
  const upstream = config.upstream ? acquireUpstreamClient(config.upstream) : null;
  const cache = createLabCache(config);
  return new Lab({ config, store: cachedStore(store, cache), cache, pool: acquireWorkPool(), upstream, payloadVariants: options.payloadVariants });
}
