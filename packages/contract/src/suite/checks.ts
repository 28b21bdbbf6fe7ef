import assert from 'node:assert/strict';
import { ERROR_STATUS, FIELD_MESSAGES, INT32_MAX, JSON_CONTENT_TYPE, MAX_BODY_BYTES, type ErrorCode } from '../errors.js';
import { parseServerTiming, SERVER_TIMING_HEADER } from '../server-timing.js';
import type { Order, Product, ProductPage } from '../types.js';
import { send, type RawRequest, type RawResponse } from './http.js';

/** One named rule of the contract, runnable against any base URL. */
export interface ContractCheck {
  name: string;
  run(ctx: CheckContext): Promise<void>;
}

export interface CheckContext {
  baseUrl: string;
  send(req: RawRequest): Promise<RawResponse>;
  get(path: string): Promise<RawResponse>;
  postOrder(body: unknown): Promise<RawResponse>;
}

const BAD_IDS = ['abc', '-1', '0', '1.5', '2147483648', '99999999999', '1e3', '0x10', '%201', '1%20', '01', '+1', '1,2', '%ZZ', '1'.repeat(150)];
const BAD_LIMITS = ['0', '101', '-1', 'abc', '1.5', '1e1', '', '%201', '05', '0x10'];
const BAD_AFTERS = ['-1', '2147483648', 'abc', '1.5', '', '1e3'];

export function expectJsonContentType(res: RawResponse): void {
  assert.equal(res.headers['content-type'], JSON_CONTENT_TYPE, `content-type of ${res.status} response`);
}

/** Asserts the contract's error body exactly: status, code, a non-empty message, nothing else. */
export function expectError(res: RawResponse, code: ErrorCode, message?: string): void {
  assert.equal(res.status, ERROR_STATUS[code], `status (body: ${res.text.slice(0, 200)})`);
  expectJsonContentType(res);
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  assert.ok(body && typeof body === 'object', `error body is JSON: ${res.text.slice(0, 200)}`);
  assert.deepEqual(Object.keys(body), ['error'], 'error body has only "error"');
  assert.deepEqual(Object.keys(body.error ?? {}).sort(), ['code', 'message'], 'error has code and message only');
  assert.equal(body.error?.code, code);
  assert.equal(typeof body.error?.message, 'string');
  assert.ok((body.error?.message as string).length > 0, 'error message is not empty');
  if (message !== undefined) assert.equal(body.error?.message, message);
}

/** Asserts `Server-Timing: app;dur=N.NNN` (one metric, milliseconds with 3 decimals, not negative). */
export function expectServerTiming(res: RawResponse, what: string): void {
  const value = res.headers[SERVER_TIMING_HEADER];
  const ms = parseServerTiming(value);
  assert.ok(ms !== undefined && Number.isFinite(ms), `${what} -> ${res.status}: Server-Timing is ${JSON.stringify(value)}, expected "app;dur=<ms with 3 decimals>"`);
}

function expectOk<T>(res: RawResponse, status = 200): T {
  assert.equal(res.status, status, `status (body: ${res.text.slice(0, 200)})`);
  expectJsonContentType(res);
  return res.json as T;
}

function expectProductShape(p: Product): void {
  assert.deepEqual(Object.keys(p).sort(), ['id', 'name', 'priceCents', 'sold', 'stock']);
  for (const key of ['id', 'priceCents', 'stock', 'sold'] as const) assert.ok(Number.isInteger(p[key]), key);
  assert.equal(typeof p.name, 'string');
  assert.ok(p.sold <= p.stock, 'sold never exceeds stock');
}

function expectOrderShape(o: Order): void {
  assert.deepEqual(Object.keys(o).sort(), ['createdAt', 'id', 'productId', 'quantity', 'totalCents', 'unitPriceCents']);
  for (const key of ['id', 'productId', 'quantity', 'unitPriceCents', 'totalCents'] as const) {
    assert.ok(Number.isInteger(o[key]), key);
  }
  assert.match(o.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'createdAt is ISO-8601 UTC');
  assert.equal(o.totalCents, o.unitPriceCents * o.quantity, 'totalCents = unitPriceCents * quantity');
}

async function firstPage(ctx: CheckContext): Promise<Product[]> {
  return expectOk<ProductPage>(await ctx.get('/products?limit=100')).items;
}

/** A product with enough stock left for `quantity` more. */
async function productWithStock(ctx: CheckContext, quantity: number): Promise<Product> {
  const found = (await firstPage(ctx)).find((p) => p.stock - p.sold >= quantity + 1000);
  assert.ok(found, 'the first page holds a product with plenty of stock (seeded catalog)');
  return found;
}

async function getProduct(ctx: CheckContext, id: number): Promise<Product> {
  return expectOk<Product>(await ctx.get(`/products/${id}`));
}

