import { errors, JSON_CONTENT_TYPE, type Store } from '@stackbench/contract';
import { expectError, send } from '@stackbench/contract/suite';
import { createStore, DEFAULT_DATABASE_TIMEOUTS, DEFAULT_HTTP_TIMEOUTS } from '@stackbench/server';
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { startTestServer } from '@stackbench/test-support/servers';
import { buildApp } from '../src/app.js';

/**
 * Fastify's own behaviour, the Fastify way: the factory without listening, driven by `inject` (light-my-request)
 * against a real PostgreSQL; router-level errors over a real socket. (The contract suite runs on every combination
 * in test/contract-fastify.test.ts.)
 */

const APP = 'fastify';
const CONFIG = { logger: false, http: DEFAULT_HTTP_TIMEOUTS };

describe(`${APP}: the factory with inject, on a real store`, () => {
  let db: TestDatabase;
  let store: Store;
  let closed = false;
  beforeAll(async () => {
    db = await createTestDatabase(`${APP}_inject`);
    const real = await createStore('pg', { databaseUrl: db.url, conn: 'pool', poolSize: 2, timeouts: DEFAULT_DATABASE_TIMEOUTS });
    // The real store, with one extra field on products and a record of close(): what the response schema and the
    // store plugin's onClose hook do with them is Fastify's part.
    store = {
      ...real,
      ping: () => real.ping(),
      listProducts: (q) => real.listProducts(q),
      getProduct: async (id) => {
        const p = await real.getProduct(id);
        return p ? ({ ...p, internalNote: 'never sent' } as typeof p) : p;
      },
      placeOrder: (i) => real.placeOrder(i),
      getOrder: (id) => real.getOrder(id),
      close: async () => {
        closed = true;
        await real.close();
      },
    };
  });
  afterAll(async () => {
    if (!closed) await store?.close();
    await db?.drop();
  });

  it('builds without listening and answers through inject', async () => {
    const app = buildApp({ store }, CONFIG);
    try {
      const res = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], JSON_CONTENT_TYPE);
      assert.deepEqual(res.json(), { status: 'ok' });
      assert.equal(app.server.listening, false);
    } finally {
      // The store stays open: this app was built only to be inspected (close() would close the store).
    }
  });

  it('serializes through the response schema: a field the schema does not name is never sent', async () => {
    const app = buildApp({ store }, CONFIG);
    const res = await app.inject({ method: 'GET', url: '/products/6' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(Object.keys(res.json()), ['id', 'name', 'priceCents', 'stock', 'sold']);
    assert.doesNotMatch(res.body, /internalNote/);
  });

  it('validates with Ajv and never coerces: "6" is not a product id, and __proto__ is an unknown field', async () => {
    const app = buildApp({ store }, CONFIG);
    const post = (payload: string) => app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'application/json' }, payload });
    const asString = await post('{"productId":"6","quantity":1}');
    assert.equal(asString.statusCode, 400);
    assert.deepEqual(asString.json(), errors.invalidField('productId').toBody());
    const proto = await post('{"productId":6,"quantity":1,"__proto__":{"x":1}}');
    assert.equal(proto.statusCode, 400);
    assert.deepEqual(proto.json(), errors.unknownField('__proto__').toBody());
    const limit = await app.inject({ method: 'GET', url: '/products?limit=1e3' });
    assert.deepEqual(limit.json(), errors.invalidField('limit').toBody());
  });

  it('takes JSON bodies only (the text/plain parser is removed): 415 before any validation', async () => {
    const app = buildApp({ store }, CONFIG);
    const res = await app.inject({ method: 'POST', url: '/orders', headers: { 'content-type': 'text/plain' }, payload: '{"productId":6,"quantity":1}' });
    assert.equal(res.statusCode, 415);
    assert.deepEqual(res.json(), errors.unsupportedMediaType().toBody());
  });

  it('answers 405 with Allow for a known path, and HEAD like GET without a body', async () => {
    const app = buildApp({ store }, CONFIG);
    const del = await app.inject({ method: 'DELETE', url: '/products/6' });
    assert.equal(del.statusCode, 405);
    assert.equal(del.headers.allow, 'GET');
    const head = await app.inject({ method: 'HEAD', url: '/products/6' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
  });

  it('closes the store with the app (the store plugin\'s onClose hook)', async () => {
    const app = buildApp({ store }, CONFIG);
    await app.ready();
    assert.equal(closed, false);
    await app.close();
    assert.equal(closed, true);
  });
});

describe(`${APP}: router-level errors over a real socket`, () => {
  let db: TestDatabase;
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    db = await createTestDatabase(`${APP}_router`);
    server = await startTestServer({ app: APP, store: 'pg', conn: 'pool', databaseUrl: db.url });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('maps find-my-way\'s rejections to the contract: an undecodable or over-long id is a bad id, elsewhere no route', async () => {
    expectError(await send(server.url, { method: 'GET', path: '/products/%ZZ' }), 'invalid_request', 'id must be an integer from 1 to 2147483647');
    expectError(await send(server.url, { method: 'GET', path: `/orders/${'9'.repeat(150)}` }), 'invalid_request', 'id must be an integer from 1 to 2147483647');
    expectError(await send(server.url, { method: 'GET', path: '/nope/%ZZ' }), 'not_found', 'route not found');
    // find-my-way matches `/products/` to `/products/:id` with an empty id: the contract says that path is not a route.
    expectError(await send(server.url, { method: 'GET', path: '/products/' }), 'not_found', 'route not found');
  });

  it('sends Server-Timing from the node:http server underneath, on errors too', async () => {
    for (const path of ['/products/6', '/products/%ZZ']) {
      const res = await send(server.url, { method: 'GET', path });
      assert.match(String(res.headers['server-timing']), /^app;dur=\d+\.\d{3}$/);
    }
  });
});
