import { CONNECTION_STRATEGIES, errors, FIELD_MESSAGES, JSON_CONTENT_TYPE, MAX_BODY_BYTES, type RunningServer, type Store } from '@stackbench/contract';
import { contractChecks, createCheckContext, expectError, send, type RawResponse } from '@stackbench/contract/suite';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { startTestServer } from '@stackbench/test-support/servers';
import { app } from '../src/index.js';
import { DEFAULT_HTTP_TIMEOUTS } from '@stackbench/server';

const APP = 'node-http';

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

/** Sends raw bytes on a fresh connection; resolves with everything the server wrote before closing or `waitMs`. */
function rawExchange(url: string, data: string, waitMs = 1000): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, waitMs);
    socket.on('data', (chunk) => (out += chunk.toString('utf8')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      if (out) resolve(out);
      else reject(err);
    });
    socket.write(data);
  });
}

function expectFraming(res: RawResponse, bodyBytes = Buffer.byteLength(res.text)): void {
  assert.equal(res.headers['content-type'], JSON_CONTENT_TYPE);
  assert.equal(res.headers['content-length'], String(bodyBytes));
}

describe(`${APP} + pg: node:http specifics`, () => {
  let db: TestDatabase;
  let server: RunningServer;
  const json = { 'content-type': 'application/json' };
  beforeAll(async () => {
    db = await createTestDatabase(`${APP}_specifics`);
    server = await startTestServer({ app: APP, store: 'pg', conn: 'pool', databaseUrl: db.url });
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('writes content-type and content-length on every response, errors included', async () => {
    for (const req of [
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/products?limit=3' },
      { method: 'GET', path: '/products/1' },
      { method: 'GET', path: '/products/abc' },
      { method: 'GET', path: '/nope' },
      { method: 'DELETE', path: '/products' },
      { method: 'POST', path: '/orders', headers: { 'content-type': 'text/plain' }, body: '{}' },
    ]) {
      const res = await send(server.url, req);
      expectFraming(res);
      assert.ok(res.text.length > 0);
    }
  });

  it('HEAD on a GET route is the GET response without a body; HEAD /orders is 405', async () => {
    for (const path of ['/health', '/products?limit=2', '/products/1', '/products/abc', '/orders/2147483647']) {
      const get = await send(server.url, { method: 'GET', path });
      const head = await send(server.url, { method: 'HEAD', path });
      assert.equal(head.status, get.status, path);
      assert.equal(head.text, '', path);
      expectFraming(head, Buffer.byteLength(get.text));
    }
    const res = await send(server.url, { method: 'HEAD', path: '/orders' });
    assert.equal(res.status, 405);
    assert.equal(res.headers['allow'], 'POST');
    assert.equal(res.text, '');
  });

  it('percent-decodes the id segment; a malformed escape is 400 invalid id, whatever the method', async () => {
    const plain = await send(server.url, { method: 'GET', path: '/products/1' });
    const encoded = await send(server.url, { method: 'GET', path: '/products/%31' });
    assert.equal(encoded.status, 200);
    assert.equal(encoded.text, plain.text);
    for (const [method, path] of [
      ['GET', '/products/%ZZ'],
      ['GET', '/orders/%E0%A4%A'],
      ['POST', '/products/%'],
    ] as const) {
      expectError(await send(server.url, { method, path }), 'invalid_request', FIELD_MESSAGES.id);
    }
    // Static segments are matched exactly, not decoded (as in Express).
    expectError(await send(server.url, { method: 'GET', path: '/%70roducts' }), 'not_found', 'route not found');
  });

  it('splits path, query and fragment', async () => {
    const res = await send(server.url, { method: 'GET', path: '/products?limit=2&after=1#ignored?limit=50' });
    assert.equal(res.status, 200);
    assert.deepEqual((res.json as { items: Array<{ id: number }> }).items.map((p) => p.id), [2, 3]);
    assert.equal((await send(server.url, { method: 'GET', path: '/health#x' })).status, 200);
    expectError(await send(server.url, { method: 'GET', path: '/products?after=1?' }), 'invalid_request', FIELD_MESSAGES.after);
  });

  it('an empty or absent body is not valid JSON; a UTF-8 byte order mark is skipped', async () => {
    for (const req of [
      { method: 'POST', path: '/orders', headers: json },
      { method: 'POST', path: '/orders', headers: json, body: '' },
      { method: 'POST', path: '/orders', headers: json, body: '', chunked: true },
      { method: 'POST', path: '/orders', headers: json, body: ' \n' },
    ]) {
      expectError(await send(server.url, req), 'invalid_request', 'body is not valid JSON');
    }
    const bom = await send(server.url, {
      method: 'POST',
      path: '/orders',
      headers: json,
      body: '\ufeff{"productId": 2147483647, "quantity": 1}',
    });
    expectError(bom, 'not_found', 'product 2147483647 not found');
  });

  it('415 comes before the body is read, so an oversized body of another type is 415', async () => {
    const res = await send(server.url, {
      method: 'POST',
      path: '/orders',
      headers: { 'content-type': 'text/plain' },
      body: 'x'.repeat(MAX_BODY_BYTES * 4),
    });
    expectError(res, 'unsupported_media_type');
  });

  it('413 on a declared content-length without waiting for the body, and closes the connection', async () => {
    const head =
      'POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n{"productId":`;
    const out = await rawExchange(server.url, head, 5000);
    expect(out).toMatch(/^HTTP\/1\.1 413 /);
    expect(out.toLowerCase()).toContain('connection: close');
    expect(out).toContain(JSON.stringify(errors.payloadTooLarge().toBody()));
  });

  it('a body of exactly the limit is read', async () => {
    const base = '{"productId": 2147483647, "quantity": 1}';
    const body = base.slice(0, -1) + ' '.repeat(MAX_BODY_BYTES - base.length) + '}';
    assert.equal(Buffer.byteLength(body), MAX_BODY_BYTES);
    for (const chunked of [false, true]) {
      const res = await send(server.url, { method: 'POST', path: '/orders', headers: json, body, chunked });
      expectError(res, 'not_found', 'product 2147483647 not found');
    }
  });

  it('keeps the connection alive across requests (pipelined)', async () => {
    const out = await rawExchange(
      server.url,
      'GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      5000,
    );
    expect(out.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 404', 'HTTP/1.1 200']);
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
    const built = await app.buildApp({ store: fakeStore({ ping: fail, getProduct: fail, listProducts: () => Promise.reject('not an Error') }) }, { logger: false, http: DEFAULT_HTTP_TIMEOUTS });
    server = await app.listen(built, 0, '127.0.0.1', DEFAULT_HTTP_TIMEOUTS);
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
