import { dropDatabase, ensureDatabase, resetDatabase, type SeedOptions } from '@stackbench/db';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** The timeouts every store runs with unless a test says otherwise (the servers' defaults). */
export { DEFAULT_DATABASE_TIMEOUTS } from '@stackbench/server';

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs one SQL statement on this database (for assertions on the real state). */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/** A fresh, seeded database of its own for one test file, on the run's PostgreSQL server. */
export async function createTestDatabase(prefix = 'test', seed: SeedOptions = {}): Promise<TestDatabase> {
  const serverUrl = inject('databaseServerUrl');
  const name = `sb_${prefix.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const url = await ensureDatabase(serverUrl, name);
  await resetDatabase(url, seed);
  return {
    url,
    name,
    async sql(text, values = []) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    drop: () => dropDatabase(serverUrl, name),
  };
}

/**
 * Runs `fn` holding a server-wide advisory lock, so test files that open hundreds of connections at once (the
 * per-request oversell tests) take turns instead of exhausting max_connections together.
 */
export async function withHeavyConnectionsLock<T>(fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('databaseServerUrl'), application_name: 'stackbench-test-lock' });
  await client.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('stackbench-tests-heavy-connections'))");
    return await fn();
  } finally {
    await client.end(); // releases the lock
  }
}
