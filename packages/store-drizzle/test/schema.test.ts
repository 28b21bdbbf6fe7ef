/**
 * Schema drift check: the drizzle tables (src/schema.ts) against the catalog packages/db/sql/schema.sql creates.
 * Any difference in columns (name, type, nullability, default, identity), keys, checks or indexes fails.
 */
import { is, SQL } from 'drizzle-orm';
import { getTableConfig, PgDialect, type PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { orders, products } from '../src/schema.js';
import { DRIFTS, normalizeTable, readCatalog, type Catalog, type CatalogColumn, type CatalogTable } from '@stackbench/test-support/catalog';

const dialect = new PgDialect();

function renderDefault(value: unknown, type: string): string | null {
  if (value === undefined || value === null) return null;
  if (is(value, SQL)) return dialect.sqlToQuery(value).sql;
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'::${type}`;
  return String(value);
}

/** A drizzle table in the catalog's terms. */
export function describeDrizzleTable(table: PgTable): CatalogTable {
  const config = getTableConfig(table);
  const columns: CatalogColumn[] = config.columns.map((c) => {
    const type = c.getSQLType();
    const identity = c.generatedIdentity ? ({ always: 'ALWAYS', byDefault: 'BY DEFAULT' } as const)[c.generatedIdentity.type] : null;
    return {
      name: c.name,
      type,
      nullable: !c.notNull,
      // An identity column has no column_default; its values come from the identity sequence.
      default: identity ? null : c.defaultFn || c.onUpdateFn ? '(computed in JavaScript)' : renderDefault(c.default, type),
      identity,
    };
  });
  const primaryKey = [...config.columns.filter((c) => c.primary).map((c) => c.name), ...config.primaryKeys.flatMap((pk) => pk.columns.map((c) => c.name))];
  return normalizeTable({
    columns,
    primaryKey,
    foreignKeys: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return {
        name: fk.getName(),
        columns: ref.columns.map((c) => c.name),
        references: { table: getTableConfig(ref.foreignTable).name, columns: ref.foreignColumns.map((c) => c.name) },
      };
    }),
    checks: config.checks.map((c) => c.name),
    indexes: config.indexes.map((i) => ({
      name: i.config.name!,
      columns: i.config.columns.map((c) => ('name' in c ? (c.name as string) : dialect.sqlToQuery(c as SQL).sql)),
      unique: i.config.unique,
    })),
  });
}

const drizzleCatalog = (): Catalog => Object.fromEntries([products, orders].map((t) => [getTableConfig(t).name, describeDrizzleTable(t)]));

describe('drizzle schema vs schema.sql', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('drizzle_schema', { products: 105 });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('matches the catalog exactly', async () => {
    expect(drizzleCatalog()).toEqual(await readCatalog(db));
  });

  it('describes what the store relies on', () => {
    // Guards the comparison itself: these facts must be part of what is compared.
    const orders = drizzleCatalog().orders!;
    expect(orders.columns.find((c) => c.name === 'id')).toEqual({ name: 'id', type: 'integer', nullable: false, default: null, identity: 'BY DEFAULT' });
    expect(orders.columns.find((c) => c.name === 'created_at')).toEqual({
      name: 'created_at',
      type: 'timestamp with time zone',
      nullable: false,
      default: 'now()',
      identity: null,
    });
  });

  it.each(DRIFTS)('notices $what', async ({ apply, undo }) => {
    await db.sql(apply);
    try {
      expect(drizzleCatalog()).not.toEqual(await readCatalog(db));
    } finally {
      await db.sql(undo);
    }
    expect(drizzleCatalog()).toEqual(await readCatalog(db));
  });
});
