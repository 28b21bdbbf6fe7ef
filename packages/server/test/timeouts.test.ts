/**
 * The timeouts are real, not just configured: each app's compiled main.js runs as its own process with short limits
 * from the environment, against a real PostgreSQL.
 */
import { expectError, send } from '@stackbench/contract/suite';
import { CONNECTION_STRATEGIES } from '@stackbench/contract';
import { registry, storeNames } from '@stackbench/server';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { spawnApp, type AppChild } from '@stackbench/test-support/servers';
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const json = { 'content-type': 'application/json' };
const order = (productId: number) => ({ method: 'POST', path: '/orders', headers: json, body: JSON.stringify({ productId, quantity: 1 }) });

describe.each(storeNames())('a row lock held elsewhere (%s store)', (store) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(`lock_${store}`, { products: 200 });
  });
  afterAll(() => db?.drop());

  it.each(CONNECTION_STRATEGIES)('fails the order with the contract 500 within the lock timeout and frees the connection (%s)', async (conn) => {
    const product = conn === 'pool' ? 20 : 30;
    const app = await spawnApp('node-http', {
      DATABASE_URL: db.url,
      STACKBENCH_STORE: store,
      STACKBENCH_CONN: conn,
      // One connection: the request after the failure can only be served if the failed one gave its slot back.
      STACKBENCH_POOL_SIZE: '1',
      STACKBENCH_LOCK_TIMEOUT_MS: '300',
      STACKBENCH_STATEMENT_TIMEOUT_MS: '1000',
      PORT: '0',
    });
    const blocker = new pg.Client({ connectionString: db.url, application_name: 'stackbench-test-blocker' });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM products WHERE id = $1 FOR UPDATE', [product]);

      // Without the lock timeout this would wait for the blocker forever (send gives up after 30 s).
      const failed = await send(app.url, order(product), 30_000);
      expectError(failed, 'internal', 'internal error');

      // Still locked, yet the app serves reads and other orders on its single connection.
      expect((await send(app.url, { method: 'GET', path: `/products/${product + 1}` })).status).toBe(200);
      expect((await send(app.url, order(product + 1))).status).toBe(201);

      await blocker.query('ROLLBACK');
      expect((await send(app.url, order(product))).status).toBe(201);
      // The failed order left nothing behind: one order, sold 1.
      const [row] = await db.sql<{ sold: number; orders: string }>(
        'SELECT p.sold, (SELECT count(*) FROM orders o WHERE o.product_id = p.id) AS orders FROM products p WHERE p.id = $1',
        [product],
      );
      expect(row).toEqual({ sold: 1, orders: '1' });
    } finally {
      await blocker.end();
      await app.stop();
    }
  });
});

/** Sends headers announcing a body, half the body, then nothing; resolves with what came back once the server closes. */
function stallMidBody(url: string, boundMs: number): Promise<{ closed: boolean; received: string }> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ productId: 7, quantity: 1 });
  return new Promise((resolve) => {
    let received = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(`POST /orders HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body.slice(0, body.length >> 1));
    });
    const bound = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, received });
    }, boundMs);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    // A reset is one way of being disconnected; 'close' follows either way.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(bound);
      resolve({ closed: true, received });
    });
  });
}

describe('a client that stalls mid-body', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('stall', { products: 200 });
  });
  afterAll(() => db?.drop());

  for (const name of registry().apps.map((a) => a.name)) {
    it(`is disconnected after the request timeout (${name})`, async () => {
      let app: AppChild | undefined;
      try {
        app = await spawnApp(name, { DATABASE_URL: db.url, STACKBENCH_REQUEST_TIMEOUT_MS: '500', PORT: '0' });
        // A generous bound for the 500 ms limit, yet below the default one (10 s): only the configured limit fits.
        const outcome = await stallMidBody(app.url, 8_000);
        expect(outcome.closed, `connection still open; got ${JSON.stringify(outcome.received)}`).toBe(true);
        // node:http's own answer to a request timeout, when anything is sent at all.
        if (outcome.received) expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
        // The app itself is fine.
        expect((await send(app.url, { method: 'GET', path: '/health' })).status).toBe(200);
      } finally {
        await app?.stop();
      }
    });
  }
});
