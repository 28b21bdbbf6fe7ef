/**
 * The lab routes against one app, the way users get them: the app's compiled package built by @stackbench/server's
 * startServer with a lab configuration, on a real seeded PostgreSQL, a real slow upstream and (cache mode redis) a
 * real redis-server, over real HTTP on loopback. Each app's test file calls describeLabApp(name).
 */
import { ERROR_STATUS, FIELD_MESSAGES, JSON_CONTENT_TYPE, type LabCacheMode, type LabConfig, type RunningServer } from '@stackbench/contract';
import { expectError, expectServerTiming, send, type RawRequest, type RawResponse } from '@stackbench/contract/suite';
import { LAB_MESSAGES, LAB_ROUTES, startSlowUpstream, variantMessage, type SlowUpstream } from '@stackbench/lab';
import { DEFAULT_DATABASE_TIMEOUTS, DEFAULT_HTTP_TIMEOUTS, findApp, loadAppModule, startServer } from '@stackbench/server';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { describeWithPart } from '@stackbench/test-support/optional';
import { startTestServer } from '@stackbench/test-support/servers';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startRedisServer, type RedisServer } from './redis.js';

/** The app's payload variants as its package.json declares them (`stackbench.apps[].labVariants.payload`). */
export function declaredPayloadVariants(app: string): string[] {
  const entry = findApp(app);
  const pkg = JSON.parse(readFileSync(join(entry.dir, 'package.json'), 'utf8')) as {
    stackbench: { apps: Array<{ name: string; labVariants?: { payload?: string[] } }> };
  };
  const variants = pkg.stackbench.apps.find((a) => a.name === app)?.labVariants?.payload;
  assert.ok(Array.isArray(variants) && variants.length > 0, `${app}: package.json declares labVariants.payload`);
  return variants;
}

/** Builds `app` from its compiled package with `lab` (null: lab off) on the pg store, on a free loopback port. */
export async function startLabApp(app: string, databaseUrl: string, lab: LabConfig | null): Promise<RunningServer> {
  return startServer(await loadAppModule(findApp(app)), {
    databaseUrl,
    store: 'pg',
    conn: 'pool',
    poolSize: 10,
    port: 0,
    host: '127.0.0.1',
    logger: false,
    database: DEFAULT_DATABASE_TIMEOUTS,
    http: DEFAULT_HTTP_TIMEOUTS,
    lab,
  });
}

export const labConfig = (overrides: Partial<LabConfig> = {}): LabConfig => ({ upstream: null, cache: 'none', cacheTtlMs: 1000, redisUrl: null, ...overrides });

const get = (url: string, path: string, headers: Record<string, string> = {}) => send(url, { method: 'GET', path, headers });

function expectJson(res: RawResponse, what: string, status = 200): unknown {
  assert.equal(res.status, status, `${what}: status (body ${res.text.slice(0, 200)})`);
  assert.equal(res.headers['content-type'], JSON_CONTENT_TYPE, `${what}: content-type`);
  expectServerTiming(res, what);
  return res.json;
}

/** The strong ETag the lab promises for a body: a quoted SHA-1 (base64url) of its bytes, computed here on its own. */
const etagOf = (body: string) => `"${createHash('sha1').update(body).digest('base64url')}"`;

const stats = async (url: string) => expectJson(await get(url, '/lab/cache/stats'), 'GET /lab/cache/stats') as { mode: string; hits: number; misses: number; hitRate: number | null };

async function placeOrder(url: string, productId: number, quantity: number): Promise<void> {
  const res = await send(url, { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ productId, quantity }) });
  assert.equal(res.status, 201, `POST /orders: ${res.text}`);
}

