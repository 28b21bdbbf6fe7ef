import { nestExpress, nestFastify } from '@stackbench/app-nest';
import { CONNECTION_STRATEGIES, FIELD_MESSAGES, type RunningServer, type Store } from '@stackbench/contract';
import { contractChecks, createCheckContext, expectError, send } from '@stackbench/contract/suite';
import { DEFAULT_HTTP_TIMEOUTS, type AppModule } from '@stackbench/server';
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { startTestServer } from '@stackbench/test-support/servers';

const PLATFORMS = [
  { app: 'nest-express', module: nestExpress },
  { app: 'nest-fastify', module: nestFastify },
] as const;

/** The whole contract suite, against the compiled package on a real PostgreSQL (store pg), per connection strategy. */
for (const { app } of PLATFORMS) {
  for (const conn of CONNECTION_STRATEGIES) {
    describe(`${app} + pg (${conn}): contract`, () => {
      let db: TestDatabase;
      let server: RunningServer;
      beforeAll(async () => {
        db = await createTestDatabase(`${app}_pg_${conn}`);
        server = await startTestServer({ app, store: 'pg', conn, databaseUrl: db.url });
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

/** An in-memory store for the cases the database cannot produce (failures) and for lifecycle checks. */
function fakeStore(overrides: Partial<Store> = {}): Store & { closed: number } {
  const product = { id: 7, name: 'Product 000007', priceCents: 250, stock: 10, sold: 0 };
  return {
    closed: 0,
    async ping() {},
    async listProducts() {
      return { items: [product], nextAfter: null };
    },
    async getProduct(id) {
      return id === product.id ? { ...product } : null;
    },
    async placeOrder({ productId, quantity }) {
      if (productId !== product.id) return { status: 'product_not_found' };
      return {
        status: 'created',
        order: {
          id: 1,
          productId,
          quantity,
          unitPriceCents: 250,
          totalCents: 250 * quantity,
          createdAt: new Date().toISOString(),
        },
      };
    },
    async getOrder() {
      return null;
    },
    async close() {
      this.closed++;
    },
    ...overrides,
  };
}

async function startFake(module: AppModule, store: Store): Promise<RunningServer> {
  const built = await module.buildApp({ store }, { logger: false, http: DEFAULT_HTTP_TIMEOUTS });
  return module.listen(built, 0, '127.0.0.1', DEFAULT_HTTP_TIMEOUTS);
}

const json = { 'content-type': 'application/json' };

/** Behaviour that Nest or one of its platforms needed special handling for, beyond what the contract checks. */
for (const { app, module } of PLATFORMS) {
  describe(`${app}: platform specifics`, () => {
    let store: ReturnType<typeof fakeStore>;
    let server: RunningServer;
    beforeAll(async () => {
      store = fakeStore();
      server = await startFake(module, store);
    });
    afterAll(async () => {
      await server?.close();
    });

    it('health is 503 unavailable when the store cannot ping', async () => {
      const down = await startFake(module, fakeStore({ ping: () => Promise.reject(new Error('ECONNREFUSED')) }));
      try {
        expectError(await send(down.url, { method: 'GET', path: '/health' }), 'unavailable', 'database unavailable');
      } finally {
        await down.close();
      }
    });

    it('an unexpected store failure is 500 internal, without details', async () => {
      const broken = await startFake(module, fakeStore({ getProduct: () => Promise.reject(new Error('secret')) }));
      try {
        expectError(await send(broken.url, { method: 'GET', path: '/products/7' }), 'internal', 'internal error');
      } finally {
        await broken.close();
      }
    });

    it('app.close() closes the store through the lifecycle hook', async () => {
      const own = fakeStore();
      const running = await startFake(module, own);
      await running.close();
      assert.equal(own.closed, 1);
    });

    it('paths that cannot be decoded or routed: bad id where an id goes, else 404', async () => {
      // Express: URIError from the router; Fastify: FST_ERR_BAD_URL / FST_ERR_MAX_PARAM_LENGTH from find-my-way.
      for (const path of ['/products/%E0', '/orders/%E0', `/products/${'1'.repeat(101)}`]) {
        expectError(await send(server.url, { method: 'GET', path }), 'invalid_request', FIELD_MESSAGES.id);
      }
      expectError(await send(server.url, { method: 'GET', path: '/nope%E0' }), 'not_found', 'route not found');
    });

    it('HEAD and OPTIONS follow the routes: HEAD of a GET route is served, others are 405 with Allow', async () => {
      const head = await send(server.url, { method: 'HEAD', path: '/products/7' });
      assert.equal(head.status, 200);
      for (const [method, path, allow] of [
        ['HEAD', '/orders', 'POST'],
        ['OPTIONS', '/products/7', 'GET'],
        ['POST', '/health', 'GET'],
      ] as const) {
        const res = await send(server.url, { method, path });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers['allow'], allow);
      }
    });

    it('415 comes before body parsing: an oversized non-JSON body and a missing content type are 415', async () => {
      const big = 'x'.repeat(32 * 1024);
      const text = { 'content-type': 'text/plain' };
      expectError(
        await send(server.url, { method: 'POST', path: '/orders', headers: text, body: big }),
        'unsupported_media_type',
      );
      expectError(await send(server.url, { method: 'POST', path: '/orders' }), 'unsupported_media_type');
    });

    it('bodies: unknown fields first, in body order; null is invalid, not missing; 1e0 is 1', async () => {
      const post = (body: string) => send(server.url, { method: 'POST', path: '/orders', headers: json, body });
      expectError(await post('{"zzz": 1, "productId": "x"}'), 'invalid_request', '"zzz" is not a known field');
      expectError(await post('{"productId": 7, "quantity": null}'), 'invalid_request', FIELD_MESSAGES.quantity);
      assert.equal((await post('{"productId": 7, "quantity": 1e0}')).status, 201);
      // Keys class-transformer skips (prototype method names) or Nest strips (__proto__) are unknown fields too;
      // Fastify's parser is told to keep them as own keys, as Express's does.
      for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype']) {
        const res = await post(`{"productId": 7, "quantity": 1, "${key}": {"prototype": {"x": 1}}}`);
        expectError(res, 'invalid_request', `"${key}" is not a known field`);
      }
    });

    it('query: unknown parameters, including prototype names, are ignored', async () => {
      for (const query of ['constructor=1', '__proto__=1', 'toString=1', 'limit=5&x=1']) {
        const res = await send(server.url, { method: 'GET', path: `/products?${query}` });
        assert.equal(res.status, 200, `${query}: ${res.text}`);
      }
    });
  });
}
