import {
  pgTimeoutOptions,
  type ListProductsQuery,
  type Order as OrderDto,
  type PlaceOrderInput,
  type PlaceOrderResult,
  type Product as ProductDto,
  type ProductPage,
  type Store,
  type StoreConfig,
} from '@stackbench/contract';
import { DataSource, MoreThan, type EntityManager } from 'typeorm';
import { entities, Order, Product } from './entities.js';

export { entities, Order, Product } from './entities.js';

// Entities are class instances carrying a `product` relation slot; the API gets plain objects in contract order.
const toProduct = (p: Product): ProductDto => ({ id: p.id, name: p.name, priceCents: p.priceCents, stock: p.stock, sold: p.sold });
const toOrder = (o: Order): OrderDto => ({
  id: o.id,
  productId: o.productId,
  quantity: o.quantity,
  unitPriceCents: o.unitPriceCents,
  totalCents: o.totalCents,
  createdAt: o.createdAt.toISOString(),
});

/**
 * The DataSource a store uses (not initialized). `pool`: a pg pool of `poolSize` connections. `per-request`: a pg
 * pool without a size limit whose connections serve one checkout each (`maxUses: 1`), so releasing a QueryRunner
 * closes its connection: every Store call gets a fresh server connection, like a pg.Client per request.
 */
export function createDataSource(config: StoreConfig): DataSource {
  // TypeORM hands `extra` to pg.Pool: the same timeouts as the other stores, on every connection.
  const timeouts = pgTimeoutOptions(config.timeouts);
  return new DataSource({
    type: 'postgres',
    url: config.databaseUrl,
    applicationName: 'stackbench',
    connectTimeoutMS: config.timeouts.connectMs,
    entities,
    synchronize: false,
    migrationsRun: false,
    logging: false,
    // An idle client's error (server restart) must not crash the app; the next query reports it.
    poolErrorHandler: () => undefined,
    ...(config.conn === 'pool' ? { poolSize: config.poolSize, extra: timeouts } : { extra: { ...timeouts, max: Infinity, maxUses: 1 } }),
  });
}

/**
 * The Store on TypeORM entities and its EntityManager. `pool`: the DataSource's manager, which checks a pooled
 * connection out per query (per transaction for placeOrder). `per-request`: every Store call (one HTTP request)
 * runs on its own QueryRunner, i.e. exactly one new server connection, closed on release — Django's CONN_MAX_AGE=0.
 */
export async function createTypeormStore(config: StoreConfig): Promise<Store> {
  const dataSource = createDataSource(config);
  await dataSource.initialize();

  let withManager: <T>(fn: (manager: EntityManager) => Promise<T>) => Promise<T>;
  if (config.conn === 'pool') {
    withManager = (fn) => fn(dataSource.manager);
  } else {
    withManager = async (fn) => {
      const queryRunner = dataSource.createQueryRunner();
      try {
        await queryRunner.connect();
        return await fn(queryRunner.manager);
      } finally {
        await queryRunner.release();
      }
    };
  }
  let destroyed: Promise<void> | undefined;

  return {
    async ping() {
      await withManager((manager) => manager.query('SELECT 1'));
    },
    listProducts({ limit, after }: ListProductsQuery): Promise<ProductPage> {
      return withManager(async (manager) => {
        // One extra row tells whether another page exists.
        const rows = await manager.find(Product, { where: { id: MoreThan(after) }, order: { id: 'ASC' }, take: limit + 1 });
        const more = rows.length > limit;
        const items = (more ? rows.slice(0, limit) : rows).map(toProduct);
        return { items, nextAfter: more ? items[items.length - 1]!.id : null };
      });
    },
    getProduct(id: number): Promise<ProductDto | null> {
      return withManager(async (manager) => {
        const product = await manager.findOneBy(Product, { id });
        return product ? toProduct(product) : null;
      });
    },
    placeOrder({ productId, quantity }: PlaceOrderInput): Promise<PlaceOrderResult> {
      if (config.style === 'tuned') return withManager((manager) => placeOrderTuned(manager, productId, quantity));
      return withManager((manager) =>
        manager.transaction(async (tx): Promise<PlaceOrderResult> => {
          // The row lock queues concurrent orders for one product, so the check below sees the latest `sold`.
          const product = await tx.findOne(Product, { where: { id: productId }, lock: { mode: 'pessimistic_write' } });
          if (!product) return { status: 'product_not_found' };
          const available = product.stock - product.sold;
          if (available < quantity) return { status: 'insufficient_stock', available };
          await tx.update(Product, { id: productId }, { sold: product.sold + quantity });
          const order = tx.create(Order, { productId, quantity, unitPriceCents: product.priceCents, totalCents: product.priceCents * quantity });
          // INSERT ... RETURNING fills the generated id and created_at into `order`.
          await tx.save(order);
          return { status: 'created', order: toOrder(order) };
        }),
      );
    },
    getOrder(id: number): Promise<OrderDto | null> {
      return withManager(async (manager) => {
        const order = await manager.findOneBy(Order, { id });
        return order ? toOrder(order) : null;
      });
    },
    close: () => (destroyed ??= dataSource.isInitialized ? dataSource.destroy() : Promise.resolve()),
  };
}

/**
 * The tuned order, still TypeORM's own API (QueryBuilder): a conditional increment (`set({ sold: () => ... })` with
 * the stock check in the WHERE) returning the price, then the insert returning the row — 4 round trips (BEGIN,
 * UPDATE, INSERT, COMMIT) instead of 5, no SELECT ... FOR UPDATE, no entity loaded to be saved back.
 */
async function placeOrderTuned(manager: EntityManager, productId: number, quantity: number): Promise<PlaceOrderResult> {
  return manager.transaction(async (tx): Promise<PlaceOrderResult> => {
    const claimed = await tx
      .createQueryBuilder()
      .update(Product)
      .set({ sold: () => 'sold + :quantity' })
      .where('id = :productId AND sold + :quantity <= stock', { productId, quantity })
      .returning(['priceCents'])
      .execute();
    const price = (claimed.raw as Array<{ price_cents?: number; priceCents?: number }>)[0];
    if (!price) {
      // Only on refusal: was it missing, or short of stock?
      const product = await tx.findOne(Product, { where: { id: productId }, select: { stock: true, sold: true } });
      return product ? { status: 'insufficient_stock', available: product.stock - product.sold } : { status: 'product_not_found' };
    }
    const priceCents = price.price_cents ?? price.priceCents!;
    const inserted = await tx
      .createQueryBuilder()
      .insert()
      .into(Order)
      .values({ productId, quantity, unitPriceCents: priceCents, totalCents: priceCents * quantity })
      .returning('*')
      .execute();
    const row = (inserted.raw as Array<{ id: number; product_id: number; quantity: number; unit_price_cents: number; total_cents: number; created_at: Date }>)[0]!;
    return {
      status: 'created',
      order: { id: row.id, productId: row.product_id, quantity: row.quantity, unitPriceCents: row.unit_price_cents, totalCents: row.total_cents, createdAt: row.created_at.toISOString() },
    };
  });
}