/** A valid request for every lab route (and what it must answer where that is fixed), for on/off checks. */
function everyRoute(variant: string): Array<{ path: string; body?: unknown; check?: (body: any) => void }> {
  return [
    { path: '/lab/simple', body: { ok: true } },
    ...(['await', 'block', 'offload'] as const).map((mode) => ({ path: `/lab/wait?ms=5&mode=${mode}`, body: { waitedMs: 5, mode } })),
    ...(['main', 'worker'] as const).map((mode) => ({ path: `/lab/cpu?n=1000&mode=${mode}`, body: { n: 1000, primes: 168, mode } })),
    ...(['sequential', 'all', 'limit:2'] as const).map((mode) => ({
      path: `/lab/fanout?calls=3&ms=5&mode=${mode}`,
      check: (b: { calls: number; mode: string; elapsedMs: number }) => {
        assert.deepEqual(Object.keys(b), ['calls', 'mode', 'elapsedMs']);
        assert.equal(b.calls, 3);
        assert.equal(b.mode, mode);
        assert.ok(Number.isInteger(b.elapsedMs) && b.elapsedMs >= (mode === 'sequential' ? 15 : 5) - 1, `elapsedMs ${b.elapsedMs}`);
      },
    })),
    { path: '/lab/pbkdf2?iterations=1000', body: { iterations: 1000 } },
    {
      path: `/lab/products?rows=3&variant=${variant}`,
      check: (b: { items: Array<{ id: number }>; nextAfter: number | null }) => {
        assert.deepEqual(b.items.map((p) => p.id), [1, 2, 3]);
        assert.equal(b.nextAfter, 3);
      },
    },
    { path: '/lab/cache/products/6', check: (b: { id: number }) => assert.deepEqual(Object.keys(b), ['id', 'name', 'priceCents', 'stock', 'sold']) },
    { path: '/lab/cache/stats', check: (b: object) => assert.deepEqual(Object.keys(b), ['mode', 'hits', 'misses', 'hitRate', 'instance']) },
  ];
}

/** Bad parameters, one route and one parameter at a time: [path, message]. */
function badRequests(variants: readonly string[]): Array<[string, string]> {
  const M = LAB_MESSAGES;
  return [
    ['/lab/wait?ms=5001&mode=await', M.ms],
    ['/lab/wait?ms=-1&mode=await', M.ms],
    ['/lab/wait?ms=01&mode=await', M.ms],
    ['/lab/wait?ms=1e3&mode=await', M.ms],
    ['/lab/wait?ms=1&ms=2&mode=await', M.ms],
    ['/lab/wait?mode=await', M.ms],
    ['/lab/wait?ms=1', M.waitMode],
    ['/lab/wait?ms=1&mode=sleep', M.waitMode],
    ['/lab/wait?ms=1&mode=AWAIT', M.waitMode],
    ['/lab/cpu?n=0&mode=main', M.n],
    ['/lab/cpu?n=2000001&mode=worker', M.n],
    ['/lab/cpu?n=10&mode=thread', M.cpuMode],
    ['/lab/fanout?calls=0&ms=1&mode=all', M.calls],
    ['/lab/fanout?calls=1001&ms=1&mode=all', M.calls],
    ['/lab/fanout?calls=1&ms=5001&mode=all', M.ms],
    ['/lab/fanout?calls=1&ms=1&mode=limit:0', M.fanoutMode],
    ['/lab/fanout?calls=1&ms=1&mode=limit:1001', M.fanoutMode],
    ['/lab/fanout?calls=1&ms=1&mode=limit:', M.fanoutMode],
    ['/lab/fanout?calls=1&ms=1&mode=parallel', M.fanoutMode],
    ['/lab/pbkdf2?iterations=0', M.iterations],
    ['/lab/pbkdf2?iterations=1000001', M.iterations],
    ['/lab/pbkdf2', M.iterations],
    [`/lab/products?rows=0&variant=${variants[0]}`, M.rows],
    [`/lab/products?rows=1001&variant=${variants[0]}`, M.rows],
    [`/lab/products?variant=${variants[0]}`, M.rows],
    [`/lab/products?rows=1&after=-1&variant=${variants[0]}`, M.after],
    ['/lab/products?rows=1&variant=nope', variantMessage(variants)],
    ['/lab/products?rows=1', variantMessage(variants)],
    [`/lab/products?rows=1&variant=${variants[0]}&variant=${variants[0]}`, variantMessage(variants)],
    ['/lab/cache/products/abc', FIELD_MESSAGES.id],
    ['/lab/cache/products/0', FIELD_MESSAGES.id],
    ['/lab/cache/products/2147483648', FIELD_MESSAGES.id],
    ['/lab/cache/products/%ZZ', FIELD_MESSAGES.id],
  ];
}

