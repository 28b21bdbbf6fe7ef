import { CONNECTION_STRATEGIES, LOW_STOCK, type RunningServer } from '@stackbench/contract';
import { createCheckContext } from '@stackbench/contract/suite';
import { storeNames } from '@stackbench/server';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, withHeavyConnectionsLock, type TestDatabase } from '@stackbench/test-support/db';
import { CONTENTION_DATABASE_TIMEOUTS, startTestServer } from '@stackbench/test-support/servers';

const STOCK_50 = LOW_STOCK.indexOf(50) + 1;

/** Sessions ever closed on a database, read from another database so the reader does not count itself. */
async function closedSessions(dbName: string): Promise<number> {
  const client = new pg.Client({ connectionString: inject('databaseServerUrl') });
  await client.connect();
  try {
    const { rows } = await client.query<{ sessions: string }>('SELECT sessions FROM pg_stat_database WHERE datname = $1', [dbName]);
    return Number(rows[0]?.sessions ?? 0);
  } finally {
    await client.end();
  }
}

/**
 * The app's server processes connected to a database (read from another database). Only the stores' connections
 * (application_name `stackbench`): the test's own clients to the same database may still be listed a moment after
 * they close, and once counted as an eleventh pooled connection.
 */
async function backends(dbName: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: inject('databaseServerUrl') });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'stackbench' ORDER BY pid",
      [dbName],
    );
    return rows.map((r) => r.pid);
  } finally {
    await client.end();
  }
}

/** Session counts are reported as backends exit, a moment after the client has closed: poll briefly. */
async function sessionsSettle(dbName: string, atLeast: number): Promise<number> {
  let seen = await closedSessions(dbName);
  for (let i = 0; i < 100 && seen < atLeast; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await closedSessions(dbName);
  }
  return seen;
}

for (const store of storeNames()) {
  for (const conn of CONNECTION_STRATEGIES) {
    describe(`${store} (${conn}) behind fastify`, () => {
      let db: TestDatabase;
      let server: RunningServer;
      beforeAll(async () => {
        db = await createTestDatabase(`orders_${store}_${conn}`);
        server = await startTestServer({ app: 'fastify', store, conn, databaseUrl: db.url, poolSize: 10, database: CONTENTION_DATABASE_TIMEOUTS });
      });
      afterAll(async () => {
        await server?.close();
        await db?.drop();
      });

      it('200 concurrent orders on a product with stock 50 create exactly 50 orders and never oversell', async () => {
        const ctx = createCheckContext(server.url);
        const responses = await withHeavyConnectionsLock(() =>
          Promise.all(Array.from({ length: 200 }, () => ctx.postOrder({ productId: STOCK_50, quantity: 1 }))),
        );
        const statuses = responses.map((r) => r.status);
        expect(statuses.filter((s) => s === 201)).toHaveLength(50);
        expect(statuses.filter((s) => s === 409)).toHaveLength(150);
        const [product] = await db.sql<{ stock: number; sold: number }>('SELECT stock, sold FROM products WHERE id = $1', [STOCK_50]);
        expect(product).toEqual({ stock: 50, sold: 50 });
        const [orders] = await db.sql<{ n: number; q: number }>(
          'SELECT count(*)::int AS n, sum(quantity)::int AS q FROM orders WHERE product_id = $1',
          [STOCK_50],
        );
        expect(orders).toEqual({ n: 50, q: 50 });
      });

      it(`opens ${conn === 'per-request' ? 'a new server connection for every request' : 'at most pool-size connections'}`, async () => {
        const ctx = createCheckContext(server.url);
        const before = await closedSessions(db.name);
        const requests = 30;
        for (let i = 0; i < requests; i++) expect((await ctx.get('/products/6')).status).toBe(200);
        if (conn === 'per-request') {
          const after = await sessionsSettle(db.name, before + requests);
          expect(after - before).toBeGreaterThanOrEqual(requests);
        } else {
          // Pooled connections stay open and are reused: the same backends before and after, at most poolSize.
          const warm = await backends(db.name);
          for (let i = 0; i < requests; i++) expect((await ctx.get('/products/6')).status).toBe(200);
          const after = await backends(db.name);
          expect(after.length).toBeGreaterThanOrEqual(1);
          expect(after.length).toBeLessThanOrEqual(10);
          expect(after.filter((pid) => !warm.includes(pid))).toEqual([]);
        }
      });
    });
  }
}