/** The largest product id, found by exponential then binary search on `after` (no assumption about the seed). */
async function lastProductId(ctx: CheckContext): Promise<number> {
  const hasAfter = async (after: number) =>
    expectOk<ProductPage>(await ctx.get(`/products?limit=1&after=${after}`)).items.length > 0;
  let lo = 0;
  let hi = 1;
  while (hi < INT32_MAX && (await hasAfter(hi))) {
    lo = hi;
    hi = Math.min(hi * 2, INT32_MAX);
  }
  // invariant: some product has id > lo; none has id > hi
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await hasAfter(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

const check = (name: string, run: (ctx: CheckContext) => Promise<void>): ContractCheck => ({ name, run });

export const contractChecks: ContractCheck[] = [
  check('GET /health is 200 {"status":"ok"}', async (ctx) => {
    const body = expectOk(await ctx.get('/health'));
    assert.deepEqual(body, { status: 'ok' });
  }),

  check('GET /products defaults to 20 items ascending by id, nextAfter = last id', async (ctx) => {
    const page = expectOk<ProductPage>(await ctx.get('/products'));
    assert.deepEqual(Object.keys(page).sort(), ['items', 'nextAfter']);
    assert.equal(page.items.length, 20);
    page.items.forEach(expectProductShape);
    for (let i = 1; i < page.items.length; i++) assert.ok(page.items[i]!.id > page.items[i - 1]!.id, 'ascending ids');
    assert.ok(page.items[0]!.id > 0);
    assert.equal(page.nextAfter, page.items.at(-1)!.id);
  }),

  check('GET /products?limit&after is keyset pagination (id > after)', async (ctx) => {
    const reference = await firstPage(ctx);
    const after = reference[10]!.id;
    const page = expectOk<ProductPage>(await ctx.get(`/products?limit=5&after=${after}`));
    assert.deepEqual(page.items, reference.slice(11, 16));
    assert.equal(page.nextAfter, reference[15]!.id);
    const between = expectOk<ProductPage>(await ctx.get(`/products?after=${after}&limit=1&unknown=ignored`));
    assert.deepEqual(between.items, [reference[11]]);
    const max = expectOk<ProductPage>(await ctx.get('/products?limit=100'));
    assert.equal(max.items.length, 100);
  }),

  check('GET /products: nextAfter is null exactly when no more rows exist', async (ctx) => {
    const last = await lastProductId(ctx);
    const tail = expectOk<ProductPage>(await ctx.get(`/products?limit=100&after=${Math.max(0, last - 3)}`));
    const k = tail.items.length;
    assert.ok(k >= 1 && k <= 3, 'a short tail page');
    assert.equal(tail.nextAfter, null);
    const exact = expectOk<ProductPage>(await ctx.get(`/products?limit=${k}&after=${Math.max(0, last - 3)}`));
    assert.equal(exact.items.length, k);
    assert.equal(exact.nextAfter, null, 'a page that ends exactly at the last row has nextAfter null');
    if (k > 1) {
      const short = expectOk<ProductPage>(await ctx.get(`/products?limit=${k - 1}&after=${Math.max(0, last - 3)}`));
      assert.equal(short.nextAfter, short.items.at(-1)!.id);
    }
    const beyond = expectOk<ProductPage>(await ctx.get(`/products?after=${INT32_MAX}`));
    assert.deepEqual(beyond, { items: [], nextAfter: null });
  }),

  check('GET /products/:id returns the product, equal to its list entry', async (ctx) => {
    const [p] = await firstPage(ctx);
    const body = await getProduct(ctx, p!.id);
    expectProductShape(body);
    assert.deepEqual(body, p);
  }),

  check('GET /products/:id of a missing product is 404 not_found', async (ctx) => {
    expectError(await ctx.get(`/products/${INT32_MAX}`), 'not_found', `product ${INT32_MAX} not found`);
  }),

  check('POST /orders creates an order (201) and GET /orders/:id returns it; sold grows by quantity', async (ctx) => {
    const product = await productWithStock(ctx, 3);
    const res = await ctx.postOrder({ productId: product.id, quantity: 3 });
    const order = expectOk<Order>(res, 201);
    expectOrderShape(order);
    assert.equal(order.productId, product.id);
    assert.equal(order.quantity, 3);
    assert.equal(order.unitPriceCents, product.priceCents);
    assert.ok(Math.abs(Date.parse(order.createdAt) - Date.now()) < 10 * 60_000, 'createdAt is now (clock skew < 10 min)');
    assert.deepEqual(expectOk<Order>(await ctx.get(`/orders/${order.id}`)), order);
    const after = await getProduct(ctx, product.id);
    assert.ok(after.sold >= product.sold + 3, 'sold grew by the quantity');
  }),

  check('GET /orders/:id of a missing order is 404 not_found', async (ctx) => {
    expectError(await ctx.get(`/orders/${INT32_MAX}`), 'not_found', `order ${INT32_MAX} not found`);
  }),

  check('POST /orders for a missing product is 404 not_found', async (ctx) => {
    expectError(await ctx.postOrder({ productId: INT32_MAX, quantity: 1 }), 'not_found', `product ${INT32_MAX} not found`);
  }),

  check('POST /orders beyond the stock left is 409 insufficient_stock and changes nothing', async (ctx) => {
    const low = (await firstPage(ctx)).find((p) => p.stock - p.sold < 100);
    assert.ok(low, 'the first page holds a low-stock product (seeded catalog)');
    const left = low.stock - low.sold;
    expectError(
      await ctx.postOrder({ productId: low.id, quantity: left + 1 }),
      'insufficient_stock',
      `product ${low.id} has ${left} left`,
    );
    assert.deepEqual(await getProduct(ctx, low.id), low);
  }),

  check('bad path ids are 400 invalid_request', async (ctx) => {
    for (const id of BAD_IDS) {
      for (const base of ['/products/', '/orders/']) {
        const res = await ctx.get(base + id);
        try {
          expectError(res, 'invalid_request', FIELD_MESSAGES.id);
        } catch (err) {
          throw new Error(`GET ${base}${id}: ${(err as Error).message}`);
        }
      }
    }
  }),

  check('bad limit and after are 400 invalid_request; a repeated parameter too', async (ctx) => {
    const cases: Array<[string, string]> = [
      ...BAD_LIMITS.map((v): [string, string] => [`limit=${v}`, FIELD_MESSAGES.limit]),
      ...BAD_AFTERS.map((v): [string, string] => [`after=${v}`, FIELD_MESSAGES.after]),
      ['limit=1&limit=2', FIELD_MESSAGES.limit],
      ['after=1&after=2', FIELD_MESSAGES.after],
    ];
    for (const [query, message] of cases) {
      try {
        expectError(await ctx.get(`/products?${query}`), 'invalid_request', message);
      } catch (err) {
        throw new Error(`GET /products?${query}: ${(err as Error).message}`);
      }
    }
  }),

  check('bad order bodies are 400 invalid_request and change nothing', async (ctx) => {
    const product = await productWithStock(ctx, 1);
    const id = product.id;
    const cases: Array<[string, string]> = [
      ['{"productId": 1, "quantity": ', 'body is not valid JSON'],
      ['', 'body is not valid JSON'],
      ['[]', 'body must be a JSON object'],
      ['null', 'body must be a JSON object'],
      ['"text"', 'body must be a JSON object'],
      ['42', 'body must be a JSON object'],
      [`{"quantity": 1}`, 'productId is required'],
      [`{"productId": ${id}}`, 'quantity is required'],
      [`{"productId": "${id}", "quantity": 1}`, FIELD_MESSAGES.productId],
      [`{"productId": ${id}, "quantity": "1"}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": 0}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": 101}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": -1}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": 1.5}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": true}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": null}`, FIELD_MESSAGES.quantity],
      [`{"productId": ${id}, "quantity": [1]}`, FIELD_MESSAGES.quantity],
      [`{"productId": 0, "quantity": 1}`, FIELD_MESSAGES.productId],
      [`{"productId": -5, "quantity": 1}`, FIELD_MESSAGES.productId],
      [`{"productId": 2147483648, "quantity": 1}`, FIELD_MESSAGES.productId],
      [`{"productId": 1.5, "quantity": 1}`, FIELD_MESSAGES.productId],
      [`{"productId": {"id": ${id}}, "quantity": 1}`, FIELD_MESSAGES.productId],
      [`{"productId": ${id}, "quantity": 1, "coupon": "FREE"}`, '"coupon" is not a known field'],
      [`{"__proto__": {"x": 1}, "productId": ${id}, "quantity": 1}`, '"__proto__" is not a known field'],
      [`{"productId": ${id}, "quantity": 1, "constructor": {"prototype": {}}}`, '"constructor" is not a known field'],
    ];
    for (const [body, message] of cases) {
      const res = await ctx.send({ method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body });
      try {
        expectError(res, 'invalid_request', message);
      } catch (err) {
        throw new Error(`POST /orders ${JSON.stringify(body)}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(await getProduct(ctx, id), product, 'no bad body changed the product');
  }),

  check('POST /orders with a non-JSON content type is 415 unsupported_media_type', async (ctx) => {
    const product = await productWithStock(ctx, 1);
    const body = JSON.stringify({ productId: product.id, quantity: 1 });
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/vnd.api+json', undefined]) {
      const headers: Record<string, string> = type ? { 'content-type': type } : {};
      const res = await ctx.send({ method: 'POST', path: '/orders', headers, body });
      try {
        expectError(res, 'unsupported_media_type', 'content-type must be application/json');
      } catch (err) {
        throw new Error(`content-type ${type ?? '(none)'}: ${(err as Error).message}`);
      }
    }
    const empty = await ctx.send({ method: 'POST', path: '/orders' });
    expectError(empty, 'unsupported_media_type', 'content-type must be application/json');
    assert.deepEqual(await getProduct(ctx, product.id), product);
  }),

  check('POST /orders accepts application/json with parameters and in any letter case', async (ctx) => {
    const product = await productWithStock(ctx, 2);
    for (const type of ['application/json; charset=utf-8', 'Application/JSON']) {
      const res = await ctx.send({
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': type },
        body: JSON.stringify({ productId: product.id, quantity: 1 }),
      });
      assert.equal(res.status, 201, `content-type ${type}: ${res.text.slice(0, 200)}`);
    }
  }),

  check(`POST /orders with a body over ${MAX_BODY_BYTES} bytes is 413 payload_too_large`, async (ctx) => {
    const product = await productWithStock(ctx, 1);
    const big = JSON.stringify({ productId: product.id, quantity: 1, pad: 'x'.repeat(MAX_BODY_BYTES) });
    expectError(
      await ctx.send({ method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: big }),
      'payload_too_large',
      `body exceeds ${MAX_BODY_BYTES} bytes`,
    );
    expectError(
      await ctx.send({ method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: big, chunked: true }),
      'payload_too_large',
      `body exceeds ${MAX_BODY_BYTES} bytes`,
    );
    assert.deepEqual(await getProduct(ctx, product.id), product);
  }),

  check('every response, errors included, carries Server-Timing: app;dur=<ms>', async (ctx) => {
    const product = await productWithStock(ctx, 1);
    const low = (await firstPage(ctx)).find((p) => p.stock - p.sold < 100);
    assert.ok(low, 'the first page holds a low-stock product (seeded catalog)');
    const order = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): RawRequest => ({
      method: 'POST',
      path: '/orders',
      headers,
      body,
    });
    const big = JSON.stringify({ productId: product.id, quantity: 1, pad: 'x'.repeat(MAX_BODY_BYTES) });
    const requests: RawRequest[] = [
      { method: 'GET', path: '/health' },
      { method: 'GET', path: '/products?limit=2' },
      { method: 'GET', path: `/products/${product.id}` },
      { method: 'HEAD', path: `/products/${product.id}` },
      order(JSON.stringify({ productId: product.id, quantity: 1 })),
      { method: 'GET', path: `/orders/${INT32_MAX}` },
      { method: 'GET', path: '/products/abc' },
      { method: 'GET', path: '/products?limit=0' },
      order('{"productId": 1,'),
      order(JSON.stringify({ productId: low.id, quantity: low.stock - low.sold + 1 })),
      order(JSON.stringify({ productId: product.id, quantity: 1 }), { 'content-type': 'text/plain' }),
      order(big),
      { ...order(big), chunked: true },
      { method: 'DELETE', path: '/products' },
      { method: 'GET', path: '/nope' },
    ];
    const statuses = new Set<number>();
    for (const req of requests) {
      const res = await ctx.send(req);
      statuses.add(res.status);
      expectServerTiming(res, `${req.method} ${req.path}${req.chunked ? ' (chunked)' : ''}`);
    }
    assert.deepEqual([...statuses].sort(), [200, 201, 400, 404, 405, 409, 413, 415], 'the requests covered every status');
  }),

  check('unknown routes are 404 not_found; a known path with another method is 405 with Allow', async (ctx) => {
    for (const path of ['/', '/nope', '/nope%E0', '/products/1/extra', '/products/', '/orders/', '/Products', '/health/']) {
      try {
        expectError(await ctx.get(path), 'not_found', 'route not found');
      } catch (err) {
        throw new Error(`GET ${path}: ${(err as Error).message}`);
      }
    }
    const cases: Array<[string, string, string]> = [
      ['DELETE', '/products', 'GET'],
      ['POST', '/products/1', 'GET'],
      ['PUT', '/orders/1', 'GET'],
      ['GET', '/orders', 'POST'],
      ['PATCH', '/health', 'GET'],
    ];
    for (const [method, path, allowed] of cases) {
      const res = await ctx.send({ method, path });
      try {
        expectError(res, 'method_not_allowed', 'method not allowed');
        const allow = String(res.headers['allow'] ?? '');
        assert.ok(allow.split(/,\s*/).includes(allowed), `Allow header "${allow}" includes ${allowed}`);
      } catch (err) {
        throw new Error(`${method} ${path}: ${(err as Error).message}`);
      }
    }
  }),
];
