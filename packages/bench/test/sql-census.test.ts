import type { RunningServer } from '@stackbench/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { startTestServer } from '@stackbench/test-support/servers';
import { censusUnavailable, runSqlCensus, type SqlCensus } from '../src/orchestrator/sql-census.js';

/**
 * The SQL each stack sends, counted by PostgreSQL itself (pg_stat_statements) on real apps and stores. The numbers
 * are exact and known: a change in a store that adds a round trip fails here.
 */

describe('SQL census per endpoint (pg_stat_statements)', () => {
  let db: TestDatabase;
  let unavailable: string | null = null;
  const census = new Map<string, SqlCensus>();
  beforeAll(async () => {
    db = await createTestDatabase('sql_census');
    unavailable = await censusUnavailable(db.url);
    if (unavailable) return;
    for (const store of ['pg', 'drizzle', 'drizzle-tuned', 'typeorm', 'typeorm-tuned']) {
      let server: RunningServer | undefined;
      try {
        server = await startTestServer({ app: 'fastify', store, conn: 'pool', databaseUrl: db.url });
        census.set(store, await runSqlCensus(server.url, db.url, 20));
      } finally {
        await server?.close();
      }
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  const counts = (store: string, endpoint: string) => {
    if (unavailable) throw new Error(unavailable);
    const c = census.get(store)![endpoint]!;
    return { statements: c.statements, roundTrips: c.roundTrips, transactions: c.transactions };
  };

  it('raw pg: one statement per read, and the order as one statement (plus PostgreSQL\'s own foreign-key check)', () => {
    expect(counts('pg', 'list')).toEqual({ statements: 1, roundTrips: 1, transactions: 1 });
    expect(counts('pg', 'product')).toEqual({ statements: 1, roundTrips: 1, transactions: 1 });
    expect(counts('pg', 'order')).toEqual({ statements: 2, roundTrips: 1, transactions: 1 });
    expect(counts('pg', 'order_view')).toEqual({ statements: 1, roundTrips: 1, transactions: 1 });
    const order = census.get('pg')!.order!;
    expect(order.top.find((t) => t.toplevel)!.query).toMatch(/^WITH claimed AS \( UPDATE products SET sold = sold \+ \$2/);
    expect(order.top.find((t) => !t.toplevel)!.query).toMatch(/FOR KEY SHARE/);
  });

  it('the ORMs as typically written: the order is BEGIN, SELECT ... FOR UPDATE, UPDATE, INSERT, COMMIT', () => {
    for (const store of ['drizzle', 'typeorm']) {
      expect(counts(store, 'order'), store).toEqual({ statements: 6, roundTrips: 5, transactions: 1 });
      expect(counts(store, 'product'), store).toEqual({ statements: 1, roundTrips: 1, transactions: 1 });
    }
  });

  it('the tuned variants, still in the ORM\'s own API, need one round trip less per order', () => {
    for (const store of ['drizzle-tuned', 'typeorm-tuned']) {
      expect(counts(store, 'order'), store).toEqual({ statements: 5, roundTrips: 4, transactions: 1 });
    }
  });
});
