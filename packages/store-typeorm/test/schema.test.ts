/**
 * Schema drift check: the TypeORM entities (src/entities.ts) against the catalog packages/db/sql/schema.sql
 * creates. Any difference in columns (name, type, nullability, default, identity), keys, checks or indexes fails;
 * TypeORM's own schema diff (what `synchronize` would run) must be empty too.
 */
import type { DataSource, EntityMetadata } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DEFAULT_DATABASE_TIMEOUTS, type TestDatabase } from '@stackbench/test-support/db';
import { DRIFTS, normalizeTable, readCatalog, type Catalog, type CatalogColumn, type CatalogTable } from '@stackbench/test-support/catalog';
import { createDataSource, entities } from '../src/index.js';

/**
 * A column default as information_schema prints it. (TypeORM's own normalizeDefault quotes numbers, `'0'`, which
 * is its internal form for comparing with its schema loader, not PostgreSQL's.)
 */
function renderDefault(value: unknown, type: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'function') return String((value as () => unknown)());
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'::${type}`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `(unsupported default ${JSON.stringify(value)})`;
}

/** An entity's metadata in the catalog's terms. */
function describeEntity(dataSource: DataSource, metadata: EntityMetadata): CatalogTable {
  const columns: CatalogColumn[] = metadata.columns.map((c) => {
    const type = dataSource.driver.normalizeType(c);
    // ColumnMetadata's type omits 'identity', which @PrimaryGeneratedColumn('identity') sets at runtime.
    const identity = c.isGenerated && (c.generationStrategy as string | undefined) === 'identity' ? (c.generatedIdentity ?? 'BY DEFAULT') : null;
    return {
      name: c.databaseName,
      type,
      nullable: c.isNullable,
      // An identity column has no column_default; its values come from the identity sequence.
      default: identity !== null ? null : c.isGenerated ? `(generated: ${c.generationStrategy})` : renderDefault(c.default, type),
      identity,
    };
  });
  return normalizeTable({
    columns,
    primaryKey: metadata.primaryColumns.map((c) => c.databaseName),
    foreignKeys: metadata.foreignKeys.map((fk) => ({
      name: fk.name,
      columns: fk.columnNames,
      references: { table: fk.referencedTablePath, columns: fk.referencedColumnNames },
    })),
    checks: metadata.checks.map((c) => c.name),
    indexes: metadata.indices.map((i) => ({ name: i.name, columns: i.columns.map((c) => c.databaseName), unique: i.isUnique })),
  });
}

describe('TypeORM entities vs schema.sql', () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  const typeormCatalog = (): Catalog =>
    Object.fromEntries(entities.map((e) => dataSource.getMetadata(e)).map((m) => [m.tablePath, describeEntity(dataSource, m)]));

  beforeAll(async () => {
    db = await createTestDatabase('typeorm_schema', { products: 105 });
    dataSource = createDataSource({ databaseUrl: db.url, conn: 'pool', poolSize: 1, timeouts: DEFAULT_DATABASE_TIMEOUTS });
    await dataSource.initialize();
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('does not synchronize or migrate', () => {
    expect(dataSource.options.synchronize).toBe(false);
    expect(dataSource.options.migrationsRun).toBe(false);
  });

  it('matches the catalog exactly', async () => {
    expect(typeormCatalog()).toEqual(await readCatalog(db));
  });

  it("leaves TypeORM's own schema diff empty", async () => {
    const pending = await dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('describes what the store relies on', () => {
    // Guards the comparison itself: these facts must be part of what is compared.
    const orders = typeormCatalog().orders!;
    expect(orders.columns.find((c) => c.name === 'id')).toEqual({ name: 'id', type: 'integer', nullable: false, default: null, identity: 'BY DEFAULT' });
    expect(orders.columns.find((c) => c.name === 'created_at')).toEqual({
      name: 'created_at',
      type: 'timestamp with time zone',
      nullable: false,
      default: 'now()',
      identity: null,
    });
    expect(orders.columns.map((c) => c.name)).toHaveLength(6);
  });

  it.each(DRIFTS)('notices $what', async ({ apply, undo }) => {
    await db.sql(apply);
    try {
      expect(typeormCatalog()).not.toEqual(await readCatalog(db));
    } finally {
      await db.sql(undo);
    }
    expect(typeormCatalog()).toEqual(await readCatalog(db));
  });
});
