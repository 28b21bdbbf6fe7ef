/**
 * The schema as PostgreSQL's catalog describes it, in a normalized shape that an ORM's schema definition can be
 * mapped to and compared with (store-drizzle and store-typeorm schema tests). Covers what a store relies on:
 * column names, types, nullability, defaults and identity, primary keys, foreign keys, check constraint names
 * and plain indexes.
 */
import type { TestDatabase } from './db.js';

export interface CatalogColumn {
  name: string;
  /** information_schema.columns.data_type, e.g. `integer`, `text`, `timestamp with time zone`. */
  type: string;
  nullable: boolean;
  /** information_schema.columns.column_default as PostgreSQL prints it (`0`, `now()`), null when none. */
  default: string | null;
  identity: 'ALWAYS' | 'BY DEFAULT' | null;
}

export interface CatalogForeignKey {
  name: string;
  columns: string[];
  references: { table: string; columns: string[] };
}

export interface CatalogIndex {
  name: string;
  columns: string[];
  unique: boolean;
}

export interface CatalogTable {
  /** Sorted by name: column order does not change what a store reads or writes. */
  columns: CatalogColumn[];
  primaryKey: string[];
  foreignKeys: CatalogForeignKey[];
  checks: string[];
  /** Indexes that do not back a constraint. */
  indexes: CatalogIndex[];
}

export type Catalog = Record<string, CatalogTable>;

export const TABLES = ['orders', 'products'];

const byName = <T extends { name: string }>(a: T, b: T) => a.name.localeCompare(b.name);

/** Puts a table description in the canonical order used for comparisons. */
export function normalizeTable(t: CatalogTable): CatalogTable {
  return {
    columns: [...t.columns].sort(byName),
    primaryKey: t.primaryKey,
    foreignKeys: [...t.foreignKeys].sort(byName),
    checks: [...t.checks].sort(),
    indexes: [...t.indexes].sort(byName),
  };
}

export async function readCatalog(db: TestDatabase): Promise<Catalog> {
  const tables = await db.sql<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  );
  const columns = await db.sql<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: 'YES' | 'NO';
    column_default: string | null;
    is_identity: 'YES' | 'NO';
    identity_generation: 'ALWAYS' | 'BY DEFAULT' | null;
  }>(
    `SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity, identity_generation
     FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  const constraints = await db.sql<{
    table_name: string;
    name: string;
    type: 'p' | 'f' | 'c' | 'u' | 'x' | 't' | 'n';
    columns: string[];
    foreign_table: string | null;
    foreign_columns: string[] | null;
  }>(
    `SELECT c.conrelid::regclass::text AS table_name, c.conname AS name, c.contype AS type,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
            c.confrelid::regclass::text AS foreign_table,
            ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i) AS foreign_columns
     FROM pg_constraint c JOIN pg_namespace ns ON ns.oid = c.connamespace
     WHERE ns.nspname = 'public' AND c.conrelid <> 0
     ORDER BY c.conname`,
  );
  const indexes = await db.sql<{ table_name: string; name: string; columns: string[]; unique: boolean }>(
    `SELECT t.relname AS table_name, i.relname AS name, x.indisunique AS unique,
            ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY k(n, o)
                  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n ORDER BY k.o) AS columns
     FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_class t ON t.oid = x.indrelid
     JOIN pg_namespace ns ON ns.oid = t.relnamespace
     WHERE ns.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
     ORDER BY i.relname`,
  );

  const catalog: Catalog = {};
  for (const { table_name: table } of tables) {
    const mine = constraints.filter((c) => c.table_name === table);
    const described = normalizeTable({
      columns: columns
        .filter((c) => c.table_name === table)
        .map((c) => ({
          name: c.column_name,
          type: c.data_type,
          nullable: c.is_nullable === 'YES',
          default: c.column_default,
          identity: c.is_identity === 'YES' ? c.identity_generation : null,
        })),
      primaryKey: mine.find((c) => c.type === 'p')?.columns ?? [],
      foreignKeys: mine
        .filter((c) => c.type === 'f')
        .map((c) => ({ name: c.name, columns: c.columns, references: { table: c.foreign_table!, columns: c.foreign_columns! } })),
      checks: mine.filter((c) => c.type === 'c').map((c) => c.name),
      indexes: indexes.filter((i) => i.table_name === table).map((i) => ({ name: i.name, columns: i.columns, unique: i.unique })),
    });
    // Other constraint kinds (unique, exclusion, ...) have no counterpart in the comparison: make them fail it.
    const other = mine.filter((c) => !['p', 'f', 'c', 'n'].includes(c.type));
    described.checks.push(...other.map((c) => `unsupported ${c.type} constraint ${c.name}`));
    catalog[table] = described;
  }
  return catalog;
}

/**
 * Changes to the database that a schema comparison must notice, each with its undo, so a test can show that the
 * comparison is not vacuous.
 */
export const DRIFTS: { what: string; apply: string; undo: string }[] = [
  { what: 'a column type', apply: 'ALTER TABLE orders ALTER COLUMN quantity TYPE bigint', undo: 'ALTER TABLE orders ALTER COLUMN quantity TYPE integer' },
  { what: 'nullability', apply: 'ALTER TABLE products ALTER COLUMN name DROP NOT NULL', undo: 'ALTER TABLE products ALTER COLUMN name SET NOT NULL' },
  { what: 'a default', apply: 'ALTER TABLE products ALTER COLUMN sold DROP DEFAULT', undo: 'ALTER TABLE products ALTER COLUMN sold SET DEFAULT 0' },
  { what: 'a timestamp default', apply: 'ALTER TABLE orders ALTER COLUMN created_at DROP DEFAULT', undo: 'ALTER TABLE orders ALTER COLUMN created_at SET DEFAULT now()' },
  { what: 'identity generation', apply: 'ALTER TABLE orders ALTER COLUMN id SET GENERATED ALWAYS', undo: 'ALTER TABLE orders ALTER COLUMN id SET GENERATED BY DEFAULT' },
  { what: 'an extra column', apply: 'ALTER TABLE orders ADD COLUMN note text', undo: 'ALTER TABLE orders DROP COLUMN note' },
  { what: 'a renamed column', apply: 'ALTER TABLE products RENAME COLUMN price_cents TO price', undo: 'ALTER TABLE products RENAME COLUMN price TO price_cents' },
  { what: 'a timestamp without time zone', apply: 'ALTER TABLE orders ALTER COLUMN created_at TYPE timestamp', undo: 'ALTER TABLE orders ALTER COLUMN created_at TYPE timestamptz' },
  { what: 'a dropped check', apply: 'ALTER TABLE products DROP CONSTRAINT products_sold_within_stock', undo: 'ALTER TABLE products ADD CONSTRAINT products_sold_within_stock CHECK (sold <= stock)' },
  { what: 'a dropped foreign key', apply: 'ALTER TABLE orders DROP CONSTRAINT orders_product_id_fkey', undo: 'ALTER TABLE orders ADD CONSTRAINT orders_product_id_fkey FOREIGN KEY (product_id) REFERENCES products (id)' },
  { what: 'a dropped index', apply: 'DROP INDEX orders_product_id_idx', undo: 'CREATE INDEX orders_product_id_idx ON orders (product_id)' },
  { what: 'an extra table', apply: 'CREATE TABLE customers (id integer PRIMARY KEY)', undo: 'DROP TABLE customers' },
];
