import { describeUrl, hasSchema, resetDatabase, resolveDatabase, waitForSignal } from '@stackbench/db';
import { isConnectionStrategy, isStoreName, STORE_NAMES } from '@stackbench/server';
import { startAppProcess, assertPortFree } from '../app-process.js';
import { CliError, intFlag, parseFlags } from '../cli-support.js';
import { APP_NAMES, findApp } from '../registry.js';
import { resolveNodeBinary } from '../runtime-select.js';

/**
 * Runs one compiled app against DATABASE_URL or the embedded database (started and stopped with it) until
 * Ctrl-C. Every name is checked before anything starts.
 */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    app: { type: 'string', default: 'fastify' },
    store: { type: 'string', default: 'pg' },
    conn: { type: 'string', default: 'pool' },
    'pool-size': { type: 'string' },
    port: { type: 'string' },
    runtime: { type: 'string', default: 'current' },
    reset: { type: 'boolean' },
  });
  if (!APP_NAMES.includes(values.app)) throw new CliError(`unknown app "${values.app}" (known: ${APP_NAMES.join(', ')})`);
  if (!isStoreName(values.store)) throw new CliError(`unknown store "${values.store}" (known: ${STORE_NAMES.join(', ')})`);
  if (!isConnectionStrategy(values.conn)) throw new CliError(`unknown connection strategy "${values.conn}" (known: pool, per-request)`);
  const poolSize = intFlag(values['pool-size'], 'pool-size', 1, 1000) ?? 10;
  const port = intFlag(values.port, 'port', 0, 65535) ?? 3000;
  if (port !== 0) await assertPortFree(port);
  const runtime = await resolveNodeBinary(values.runtime);

  let db;
  try {
    db = await resolveDatabase();
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  try {
    if (values.reset || !(await hasSchema(db.url))) {
      const { products } = await resetDatabase(db.url);
      console.error(`seeded ${products} products in ${describeUrl(db.url)}`);
    }
    const app = await startAppProcess({
      app: findApp(values.app),
      store: values.store,
      conn: values.conn,
      poolSize,
      databaseUrl: db.url,
      port,
      nodeBinary: runtime.binary,
      onOutput: (line) => console.error(`[${values.app}] ${line}`),
    });
    console.log(`serving ${values.app} + ${values.store} (${values.conn}${values.conn === 'pool' ? `, ${poolSize}` : ''}) on Node ${runtime.version} at ${app.url}`);
    console.log(`database: ${describeUrl(db.url)} (${db.source})`);
    console.log(`verify it:  npx stackbench verify --url ${app.url}`);
    const outcome = await Promise.race([waitForSignal(), app.exited]);
    if (typeof outcome === 'string') {
      await app.stop();
      return 0;
    }
    console.error(`${values.app} exited (${outcome.signal ?? `code ${outcome.code}`})`);
    return 1;
  } finally {
    await db.stop();
  }
}
