import { ensureDatabase, resetDatabase, dropDatabase } from '@stackbench/db';
import { createDataSource, Product, Order } from '@stackbench/store-typeorm';
const server = 'postgres://stackbench:stackbench@127.0.0.1:54329/postgres';
const name = 'sb_scratch_meta_' + process.pid;
const url = await ensureDatabase(server, name);
await resetDatabase(url, { products: 105 });
const ds = createDataSource({ databaseUrl: url, conn: 'pool', poolSize: 1 });
await ds.initialize();
try {
  for (const e of [Product, Order]) {
    const m = ds.getMetadata(e);
    console.log(m.tableName, m.tablePath);
    for (const c of m.columns) console.log(' ', c.propertyName, c.databaseName, c.type, ds.driver.normalizeType(c), c.isNullable, c.default, ds.driver.normalizeDefault(c), c.isGenerated, c.generationStrategy, c.generatedIdentity, c.isPrimary, c.isCreateDate, c.length, c.precision);
    console.log('  pk', m.primaryColumns.map(c => c.databaseName), m.primaryKeyConstraintName);
    console.log('  fks', m.foreignKeys.map(f => [f.name, f.columnNames, f.referencedTablePath, f.referencedColumnNames]));
    console.log('  checks', m.checks.map(c => [c.name, c.expression]));
    console.log('  indices', m.indices.map(i => [i.name, i.columns.map(c => c.databaseName), i.isUnique]));
    console.log('  uniques', m.uniques.map(u => u.name));
  }
  const log = await ds.driver.createSchemaBuilder().log();
  console.log('schema builder up:', log.upQueries.map(q => q.query));
} finally {
  await ds.destroy();
  await dropDatabase(server, name);
}
