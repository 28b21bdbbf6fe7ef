import { CONNECTION_STRATEGIES, errors, FIELD_MESSAGES, JSON_CONTENT_TYPE, MAX_BODY_BYTES, type RunningServer, type Store } from '@stackbench/contract';
import { contractChecks, createCheckContext, expectError, send, type RawResponse } from '@stackbench/contract/suite';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { startTestServer } from '@stackbench/test-support/servers';
import { toApiError } from '../src/errors.js';
import { app } from '../src/index.js';
import { DEFAULT_HTTP_TIMEOUTS } from '@stackbench/server';

const APP = 'express';

for (const conn of CONNECTION_STRATEGIES) {
  describe(`${APP} + pg (${conn}): contract`, () => {
    let db: TestDatabase;
    let server: RunningServer;
    beforeAll(async () => {
      db = await createTestDatabase(`${APP}_pg_${conn}`);
      server = await startTestServer({ app: APP, store: 'pg', conn, databaseUrl: db.url });
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

function expectFraming(res: RawResponse, bodyBytes = Buffer.byteLength(res.text)): void {
  assert.equal(res.headers['content-type'], JSON_CONTENT_TYPE);
  assert.equal(res.headers['content-length'], String(bodyBytes));
}

const MISSING = 2147483647;

describe(`${APP} + pg: Express specifics`, () => {
  let db: TestDatabase;
  let server: RunningServer;
  const json = { 'content-type': 'application/json' };
  const order = (headers: Record<string, string>, body?: string | Buffer, chunked = false) =>
    send(server.url, { method: 'POST', path: '/orders', headers, body, chunked });
  beforeAll(async () => {
    db = await createTestDatabase(`${APP}_specifics`);
    server = await startTestServer({ app: APP, store: 'pg', conn: 'pool', databaseUrl: db.url });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('strict and case-sensitive routing: trailing slashes and other cases are 404', async () => {
    for (const path of ['/health/', '/HEALTH', '/products/1/', '/Orders/1', '/orders/1/', '/products//']) {
      expectError(await send(server.url, { method: 'GET', path }), 'not_found', 'route not found');
    }
  });

  it('disables x-powered-by; keeps the weak ETag default (If-None-Match gives 304)', async () => {
    const res = await send(server.url, { method: 'GET', path: '/products/1' });
    assert.equal(res.headers['x-powered-by'], undefined);
    const etag = res.headers['etag'];
    assert.match(String(etag), /^W\/"/);
    const again = await send(server.url, { method: 'GET', path: '/products/1', headers: { 'if-none-match': String(etag) } });
    assert.equal(again.status, 304);
  });

  it('HEAD on a GET route is the GET response without a body; HEAD /orders is 405', async () => {
    for (const path of ['/health', '/products?limit=2', '/products/1', '/products/abc', `/orders/${MISSING}`]) {
      const get = await send(server.url, { method: 'GET', path });
      const head = await send(server.url, { method: 'HEAD', path });
      assert.equal(head.status, get.status, path);
      assert.equal(head.text, '', path);
      expectFraming(head, Buffer.byteLength(get.text));
    }
    const res = await send(server.url, { method: 'HEAD', path: '/orders' });
    assert.equal(res.status, 405);
    assert.equal(res.headers['allow'], 'POST');
  });

  it("the router's percent-decoding failure (URIError) is 400 invalid id, whatever the method", async () => {
    const encoded = await send(server.url, { method: 'GET', path: '/products/%31' });
    assert.equal(encoded.status, 200);
    for (const [method, path] of [
      ['GET', '/products/%ZZ'],
      ['GET', '/orders/%E0%A4%A'],
      ['POST', '/products/%'],
    ] as const) {
      expectError(await send(server.url, { method, path }), 'invalid_request', FIELD_MESSAGES.id);
    }
  });

  it('answers 415 before express.json() reads, so an oversized body of another type is 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json']) {
      expectError(await order({ 'content-type': type }, 'x'.repeat(MAX_BODY_BYTES * 4)), 'unsupported_media_type');
    }
  });

  it('an empty or absent body is not valid JSON (express.json() alone would make it {})', async () => {
    for (const res of [await order(json), await order(json, ''), await order(json, '', true), await order(json, ' \n')]) {
      expectError(res, 'invalid_request', 'body is not valid JSON');
    }
  });

  it('a body of exactly the limit is read; one byte more is 413 (content-length and chunked)', async () => {
    const base = `{"productId": ${MISSING}, "quantity": 1}`;
    const body = base.slice(0, -1) + ' '.repeat(MAX_BODY_BYTES - base.length) + '}';
    for (const chunked of [false, true]) {
      expectError(await order(json, body, chunked), 'not_found', `product ${MISSING} not found`);
      expectError(await order(json, body + ' ', chunked), 'payload_too_large');
    }
  });

  it("keeps express.json()'s defaults: gzip bodies are inflated, a non-UTF charset is 415", async () => {
    const gz = gzipSync(JSON.stringify({ productId: MISSING, quantity: 1 }));
    expectError(await order({ ...json, 'content-encoding': 'gzip' }, gz), 'not_found', `product ${MISSING} not found`);
    expectError(await order({ ...json, 'content-encoding': 'gzip' }, '{"not":"gzip"}'), 'invalid_request', 'body is not valid JSON');
    expectError(await order({ ...json, 'content-encoding': 'compress' }, '{}'), 'unsupported_media_type');
    expectError(await order({ 'content-type': 'application/json; charset=latin1' }, '{}'), 'unsupported_media_type');
  });
});

describe(`${APP}: error mapping`, () => {
  it('maps body-parser and router errors to the contract errors', () => {
    const cases: Array<[unknown, ReturnType<typeof errors.internal>]> = [
      [Object.assign(new Error('too large'), { type: 'entity.too.large', status: 413 }), errors.payloadTooLarge()],
      [Object.assign(new SyntaxError('bad'), { type: 'entity.parse.failed', status: 400 }), errors.malformedJson()],
      [Object.assign(new Error('charset'), { type: 'charset.unsupported', status: 415 }), errors.unsupportedMediaType()],
      [Object.assign(new Error('encoding'), { type: 'encoding.unsupported', status: 415 }), errors.unsupportedMediaType()],
      [Object.assign(new Error('short'), { type: 'request.size.invalid', status: 400 }), errors.malformedJson()],
      [Object.assign(new URIError('Failed to decode param'), { status: 400 }), errors.invalidField('id')],
      [Object.assign(new Error('stream'), { type: 'stream.not.readable', status: 500 }), errors.internal()],
      [new Error('boom'), errors.internal()],
      ['not an error', errors.internal()],
      [errors.insufficientStock(3, 1), errors.insufficientStock(3, 1)],
    ];
    for (const [err, want] of cases) {
      assert.deepEqual(toApiError(err).toBody(), want.toBody());
      assert.equal(toApiError(err).status, want.status);
    }
  });
});

describe(`${APP}: store failures (fake store)`, () => {
  const fakeStore = (overrides: Partial<Store>): Store => ({
    ping: async () => undefined,
    listProducts: async () => ({ items: [], nextAfter: null }),
    getProduct: async () => null,
    placeOrder: async () => ({ status: 'product_not_found' }),
    getOrder: async () => null,
    close: async () => undefined,
    ...overrides,
  });
  const fail = async (): Promise<never> => {
    throw new Error('connection refused');
  };
  let server: RunningServer;
  beforeAll(async () => {
    const store = fakeStore({ ping: fail, getProduct: fail, listProducts: () => Promise.reject('not an Error') });
    server = await app.listen(await app.buildApp({ store }, { logger: false, http: DEFAULT_HTTP_TIMEOUTS }), 0, '127.0.0.1', DEFAULT_HTTP_TIMEOUTS);
  });
  afterAll(() => server?.close());

  it('GET /health is 503 unavailable when the store cannot ping', async () => {
    const res = await send(server.url, { method: 'GET', path: '/health' });
    expectError(res, 'unavailable', 'database unavailable');
    expectFraming(res);
  });

  it('an unexpected store error is 500 internal', async () => {
    expectError(await send(server.url, { method: 'GET', path: '/products/1' }), 'internal', 'internal error');
    expectError(await send(server.url, { method: 'GET', path: '/products' }), 'internal', 'internal error');
  });
});
