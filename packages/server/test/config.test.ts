import { DEFAULT_DATABASE_TIMEOUTS, DEFAULT_HTTP_TIMEOUTS, readServerConfig } from '@stackbench/server';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { spawnApp } from '@stackbench/test-support/servers';
import { appMainPath, findApp } from '@stackbench/bench/registry';
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' };

describe('readServerConfig', () => {
  it('listens on 127.0.0.1 whatever HOST says; only STACKBENCH_HOST (set by the CLI) changes it', () => {
    expect(readServerConfig({ ...base, HOST: '0.0.0.0' }).host).toBe('127.0.0.1');
    expect(readServerConfig({ ...base, STACKBENCH_HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
  });

  it('has explicit default timeouts, and reads each from the environment', () => {
    const config = readServerConfig(base);
    expect(config.database).toEqual(DEFAULT_DATABASE_TIMEOUTS);
    expect(config.http).toEqual(DEFAULT_HTTP_TIMEOUTS);
    const tuned = readServerConfig({
      ...base,
      STACKBENCH_STATEMENT_TIMEOUT_MS: '900',
      STACKBENCH_LOCK_TIMEOUT_MS: '100',
      STACKBENCH_IDLE_IN_TRANSACTION_TIMEOUT_MS: '1500',
      STACKBENCH_CONNECT_TIMEOUT_MS: '2500',
      STACKBENCH_REQUEST_TIMEOUT_MS: '700',
      STACKBENCH_KEEP_ALIVE_TIMEOUT_MS: '4000',
      STACKBENCH_SOCKET_TIMEOUT_MS: '9000',
    });
    expect(tuned.database).toEqual({ statementMs: 900, lockMs: 100, idleInTransactionMs: 1500, connectMs: 2500, queryMs: 2900 });
    expect(tuned.http).toEqual({ requestMs: 700, keepAliveMs: 4000, socketMs: 9000 });
  });

  it.each(['0', '-5', '1.5', '1e3', 'abc', '3600001'])('refuses a timeout of "%s" with one line', (value) => {
    expect(() => readServerConfig({ ...base, STACKBENCH_LOCK_TIMEOUT_MS: value })).toThrow(
      `STACKBENCH_LOCK_TIMEOUT_MS must be an integer from 1 to 3600000 (milliseconds), got "${value}"`,
    );
  });
});

describe('an app started with an inherited HOST=0.0.0.0', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('host');
  });
  afterAll(() => db?.drop());

  it('still listens on loopback only', async () => {
    const app = await spawnApp('fastify', { DATABASE_URL: db.url, HOST: '0.0.0.0', PORT: '0' });
    try {
      const url = new URL(app.url);
      expect(url.hostname).toBe('127.0.0.1');
      // Another address of this machine does not reach it.
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
      if (external) {
        const refused = await new Promise<string>((resolve) => {
          const socket = connect(Number(url.port), external);
          socket.once('connect', () => {
            socket.destroy();
            resolve('connected');
          });
          socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        });
        expect(refused).toBe('ECONNREFUSED');
      }
    } finally {
      await app.stop();
    }
  });

  it('a bad timeout stops it with one line', () => {
    const result = spawnSync(process.execPath, [appMainPath(findApp('node-http'))], {
      env: { PATH: process.env.PATH, DATABASE_URL: db.url, PORT: '0', STACKBENCH_REQUEST_TIMEOUT_MS: 'soon' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('cannot start: STACKBENCH_REQUEST_TIMEOUT_MS must be an integer from 1 to 3600000 (milliseconds), got "soon"');
  });
});
