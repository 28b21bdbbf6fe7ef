/** The commerce API's resources. Money is integer cents; timestamps are ISO-8601 UTC strings. */
export interface Product {
  id: number;
  name: string;
  priceCents: number;
  stock: number;
  sold: number;
}

export interface Order {
  id: number;
  productId: number;
  quantity: number;
  unitPriceCents: number;
  totalCents: number;
  createdAt: string;
}

export interface ProductPage {
  items: Product[];
  /** The last id of this page when more rows exist, else null. */
  nextAfter: number | null;
}

export interface ListProductsQuery {
  limit: number;
  after: number;
}

export interface PlaceOrderInput {
  productId: number;
  quantity: number;
}

export type PlaceOrderResult =
  | { status: 'created'; order: Order }
  | { status: 'product_not_found' }
  | { status: 'insufficient_stock'; available: number };

/**
 * The data layer every app talks to. Each method is the whole database work of one HTTP request, which is what
 * lets the `per-request` connection strategy open one connection per request inside the store.
 */
export interface Store {
  /** Throws when the database is unreachable. */
  ping(): Promise<void>;
  listProducts(query: ListProductsQuery): Promise<ProductPage>;
  getProduct(id: number): Promise<Product | null>;
  /** Inserts the order and increments `sold` atomically; never oversells. */
  placeOrder(input: PlaceOrderInput): Promise<PlaceOrderResult>;
  getOrder(id: number): Promise<Order | null>;
  close(): Promise<void>;
}

export const CONNECTION_STRATEGIES = ['pool', 'per-request'] as const;
export type ConnectionStrategy = (typeof CONNECTION_STRATEGIES)[number];

/**
 * Limits a store sets on every connection it opens, in milliseconds, so that nothing waits forever: a stuck lock
 * or a dead server costs one request an error, not a pool slot for good. Values come from @stackbench/server.
 */
export interface DatabaseTimeouts {
  /** PostgreSQL `statement_timeout`: a statement running longer (lock waits included) is cancelled. */
  statementMs: number;
  /** PostgreSQL `lock_timeout`: waiting longer for a row or table lock fails the statement. */
  lockMs: number;
  /** PostgreSQL `idle_in_transaction_session_timeout`: a session idle inside a transaction is ended, freeing its locks. */
  idleInTransactionMs: number;
  /** Waiting for a pool slot or for a new connection (node-postgres `connectionTimeoutMillis`). */
  connectMs: number;
  /** Client-side backstop for a server that stops answering (node-postgres `query_timeout`). */
  queryMs: number;
}

export interface StoreConfig {
  databaseUrl: string;
  conn: ConnectionStrategy;
  /** Pool size for the `pool` strategy (default 10). Ignored by `per-request`. */
  poolSize: number;
  timeouts: DatabaseTimeouts;
  /**
   * ORM stores only: `typical` (default) is the ORM as its documentation shows it; `tuned` stays inside the ORM's own
   * API but writes the order the way a performance-minded user would (fewer round trips), as TechEmpower separates
   * Full from Micro ORM entries. Declared as separate store names in the stores' package metadata.
   */
  style?: 'typical' | 'tuned';
}

/** What every app factory receives. */
export interface AppDeps {
  store: Store;
}

/** Limits of an app's HTTP server, in milliseconds. Values come from @stackbench/server. */
export interface HttpTimeouts {
  /** Headers and the whole request body must arrive within this (node:http `headersTimeout` and `requestTimeout`). */
  requestMs: number;
  /** An idle keep-alive connection is closed after this (`keepAliveTimeout`). */
  keepAliveMs: number;
  /** A connection with no traffic either way while a request is in progress is closed after this (socket timeout). */
  socketMs: number;
}

export interface AppConfig {
  /** Request logging costs throughput; benchmarks run with it off. */
  logger: boolean;
  http: HttpTimeouts;
  /** The lab routes (`/lab/...`, package @stackbench/lab): only in an app started for a lab; absent or null otherwise. */
  lab?: LabConfig | null;
}

/** How `/lab/cache/...` and the store's `getProduct` are cached (see @stackbench/lab). */
export type LabCacheMode = 'none' | 'memory' | 'redis' | 'http';

/** An app's lab configuration, read from the environment by @stackbench/server (STACKBENCH_LAB=1 and friends). */
export interface LabConfig {
  /** Loopback base URL of the slow upstream `/lab/fanout` calls (STACKBENCH_LAB_UPSTREAM), or null: no fan-out. */
  upstream: string | null;
  cache: LabCacheMode;
  /** Lifetime of a cached product, and the `max-age` of the http mode (STACKBENCH_LAB_CACHE_TTL_MS, default 1000). */
  cacheTtlMs: number;
  /** Loopback `redis://` URL (REDIS_URL) for the redis mode; null in the others. */
  redisUrl: string | null;
}

/** A built app bound to a port: the uniform handle that `main.ts`, tests and the orchestrator use. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}
