import {
  pgTimeoutOptions,
  type ListProductsQuery,
  type Order,
  type PlaceOrderInput,
  type PlaceOrderResult,
  type Product,
  type ProductPage,
  type Store,
  type StoreConfig,
} from '@stackbench/contract';
import pg from 'pg';

interface ProductRow {
  id: number;
  name: string;
  price_cents: number;
  stock: number;
  sold: number;
}

interface OrderRow {
  id: number;
  product_id: number;
  quantity: number;
  unit_price_cents: number;
  total_cents: number;
  created_at: Date;
}

const toProduct = (r: ProductRow): Product => ({ id: r.id, name: r.name, priceCents: r.price_cents, stock: r.stock, sold: r.sold });
const toOrder = (r: OrderRow): Order => ({
  id: r.id,
  productId: r.product_id,
  quantity: r.quantity,
  unitPriceCents: r.unit_price_cents,
  totalCents: r.total_cents,
  createdAt: r.created_at.toISOString(),
});

// Named statements: pg prepares each once per connection (per-request connections re-prepare, as they would).
const LIST = { name: 'list_products', text: 'SELECT id, name, price_cents, stock, sold FROM products WHERE id > $1 ORDER BY id LIMIT $2' };
const GET_PRODUCT = { name: 'get_product', text: 'SELECT id, name, price_cents, stock, sold FROM products WHERE id = $1' };
const GET_ORDER = {
  name: 'get_order',
  text: 'SELECT id, product_id, quantity, unit_price_cents, total_cents, created_at FROM orders WHERE id = $1',
};
/**
 * One statement, so one atomic step without an explicit transaction: the conditional UPDATE takes the row lock
 * and re-checks `sold + quantity <= stock` on the latest row version (READ COMMITTED), so concurrent orders
 * queue on the row and can never oversell; the INSERT only happens when the UPDATE matched.
 */
const PLACE_ORDER = {
  name: 'place_order',
  text: `WITH claimed AS (
    UPDATE products SET sold = sold + $2 WHERE id = $1 AND sold + $2 <= stock RETURNING id, price_cents
  )
  INSERT INTO orders (product_id, quantity, unit_price_cents, total_cents)
  SELECT id, $2, price_cents, price_cents * $2 FROM claimed
  RETURNING id, product_id, quantity, unit_price_cents, total_cents, created_at`,
};
const AVAILABLE = { name: 'available', text: 'SELECT stock - sold AS available FROM products WHERE id = $1' };

type Query = <R extends pg.QueryResultRow>(q: { name: string; text: string }, values: unknown[]) => Promise<pg.QueryResult<R>>;

/**
 * The Store on raw `pg`. `pool`: one pg.Pool of `poolSize` connections. `per-request`: every Store call (one
 * HTTP request) opens its own connection, runs its statements on it and closes it — Django's CONN_MAX_AGE=0.
 */
export function createPgStore(config: StoreConfig): Store {
  // Timeouts on every connection, pooled or not: a stuck lock or a dead server fails one call instead of hanging it.
  const connection = { connectionString: config.databaseUrl, application_name: 'stackbench', ...pgTimeoutOptions(config.timeouts) };
  let withConnection: <T>(fn: (query: Query) => Promise<T>) => Promise<T>;
  let close: () => Promise<void>;

  if (config.conn === 'pool') {
    const pool = new pg.Pool({ ...connection, max: config.poolSize });
    // An idle client's error (server restart) must not crash the app; the next query reports it.
    pool.on('error', () => undefined);
    const query: Query = (q, values) => pool.query({ ...q, values });
    withConnection = (fn) => fn(query);
    let ended: Promise<void> | undefined;
    close = () => (ended ??= pool.end());
  } else {
    withConnection = async (fn) => {
      const client = new pg.Client(connection);
      client.on('error', () => undefined);
      await client.connect();
      try {
        return await fn((q, values) => client.query({ ...q, values }));
      } finally {
        await client.end();
      }
    };
    close = async () => undefined;
  }

  return {
    async ping() {
      await withConnection((query) => query({ name: 'ping', text: 'SELECT 1' }, []));
    },
    listProducts({ limit, after }: ListProductsQuery): Promise<ProductPage> {
      return withConnection(async (query) => {
        // One extra row tells whether another page exists.
        const { rows } = await query<ProductRow>(LIST, [after, limit + 1]);
        const more = rows.length > limit;
        const items = (more ? rows.slice(0, limit) : rows).map(toProduct);
        return { items, nextAfter: more ? items[items.length - 1]!.id : null };
      });
    },
    getProduct(id: number): Promise<Product | null> {
      return withConnection(async (query) => {
        const { rows } = await query<ProductRow>(GET_PRODUCT, [id]);
        return rows[0] ? toProduct(rows[0]) : null;
      });
    },
    placeOrder({ productId, quantity }: PlaceOrderInput): Promise<PlaceOrderResult> {
      return withConnection(async (query) => {
        const { rows } = await query<OrderRow>(PLACE_ORDER, [productId, quantity]);
        if (rows[0]) return { status: 'created', order: toOrder(rows[0]) };
        const left = await query<{ available: number }>(AVAILABLE, [productId]);
        return left.rows[0] ? { status: 'insufficient_stock', available: left.rows[0].available } : { status: 'product_not_found' };
      });
    },
    getOrder(id: number): Promise<Order | null> {
      return withConnection(async (query) => {
        const { rows } = await query<OrderRow>(GET_ORDER, [id]);
        return rows[0] ? toOrder(rows[0]) : null;
      });
    },
    close,
  };
}
