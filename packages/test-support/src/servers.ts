import { findApp, loadAppModule } from '@stackbench/bench/registry';
import type { ConnectionStrategy, RunningServer } from '@stackbench/contract';
import { startServer, type StoreName } from '@stackbench/server';

export interface TestServerOptions {
  app: string;
  store: StoreName;
  conn: ConnectionStrategy;
  databaseUrl: string;
  poolSize?: number;
}

/** Builds the app in this process (its compiled dist) on a real store and listens on a free loopback port. */
export async function startTestServer(options: TestServerOptions): Promise<RunningServer> {
  const app = await loadAppModule(findApp(options.app));
  return startServer(app, {
    databaseUrl: options.databaseUrl,
    store: options.store,
    conn: options.conn,
    poolSize: options.poolSize ?? 10,
    port: 0,
    host: '127.0.0.1',
    logger: false,
  });
}
