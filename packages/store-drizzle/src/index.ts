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
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { orders, products, type OrderRow } from './schema.js';

export * as schema from './schema.js';

type Db = NodePgDatabase;

const toOrder = (r: OrderRow): Order => ({
  id: r.id,
  productId: r.productId,
  quantity: r.quantity,
  unitPriceCents: r.unitPriceCents,
  totalCents: r.totalCents,
  createdAt: r.createdAt.toISOString(),
});

/**
 * The Store on drizzle-orm's query builder over node-postgres. `pool`: one pg.Pool of `poolSize` connections behind
 * one drizzle instance. `per-request`: every Store call (one HTTP request) opens its own pg.Client, runs its queries
 * on a drizzle instance over that client and closes it — Django's CONN_MAX_AGE=0.
 */
export function createDrizzleStore(config: StoreConfig): Store {
  // Timeouts on every connection, pooled or not: a stuck lock or a dead server fails one call instead of hanging it.
  const connection = { connectionString: config.databaseUrl, application_name: 'stackbench', ...pgTimeoutOptions(config.timeouts) };
  let withDb: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  let close: () => Promise<void>;

  if (config.conn === 'pool') {
    const pool = new pg.Pool({ ...connection, max: config.poolSize });
    // An idle client's error (server restart) must not crash the app; the next query reports it.
    pool.on('error', () => undefined);
    const db = drizzle({ client: pool });
    withDb = (fn) => fn(db);
    let ended: Promise<void> | undefined;
    close = () => (ended ??= pool.end());
  } else {
    withDb = async (fn) => {
      const client = new pg.Client(connection);
      client.on('error', () => undefined);
      await client.connect();
      try {
        return await fn(drizzle({ client }));
      } finally {
        await client.end();
      }
    };
    close = async () => undefined;
  }

  return {
    async ping() {
      await withDb((db) => db.execute(sql`select 1`));
    },
    listProducts({ limit, after }: ListProductsQuery): Promise<ProductPage> {
      return withDb(async (db) => {
        // One extra row tells whether another page exists.
        const rows: Product[] = await db.select().from(products).where(gt(products.id, after)).orderBy(asc(products.id)).limit(limit + 1);
        const more = rows.length > limit;
        const items = more ? rows.slice(0, limit) : rows;
        return { items, nextAfter: more ? items[items.length - 1]!.id : null };
      });
    },
    getProduct(id: number): Promise<Product | null> {
      return withDb(async (db) => {
        const [row] = await db.select().from(products).where(eq(products.id, id));
        return row ?? null;
      });
    },
    placeOrder({ productId, quantity }: PlaceOrderInput): Promise<PlaceOrderResult> {
      if (config.style === 'tuned') return withDb((db) => placeOrderTuned(db, productId, quantity));
      return withDb((db) =>
        db.transaction(async (tx): Promise<PlaceOrderResult> => {
          // The row lock queues concurrent orders for one product, so the check below sees the latest `sold`.
          const [product] = await tx.select().from(products).where(eq(products.id, productId)).for('update');
          if (!product) return { status: 'product_not_found' };
          const available = product.stock - product.sold;
          if (available < quantity) return { status: 'insufficient_stock', available };
          await tx
            .update(products)
            .set({ sold: product.sold + quantity })
            .where(eq(products.id, productId));
          const [order] = await tx
            .insert(orders)
            .values({ productId, quantity, unitPriceCents: product.priceCents, totalCents: product.priceCents * quantity })
            .returning();
          return { status: 'created', order: toOrder(order!) };
        }),
      );
    },
    getOrder(id: number): Promise<Order | null> {
      return withDb(async (db) => {
        const [row] = await db.select().from(orders).where(eq(orders.id, id));
        return row ? toOrder(row) : null;
      });
    },
    close,
  };
}

/**
 * The tuned order, still drizzle's query builder: a conditional increment (`sold = sold + q` where it fits in stock,
 * sql expressions in set/where) with `returning`, then the insert — 4 round trips (BEGIN, UPDATE, INSERT, COMMIT)
 * instead of 5, and the row locked only by the UPDATE, for as long as the transaction, with no read before it.
 */
async function placeOrderTuned(db: Db, productId: number, quantity: number): Promise<PlaceOrderResult> {
  return db.transaction(async (tx): Promise<PlaceOrderResult> => {
    const [claimed] = await tx
      .update(products)
      .set({ sold: sql`${products.sold} + ${quantity}` })
      .where(and(eq(products.id, productId), sql`${products.sold} + ${quantity} <= ${products.stock}`))
      .returning({ priceCents: products.priceCents });
    if (!claimed) {
      // Only on refusal: was it missing, or short of stock?
      const [product] = await tx.select({ stock: products.stock, sold: products.sold }).from(products).where(eq(products.id, productId));
      return product ? { status: 'insufficient_stock', available: product.stock - product.sold } : { status: 'product_not_found' };
    }
    const [order] = await tx
      .insert(orders)
      .values({ productId, quantity, unitPriceCents: claimed.priceCents, totalCents: claimed.priceCents * quantity })
      .returning();
    return { status: 'created', order: toOrder(order!) };
  });
}