/**
 * While a 1000 ms `/lab/wait` runs, a `/lab/simple` sent 150 ms later: with `block` it cannot finish before the
 * wait's 1000 ms are over (the event loop is stalled); with `await` and `offload` it finishes before the wait does.
 */
async function simpleDuringWait(url: string, mode: string): Promise<{ simpleDoneAfterMs: number; simpleBeforeWait: boolean }> {
  const waitMs = 1000;
  const sent = performance.now();
  let waitDone = 0;
  const wait = get(url, `/lab/wait?ms=${waitMs}&mode=${mode}`).then((res) => {
    waitDone = performance.now();
    assert.equal(res.status, 200);
  });
  await new Promise((r) => setTimeout(r, 150));
  const simple = await get(url, '/lab/simple');
  const simpleDone = performance.now();
  assert.equal(simple.status, 200);
  await wait;
  return { simpleDoneAfterMs: simpleDone - sent, simpleBeforeWait: waitDone === 0 || simpleDone < waitDone };
}

/** Routes and parameters: the same on every cache mode, checked once per app (on the http mode's server). */
function routeChecks(ctx: { app: string; url(): string; variants: readonly string[] }): void {
  it('answers every lab route with its JSON body and Server-Timing', async () => {
    for (const route of everyRoute(ctx.variants[0]!)) {
      const body = expectJson(await get(ctx.url(), route.path), `GET ${route.path}`);
      if (route.body !== undefined) assert.equal(JSON.stringify(body), JSON.stringify(route.body), `GET ${route.path}`);
      route.check?.(body);
    }
  });

  it("answers a bad parameter with the contract's 400 body and the lab's fixed message", async () => {
    for (const [path, message] of badRequests(ctx.variants)) {
      const res = await get(ctx.url(), path);
      try {
        expectError(res, 'invalid_request', message);
        expectServerTiming(res, path);
      } catch (err) {
        throw new Error(`GET ${path}: ${(err as Error).message}`);
      }
    }
    expectError(await get(ctx.url(), '/lab/cache/products/999999'), 'not_found', 'product 999999 not found');
  });

  it('answers another method on a lab path with 405 and Allow: GET, HEAD like GET, and unknown lab paths with 404', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/lab/simple', '/lab/cache/products/6', '/lab/cache/stats']) {
        const res = await send(ctx.url(), { method, path });
        expectError(res, 'method_not_allowed', 'method not allowed');
        assert.equal(res.headers['allow'], 'GET', `${method} ${path}`);
      }
    }
    const head = await send(ctx.url(), { method: 'HEAD', path: '/lab/simple' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    for (const path of ['/lab', '/lab/', '/lab/nope', '/lab/simple/', '/lab/Simple', '/lab/cache/products/', '/lab/cache/products/6/x']) {
      expectError(await get(ctx.url(), path), 'not_found', 'route not found');
    }
  });

  it('sends the same bytes for every payload variant, from 1 to 1000 rows, and the variants are what package.json declares', async () => {
    const mod = (await import(findApp(ctx.app).package)) as { PAYLOAD_VARIANTS?: readonly string[] };
    assert.deepEqual([...(mod.PAYLOAD_VARIANTS ?? [])], [...ctx.variants], 'the app exports the variants its package.json declares');
    for (const [query, ids, nextAfter] of [
      ['rows=1000', [1, 1000], 1000],
      ['rows=1000&after=0', [1, 1000], 1000],
      ['rows=3&after=9997', [9998, 10000], null],
      ['rows=1&after=10000', [], null],
    ] as const) {
      const bodies = new Set<string>();
      for (const variant of ctx.variants) {
        const res = await get(ctx.url(), `/lab/products?${query}&variant=${variant}`);
        const page = expectJson(res, `${query} ${variant}`) as { items: Array<{ id: number }>; nextAfter: number | null };
        const got = page.items.length === 0 ? [] : [page.items[0]!.id, page.items[page.items.length - 1]!.id];
        assert.deepEqual(got, [...ids], `${query} ${variant}: first and last id`);
        assert.equal(page.nextAfter, nextAfter, `${query} ${variant}: nextAfter`);
        bodies.add(res.text);
      }
      assert.equal(bodies.size, 1, `${query}: every variant sends the same bytes`);
    }
    // The page is the store's: the same items as the contract's /products for the part both can show.
    const lab = (await get(ctx.url(), `/lab/products?rows=100&after=7&variant=${ctx.variants[0]}`)).json;
    const contract = (await get(ctx.url(), '/products?limit=100&after=7')).json;
    assert.deepEqual(lab, contract);
  });

  it('stalls other requests with mode=block, and not with await or offload', async () => {
    const blocked = await simpleDuringWait(ctx.url(), 'block');
    assert.ok(blocked.simpleDoneAfterMs >= 950, `a request sent during a 1000 ms block finished ${blocked.simpleDoneAfterMs.toFixed(0)} ms after the block began`);
    for (const mode of ['await', 'offload']) {
      const free = await simpleDuringWait(ctx.url(), mode);
      assert.ok(free.simpleBeforeWait, `${mode}: a request sent during the wait finished before it`);
    }
  });
}

