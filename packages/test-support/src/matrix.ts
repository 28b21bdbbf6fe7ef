import { contractChecks, createCheckContext } from '@stackbench/contract/suite';
import { CONNECTION_STRATEGIES, type RunningServer } from '@stackbench/contract';
import { storeNames } from '@stackbench/server';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db.js';
import { startTestServer } from './servers.js';

/**
 * The whole contract suite against one app on every store and connection strategy (6 combinations), each on
 * a freshly seeded database of its own. One file per app lets vitest run apps in parallel.
 */
export function describeContractMatrix(app: string): void {
  for (const store of storeNames()) {
    for (const conn of CONNECTION_STRATEGIES) {
      describe(`${app} + ${store} (${conn})`, () => {
        let db: TestDatabase;
        let server: RunningServer;
        beforeAll(async () => {
          db = await createTestDatabase(`${app}_${store}_${conn}`);
          server = await startTestServer({ app, store, conn, databaseUrl: db.url });
        });
        afterAll(async () => {
          await server?.close();
          await db?.drop();
        });
        for (const check of contractChecks) {
          it(check.name, () => check.run(createCheckContext(server.url)));
        }
      });
    }
  }
}
