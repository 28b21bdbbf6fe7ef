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

export interface StoreConfig {
  databaseUrl: string;
  conn: ConnectionStrategy;
  /** Pool size for the `pool` strategy (default 10). Ignored by `per-request`. */
  poolSize: number;
}

/** What every app factory receives. */
export interface AppDeps {
  store: Store;
}

export interface AppConfig {
  /** Request logging costs throughput; benchmarks run with it off. */
  logger: boolean;
}

/** A built app bound to a port: the uniform handle that `main.ts`, tests and the orchestrator use. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}
