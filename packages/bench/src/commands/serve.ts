import { describeUrl, hasSchema, resetDatabase, resolveDatabase, waitForSignal } from '@stackbench/db';
import { isLoopbackHost } from '@stackbench/contract';
import { DEFAULT_HOST, isConnectionStrategy, isStoreName, storeNames } from '@stackbench/server';
import { isIP } from 'node:net';
import { assertPortFree } from '../app-process.js';
import { parseBalancers, scaleLabel, startAppTarget, type ScaleOut } from '../instances.js';
import { findProgram } from '../services.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, intFlag, parseFlags } from '../cli-support.js';
import { appNames, findApp } from '../registry.js';
import { onShutdown } from '@stackbench/db';
import { confineDatabase, createEnvelope } from './bench.js';
import { parseEnvelope } from '../orchestrator/config.js';
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
    host: { type: 'string', default: DEFAULT_HOST },
    envelope: { type: 'string', default: 'none' },
    'app-cpus': { type: 'string' },
    'app-memory': { type: 'string' },
    'db-cpus': { type: 'string' },
    'db-memory': { type: 'string' },
    instances: { type: 'string' },
    lb: { type: 'string' },
  });
  if (!appNames().includes(values.app)) throw new CliError(`unknown app "${values.app}" (known: ${appNames().join(', ')})`);
  if (!isStoreName(values.store)) throw new CliError(`unknown store "${values.store}" (known: ${storeNames().join(', ')})`);
  // `serve` is for trying an app by hand: unconfined unless an envelope flag is given.
  const limited = ['app-cpus', 'app-memory', 'db-cpus', 'db-memory'].some((k) => values[k as keyof typeof values] !== undefined);
  const envelopeRequest = parseEnvelope({ ...values, envelope: values.envelope === 'none' && limited ? 'cgroup' : values.envelope });
  if (!isConnectionStrategy(values.conn)) throw new CliError(`unknown connection strategy "${values.conn}" (known: pool, per-request)`);
  const poolSize = intFlag(values['pool-size'], 'pool-size', 1, 1000) ?? 10;
  const port = intFlag(values.port, 'port', 0, 65535) ?? 3000;
  const host = values.host;
  if (!isIP(host) && host !== 'localhost') throw new CliError(`--host must be an IP address or localhost, got "${host}"`);
  if (port !== 0) await assertPortFree(port, host);
  const count = intFlag(values.instances, 'instances', 1, 64) ?? 1;
  if (values.lb !== undefined && values.instances === undefined) throw new CliError('--lb needs --instances N');
  const lbs = parseBalancers(values.lb);
  if (lbs.length !== 1) throw new CliError('--lb takes one balancer for serve (cluster or nginx)');
  const scale: ScaleOut | null = values.instances === undefined ? null : { count, lb: lbs[0]! };
  if (scale?.lb === 'nginx') {
    if (!findProgram('nginx')) throw new CliError('nginx not found: install it (Debian/Ubuntu: apt-get install nginx-light, or nginx)');
    if (!isLoopbackHost(host)) throw new CliError('--lb nginx listens on loopback only: leave out --host');
  }
  const runtime = await resolveNodeBinary(values.runtime);

  // The envelope first: without cgroups, one line before a database is started; removed on Ctrl-C from then on.
  const envelope = createEnvelope(envelopeRequest);
  const unregister = envelope ? onShutdown(async () => envelope.remove()) : () => {};
  let db;
  let cleanup = () => {};
  try {
    db = await resolveDatabase();
  } catch (err) {
    unregister();
    envelope?.remove();
    throw new CliError((err as Error).message);
  }
  try {
    if (envelope) {
      const dbConfined = confineDatabase(envelope, db);
      console.error(`envelope: ${envelope.summary()}${dbConfined.applied ? '' : `; PostgreSQL not confined: ${dbConfined.note}`}`);
    }
    if (values.reset || !(await hasSchema(db.url))) {
      const { products } = await resetDatabase(db.url);
      console.error(`seeded ${products} products in ${describeUrl(db.url)}`);
    }
    if (!isLoopbackHost(host)) console.error(`warning: --host ${host} is not a loopback address: the app is reachable from other machines`);
    const nginxDir = mkdtempSync(join(tmpdir(), 'stackbench-serve-nginx-'));
    cleanup = () => rmSync(nginxDir, { recursive: true, force: true });
    const app = await startAppTarget({
      app: findApp(values.app),
      host,
      store: values.store,
      conn: values.conn,
      poolSize,
      databaseUrl: db.url,
      port,
      nodeBinary: runtime.binary,
      cgroupProcs: envelope?.app.procsFiles() ?? [],
      onOutput: (line) => console.error(`[${values.app}] ${line}`),
    }, scale, nginxDir);
    console.log(`serving ${values.app} + ${values.store} (${values.conn}${values.conn === 'pool' ? `, ${poolSize}` : ''}${scale ? `; ${scaleLabel(scale)}` : ''}) on Node ${runtime.version} at ${app.url}`);
    console.log(`database: ${describeUrl(db.url)} (${db.source})`);
    // An app on every interface (0.0.0.0, ::) is verified through loopback: verify only targets loopback.
    const verifyUrl = new URL(app.url);
    if (host === '0.0.0.0') verifyUrl.hostname = '127.0.0.1';
    if (host === '::') verifyUrl.hostname = '[::1]';
    console.log(`verify it:  npx stackbench verify --url ${verifyUrl.origin}`);
    const outcome = await Promise.race([waitForSignal(), app.exited]);
    if (typeof outcome === 'string') {
      await app.stop();
      return 0;
    }
    console.error(`${values.app} exited (${outcome.signal ?? `code ${outcome.code}`})`);
    return 1;
  } finally {
    unregister();
    envelope?.remove();
    await db.stop();
    cleanup();
  }
}