/** What each cache mode promises on `/lab/cache/products/:id` and `/lab/cache/stats`. */
function cacheChecks(mode: LabCacheMode, ctx: { url(): string }): void {
  if (mode === 'none') {
    it('none: reads the store every time, with Cache-Control: no-store and no strong ETag; every read is a miss', async () => {
      const before = await stats(ctx.url());
      assert.equal(before.mode, 'none');
      for (let i = 0; i < 3; i++) {
        const res = await get(ctx.url(), '/lab/cache/products/8');
        expectJson(res, 'GET /lab/cache/products/8');
        assert.equal(res.headers['cache-control'], 'no-store');
        // Express-based stacks add their default weak ETag to every JSON body; the lab adds none.
        assert.ok(res.headers['etag'] === undefined || String(res.headers['etag']).startsWith('W/'), `etag ${res.headers['etag']}`);
      }
      const after = await stats(ctx.url());
      assert.deepEqual([after.hits - before.hits, after.misses - before.misses, after.hitRate], [0, 3, 0]);
    });
  }

  if (mode === 'memory' || mode === 'redis') {
    it(`${mode}: a miss, then hits; an order through POST /orders invalidates the product for every route`, async () => {
      const url = ctx.url();
      const before = await stats(url);
      assert.equal(before.mode, mode);
      const first = await get(url, '/lab/cache/products/9');
      const product = expectJson(first, 'first read') as { sold: number };
      assert.equal(first.headers['cache-control'], 'no-store');
      const second = await get(url, '/lab/cache/products/9');
      assert.equal(second.text, first.text);
      const mid = await stats(url);
      assert.deepEqual([mid.hits - before.hits, mid.misses - before.misses], [1, 1], 'one miss, then one hit');
      // The commerce route reads through the same cache.
      assert.equal((await get(url, '/products/9')).text, first.text);
      assert.equal((await stats(url)).hits - before.hits, 2);

      await placeOrder(url, 9, 2);
      const afterOrder = expectJson(await get(url, '/lab/cache/products/9'), 'read after the order') as { sold: number };
      assert.equal(afterOrder.sold, product.sold + 2, 'the order is visible at once');
      assert.equal((expectJson(await get(url, '/products/9'), 'GET /products/9') as { sold: number }).sold, product.sold + 2);
      const end = await stats(url);
      assert.equal(end.hitRate, end.hits / (end.hits + end.misses));
    });
  }

  if (mode === 'http') {
    it('http: max-age and a strong ETag of the body; a matching If-None-Match is 304 without a body, counted as a hit', async () => {
      const url = ctx.url();
      const before = await stats(url);
      assert.equal(before.mode, 'http');
      const first = await get(url, '/lab/cache/products/10');
      expectJson(first, 'first read');
      const etag = String(first.headers['etag']);
      assert.equal(etag, etagOf(first.text), 'the ETag is the strong tag of the bytes sent');
      assert.equal(first.headers['cache-control'], 'max-age=1');

      for (const ifNoneMatch of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const res = await get(url, '/lab/cache/products/10', { 'if-none-match': ifNoneMatch });
        assert.equal(res.status, 304, `If-None-Match: ${ifNoneMatch}`);
        assert.equal(res.text, '');
        assert.equal(res.headers['etag'], etag);
        assert.equal(res.headers['cache-control'], 'max-age=1');
        expectServerTiming(res, `304 for ${ifNoneMatch}`);
      }
      const other = await get(url, '/lab/cache/products/10', { 'if-none-match': '"nope"' });
      assert.equal(other.status, 200);
      assert.equal(other.text, first.text);
      const mid = await stats(url);
      assert.deepEqual([mid.hits - before.hits, mid.misses - before.misses], [4, 2], '304s are hits, 200s misses');

      await placeOrder(url, 10, 1);
      const changed = await get(url, '/lab/cache/products/10', { 'if-none-match': etag });
      assert.equal(changed.status, 200, 'after an order the old ETag no longer matches');
      assert.notEqual(changed.headers['etag'], etag);
      assert.equal(changed.headers['etag'], etagOf(changed.text));
      assert.equal((changed.json as { sold: number }).sold, (first.json as { sold: number }).sold + 1);
      const res404 = await get(url, '/lab/cache/products/999999', { 'if-none-match': '*' });
      assert.equal(res404.status, ERROR_STATUS.not_found);
    });
  }
}

