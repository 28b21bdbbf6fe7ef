import { describe, expect, it } from 'vitest';
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import {
  EXPECTED_STATUS,
  REQUEST_NAMES,
  commerceJourney,
  firstItemId,
  leadingId,
  resolveScenario,
  runIterationSync,
  seededRandom,
  type ScenarioRequest,
  type ScenarioResponse,
} from '../src/index.js';
import { fakeApp, orderJson, pageJson, productJson } from './fake-app.js';

const noSleep = () => undefined;

describe('resolveScenario', () => {
  it('derives the after range from the catalog', () => {
    expect(resolveScenario({ productCount: 10_000 })).toEqual({
      productCount: 10_000,
      pageSize: 20,
      thinkMs: 0,
      minAfter: FIRST_REGULAR_PRODUCT_ID - 1,
      maxAfter: 9_980,
    });
  });

  it('clamps the page to the regular products of a tiny catalog', () => {
    const s = resolveScenario({ productCount: FIRST_REGULAR_PRODUCT_ID + 2 });
    expect(s.pageSize).toBe(3);
    expect(s.minAfter).toBe(FIRST_REGULAR_PRODUCT_ID - 1);
    expect(s.maxAfter).toBe(FIRST_REGULAR_PRODUCT_ID - 1);
  });

  it('rejects catalogs without regular products and bad values', () => {
    expect(() => resolveScenario({ productCount: FIRST_REGULAR_PRODUCT_ID - 1 })).toThrow(/productCount/);
    expect(() => resolveScenario({ productCount: 100, thinkMs: -1 })).toThrow(/thinkMs/);
    expect(() => resolveScenario({ productCount: 100, pageSize: 0 })).toThrow(/pageSize/);
    expect(() => resolveScenario({ productCount: 100, pageSize: 101 })).toThrow(/pageSize/);
  });
});

describe('body scanners (firstItemId, leadingId) on the apps\' compact JSON', () => {
  it('read the first id of a real-shaped page, whatever its size and cursor', () => {
    const ids = Array.from({ length: 20 }, (_, i) => 4711 + i);
    expect(firstItemId(pageJson(ids, 4730))).toBe(4711);
    expect(firstItemId(pageJson([6]))).toBe(6);
    expect(firstItemId(pageJson([]))).toBeNull();
    // The scanner agrees with JSON.parse on the bodies the apps send.
    const body = pageJson([10, 11, 12], 12);
    expect(firstItemId(body)).toBe((JSON.parse(body) as { items: Array<{ id: number }> }).items[0]!.id);
  });

  it('are not fooled by names that contain the key: JSON escapes their quotes', () => {
    const tricky = JSON.stringify({ id: 7, name: '{"id":99} "quoted" ünïcödé', priceCents: 1, stock: 1, sold: 0 });
    expect(firstItemId(`{"items":[${tricky},${productJson(8)}],"nextAfter":null}`)).toBe(7);
    expect(leadingId(tricky)).toBe(7);
  });

  it('read the leading id of an order (and of any resource body)', () => {
    expect(leadingId(orderJson(42, 17))).toBe(42);
    expect(leadingId(orderJson(9_007_199_254, 17))).toBe(9_007_199_254);
    expect(leadingId(productJson(123))).toBe(123);
  });

  it('find nothing in malformed or foreign bodies', () => {
    const notPages = [
      undefined,
      '',
      'null',
      '[]',
      'Internal Server Error',
      '{"error":{"code":"internal","message":"boom"}}',
      // Another key order or pretty-printing is not what the apps send: no items (the journey reports a body error).
      '{"nextAfter":null,"items":[{"id":7}]}',
      '{ "items": [ { "id": 7 } ] }',
      ' {"items":[{"id":7}]}',
    ];
    for (const body of notPages) expect(firstItemId(body), String(body)).toBeNull();
    const notOrders = [undefined, '', '"nope"', '{"error":{"code":"not_found"}}', '{"productId":7,"id":3}', '{"ID":3}', '{ "id": 3 }'];
    for (const body of notOrders) expect(leadingId(body), String(body)).toBeNaN();
  });

  it('give NaN for an id that is not a plain integer: string, negative, empty, fraction, exponent, truncated', () => {
    for (const id of ['"7"', '-3', '', '12.5', '1e3', 'null']) {
      expect(leadingId(`{"id":${id},"productId":7}`), id).toBeNaN();
      expect(firstItemId(`{"items":[{"id":${id},"name":"x"}],"nextAfter":null}`), id).toBeNaN();
    }
    // A body cut short after the digits: the number may have been longer.
    expect(leadingId('{"id":12')).toBeNaN();
    expect(firstItemId('{"items":[{"id":12')).toBeNaN();
  });
});

