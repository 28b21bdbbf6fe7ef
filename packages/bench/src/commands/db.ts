import { isAlive, describeUrl, hasSchema, resetDatabase, resolveDatabase, embeddedDataDir, stackbenchHome, waitForSignal } from '@stackbench/db';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, intFlag, parseFlags } from '../cli-support.js';

const USAGE = 'usage: stackbench db up|down|reset [--products N]';

/**
 * `up`: start (or join) the database, reseed it if it has no schema, print DATABASE_URL and keep running
 * until Ctrl-C (the embedded server stops with it). `reset`: fresh seeded state. `down`: stop an embedded
 * server started by another `db up`.
 */
export async function run(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  const { values } = parseFlags(rest, { products: { type: 'string' } });
  const products = intFlag(values.products, 'products', 105, 10_000_000);
  if (action === 'down') return down();
  if (action !== 'up' && action !== 'reset') throw new CliError(USAGE);

  const db = await resolveDatabase();
  try {
    if (action === 'reset' || products !== undefined || !(await hasSchema(db.url))) {
      const seeded = await resetDatabase(db.url, { products });
      console.error(`seeded ${seeded.products} products in ${describeUrl(db.url)}`);
    }
    console.log(`DATABASE_URL=${db.url}`);
    if (action === 'reset' || db.source !== 'embedded (started)') return 0;
    console.error('embedded PostgreSQL is up; Ctrl-C stops it');
    await waitForSignal();
    return 0;
  } finally {
    await db.stop();
  }
}

/** Signals the process that owns the embedded server (a running `db up`) to stop it. */
async function down(): Promise<number> {
  if (process.env.DATABASE_URL) throw new CliError('DATABASE_URL is set: stackbench does not stop servers it did not start');
  const ownerFile = join(stackbenchHome(), 'postgres.owner');
  const pidFile = join(embeddedDataDir(), 'postmaster.pid');
  if (!existsSync(pidFile)) {
    console.log('embedded PostgreSQL is not running');
    return 0;
  }
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN;
  const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  const target = Number.isInteger(owner) && isAlive(owner) ? owner : postmaster;
  process.kill(target, 'SIGINT');
  for (let i = 0; i < 300 && isAlive(postmaster); i++) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(postmaster)) throw new CliError(`embedded PostgreSQL (pid ${postmaster}) did not stop within 15 s`);
  console.log('embedded PostgreSQL stopped');
  return 0;
}

