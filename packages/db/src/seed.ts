import { DEFAULT_PRODUCT_COUNT, LOW_STOCK, REGULAR_STOCK } from '@stackbench/contract';
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const SCHEMA_SQL = readFileSync(new URL('../sql/schema.sql', import.meta.url), 'utf8');

/**
 * Builds the seeded catalog in one statement. Names and prices are the SQL twins of `seededProductName` and
 * `seededPriceCents` in @stackbench/contract (a test keeps them equal).
 */
export const SEED_SQL = `
INSERT INTO products (id, name, price_cents, stock, sold)
SELECT g,
       'Product ' || CASE WHEN g < 100000 THEN lpad(g::text, 6, '0') ELSE g::text END,
       100 + ((g::bigint * 7919) % 99901)::integer,
       COALESCE(($2::integer[])[g], $3::integer),
       0
FROM generate_series(1, $1::integer) AS g`;

export interface SeedOptions {
  /** Number of products, low-stock ones included (default 10 000). */
  products?: number;
}

export function productCount(options: SeedOptions = {}): number {
  const n = options.products ?? DEFAULT_PRODUCT_COUNT;
  if (!Number.isInteger(n) || n < LOW_STOCK.length + 100 || n > 10_000_000) {
    throw new Error(`--products must be an integer from ${LOW_STOCK.length + 100} to 10000000, got ${n}`);
  }
  return n;
}

/**
 * Drops and rebuilds the schema and seed inside `databaseUrl`'s database, in one transaction. Rebuilding (rather
 * than deleting rows) also drops dead tuples, sequences and statistics left by an earlier run, so every measured
 * run starts from the same physical state. Connections held by others are not touched: stop apps first.
 */
export async function resetDatabase(databaseUrl: string, options: SeedOptions = {}): Promise<{ products: number }> {
  const products = productCount(options);
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'stackbench-reset' });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('DROP TABLE IF EXISTS orders, products CASCADE');
    await client.query(SCHEMA_SQL);
    await client.query(SEED_SQL, [products, LOW_STOCK, REGULAR_STOCK]);
    await client.query('COMMIT');
    await client.query('ANALYZE products, orders');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
  return { products };
}

/** True when both tables exist (the database has been reset at least once). */
export async function hasSchema(databaseUrl: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'stackbench-check' });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('products', 'orders')",
    );
    return rows[0]!.n === 2;
  } finally {
    await client.end();
  }
}