describe('one user iteration', () => {
  it('lists, views, orders and views the order, with the expected statuses', () => {
    const app = fakeApp({ productCount: 500 });
    const result = runIterationSync(resolveScenario({ productCount: 500 }), seededRandom(1), app.handle, noSleep);
    expect(result.completed).toBe(true);
    expect(result.outcomes.map((o) => o.name)).toEqual([...REQUEST_NAMES]);
    expect(result.outcomes.every((o) => o.ok)).toBe(true);
    expect(app.log.map((r) => `${r.method} ${r.path.replace(/\d+/g, 'N')}`)).toEqual([
      'GET /products?limit=N&after=N',
      'GET /products/N',
      'POST /orders',
      'GET /orders/N',
    ]);
    expect(app.log.map((r) => r.expectedStatus)).toEqual([200, 200, 201, 200]);
    expect(EXPECTED_STATUS).toEqual({ list: 200, product: 200, order: 201, order_view: 200 });
    const ordered = JSON.parse(app.log[2]!.body!) as { productId: number; quantity: number };
    expect(ordered.quantity).toBe(1);
    expect(app.log[1]!.path).toBe(`/products/${ordered.productId}`);
    expect(result.createdOrder).toEqual({ id: 1, productId: ordered.productId, quantity: 1 });
    expect(app.log[3]!.path).toBe('/orders/1');
    // Only the requests whose body the journey reads ask for it (the fake app withholds the others' bodies).
    expect(app.log.map((r) => r.needsBody)).toEqual([true, false, true, false]);
  });

  it('never pages below the regular products nor past the catalog, and never orders a low-stock product', () => {
    const productCount = 60;
    const scenario = resolveScenario({ productCount });
    const app = fakeApp({ productCount });
    const random = seededRandom(42);
    const afters = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const r = runIterationSync(scenario, random, app.handle, noSleep);
      expect(r.completed).toBe(true);
    }
    for (const req of app.log) {
      if (req.name !== 'list') continue;
      const url = new URL(req.path, 'http://x');
      const after = Number(url.searchParams.get('after'));
      const limit = Number(url.searchParams.get('limit'));
      afters.add(after);
      expect(after).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID - 1);
      expect(after + limit).toBeLessThanOrEqual(productCount);
    }
    // Both ends of the range are reachable.
    expect(afters.has(FIRST_REGULAR_PRODUCT_ID - 1)).toBe(true);
    expect(afters.has(productCount - 20)).toBe(true);
    const products = [...app.orders.values()].map((o) => o.productId);
    expect(Math.min(...products)).toBeGreaterThanOrEqual(FIRST_REGULAR_PRODUCT_ID);
    expect(Math.max(...products)).toBeLessThanOrEqual(productCount);
    expect(new Set(products).size).toBeGreaterThan(30);
  });

  it('counts an unexpected status as a status error and ends the iteration', () => {
    const app = fakeApp({
      productCount: 100,
      override: (r) => (r.name === 'order' ? { status: 409, body: '{"error":{"code":"insufficient_stock","message":"x"}}' } : undefined),
    });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(3), app.handle, noSleep);
    expect(r.completed).toBe(false);
    expect(r.createdOrder).toBeUndefined();
    expect(r.outcomes.map((o) => [o.name, o.ok, o.errorKind])).toEqual([
      ['list', true, undefined],
      ['product', true, undefined],
      ['order', false, 'status'],
    ]);
    expect(r.outcomes[2]!.detail).toBe('order: expected 201, got 409');
    expect(app.log).toHaveLength(3);
  });

  it('a 200 where 201 is expected is an error too', () => {
    const app = fakeApp({ productCount: 100, override: (r) => (r.name === 'order' ? { status: 200, body: orderJson(1, 50) } : undefined) });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(3), app.handle, noSleep);
    expect(r.outcomes[2]).toMatchObject({ ok: false, errorKind: 'status' });
  });

  it('refuses a page offering a low-stock product (body error, nothing ordered)', () => {
    const app = fakeApp({
      productCount: 100,
      override: (r) => (r.name === 'list' ? { status: 200, body: pageJson([1, 2, 3], 3) } : undefined),
    });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(5), app.handle, noSleep);
    expect(r.outcomes).toHaveLength(1);
    expect(r.outcomes[0]).toMatchObject({ name: 'list', ok: false, errorKind: 'body' });
    expect(r.outcomes[0]!.detail).toMatch(/outside the benchmark range/);
    expect(app.orders.size).toBe(0);
  });

  it('refuses a page offering a product past the catalog', () => {
    const app = fakeApp({ productCount: 100, override: (r) => (r.name === 'list' ? { status: 200, body: pageJson([101]) } : undefined) });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(5), app.handle, noSleep);
    expect(r.outcomes).toEqual([{ name: 'list', ok: false, errorKind: 'body', detail: 'list: page offered product 101, outside the benchmark range' }]);
  });

  it('treats unusable bodies as body errors', () => {
    const cases: Array<[ScenarioRequest['name'], string | undefined, RegExp]> = [
      ['list', undefined, /no items/],
      ['list', pageJson([]), /no items/],
      ['list', 'Internal Server Error', /no items/],
      ['list', '{"items":[{"id":"x"}],"nextAfter":null}', /no integer id/],
      ['list', '{"items":[{"id":12.5}],"nextAfter":null}', /no integer id/],
      ['order', '{"id":0,"productId":7}', /no integer id/],
      ['order', '"nope"', /no integer id/],
      ['order', undefined, /no integer id/],
      ['order', '{"productId":7,"id":3}', /no integer id/],
      ['order', '{"id":7.5,"productId":7}', /no integer id/],
    ];
    for (const [name, body, detail] of cases) {
      const app = fakeApp({
        productCount: 100,
        override: (r) => (r.name === name ? ({ status: r.expectedStatus, ...(body === undefined ? {} : { body }) } as ScenarioResponse) : undefined),
      });
      const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(9), app.handle, noSleep);
      const last = r.outcomes[r.outcomes.length - 1]!;
      expect(last, `${name} ${body}`).toMatchObject({ name, ok: false, errorKind: 'body' });
      expect(last.detail, `${name} ${body}`).toMatch(detail);
      expect(r.createdOrder, `${name} ${body}`).toBeUndefined();
    }
  });

  it('passes transport errors through as their kind', () => {
    for (const error of ['timeout', 'connection'] as const) {
      const app = fakeApp({ productCount: 100, override: (r) => (r.name === 'product' ? { status: 0, error } : undefined) });
      const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(9), app.handle, noSleep);
      expect(r.outcomes[1]).toMatchObject({ name: 'product', ok: false, errorKind: error, detail: `product: ${error} error` });
      expect(r.outcomes).toHaveLength(2);
    }
  });

  it('keeps the created order when viewing it fails (the audit needs it)', () => {
    const app = fakeApp({ productCount: 100, override: (r) => (r.name === 'order_view' ? { status: 500 } : undefined) });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(2), app.handle, noSleep);
    expect(r.completed).toBe(false);
    expect(r.createdOrder).toMatchObject({ id: 1, quantity: 1 });
    expect(r.outcomes[3]).toMatchObject({ name: 'order_view', ok: false, errorKind: 'status' });
  });

  it('thinks between requests, not before the first', () => {
    const app = fakeApp({ productCount: 100 });
    const sleeps: number[] = [];
    runIterationSync(resolveScenario({ productCount: 100, thinkMs: 250 }), seededRandom(1), app.handle, (ms) => sleeps.push(ms));
    expect(sleeps).toEqual([250, 250, 250]);
    const none: number[] = [];
    runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(1), app.handle, (ms) => none.push(ms));
    expect(none).toEqual([]);
  });

  it('stops before a request when shouldContinue says so', () => {
    const app = fakeApp({ productCount: 100 });
    let budget = 2;
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(1), app.handle, noSleep, {
      shouldContinue: () => budget-- > 0,
    });
    expect(app.log).toHaveLength(2);
    expect(r.completed).toBe(false);
    expect(r.outcomes.map((o) => o.name)).toEqual(['list', 'product']);
  });

  it('orders the first product of the page it listed', () => {
    const app = fakeApp({ productCount: 300 });
    for (let seed = 1; seed <= 20; seed++) runIterationSync(resolveScenario({ productCount: 300 }), seededRandom(seed), app.handle, noSleep);
    for (let k = 0; k < app.log.length; k += 4) {
      const after = Number(new URL(app.log[k]!.path, 'http://x').searchParams.get('after'));
      expect(app.log[k + 1]!.path).toBe(`/products/${after + 1}`);
    }
  });

  it('driving the journey by hand (as the embedded driver does) makes the same requests as the sync loop', () => {
    const a = fakeApp({ productCount: 300 });
    const b = fakeApp({ productCount: 300 });
    const scenario = resolveScenario({ productCount: 300 });
    for (let seed = 1; seed <= 20; seed++) {
      const sync = runIterationSync(scenario, seededRandom(seed), a.handle, noSleep);
      const log = {};
      const journey = commerceJourney(scenario, seededRandom(seed), log);
      let step = journey.next();
      let requests = 0;
      while (!step.done) {
        step = journey.next(b.handle(step.value));
        requests++;
      }
      expect(step.value).toBeNull();
      expect(requests).toBe(sync.outcomes.length);
      expect(log).toEqual({ createdOrder: sync.createdOrder });
    }
    expect(b.log).toEqual(a.log);
  });
});

describe('seededRandom', () => {
  it('is deterministic and in [0, 1)', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});