interface LabServer {
  db: TestDatabase;
  upstream: SlowUpstream;
  server: RunningServer;
}

async function startLab(app: string, lab: Omit<LabConfig, 'upstream'>): Promise<LabServer> {
  const db = await createTestDatabase(`${app}_lab_${lab.cache}`);
  const upstream = await startSlowUpstream();
  try {
    const server = await startLabApp(app, db.url, { ...lab, upstream: upstream.url });
    return { db, upstream, server };
  } catch (err) {
    await upstream.close();
    await db.drop();
    throw err;
  }
}

async function stopLab(lab: LabServer | undefined): Promise<void> {
  await lab?.server.close();
  await lab?.upstream.close();
  await lab?.db.drop();
}

/** Every lab route on `app`, each cache mode, and the lab switched off. */
export function describeLabApp(app: string): void {
  const variants = declaredPayloadVariants(app);

  describe(`${app}: lab off`, () => {
    let db: TestDatabase;
    let server: RunningServer;
    beforeAll(async () => {
      db = await createTestDatabase(`${app}_lab_off`);
      server = await startTestServer({ app, store: 'pg', conn: 'pool', databaseUrl: db.url });
    });
    afterAll(async () => {
      await server?.close();
      await db?.drop();
    });

    it("answers every /lab/... path with the contract's 404, whatever the method", async () => {
      assert.equal(LAB_ROUTES.length, 8);
      for (const route of everyRoute(variants[0]!)) {
        for (const method of ['GET', 'POST']) {
          const req: RawRequest = { method, path: route.path };
          expectError(await send(server.url, req), 'not_found', 'route not found');
        }
      }
      expectError(await get(server.url, '/lab/cache/products/%ZZ'), 'not_found', 'route not found');
    });
  });

  describe(`${app}: lab on, cache http`, () => {
    let lab: LabServer | undefined;
    beforeAll(async () => {
      lab = await startLab(app, { cache: 'http', cacheTtlMs: 1000, redisUrl: null });
    });
    afterAll(() => stopLab(lab));
    const ctx = { app, url: () => lab!.server.url, variants };
    routeChecks(ctx);
    cacheChecks('http', ctx);
  });

  for (const mode of ['none', 'memory'] as const) {
    describe(`${app}: lab on, cache ${mode}`, () => {
      let lab: LabServer | undefined;
      beforeAll(async () => {
        lab = await startLab(app, { cache: mode, cacheTtlMs: 60_000, redisUrl: null });
      });
      afterAll(() => stopLab(lab));
      cacheChecks(mode, { url: () => lab!.server.url });
    });
  }

  describeWithPart('redis', `${app}: lab on, cache redis`, (found) => {
    let redis: RedisServer | undefined;
    let lab: LabServer | undefined;
    beforeAll(async () => {
      redis = await startRedisServer(found.path);
      lab = await startLab(app, { cache: 'redis', cacheTtlMs: 60_000, redisUrl: redis.url });
    });
    afterAll(async () => {
      await stopLab(lab);
      await redis?.stop();
    });
    cacheChecks('redis', { url: () => lab!.server.url });
  });
}
