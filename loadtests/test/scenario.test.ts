import { describe, expect, it } from 'vitest';
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import {
  EXPECTED_STATUS,
  REQUEST_NAMES,
  UserIteration,
  resolveScenario,
  runIterationAsync,
  runIterationSync,
  seededRandom,
  type ScenarioRequest,
} from '../src/index.js';
import { fakeApp } from './fake-app.js';

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
    // Only the requests whose body the machine reads ask for JSON.
    expect(app.log.map((r) => r.needsJson)).toEqual([true, false, true, false]);
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
      override: (r) => (r.name === 'order' ? { status: 409, json: { error: { code: 'insufficient_stock' } } } : undefined),
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
    const app = fakeApp({ productCount: 100, override: (r) => (r.name === 'order' ? { status: 200, json: { id: 1 } } : undefined) });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(3), app.handle, noSleep);
    expect(r.outcomes[2]).toMatchObject({ ok: false, errorKind: 'status' });
  });

  it('refuses a page offering a low-stock product (body error, nothing ordered)', () => {
    const app = fakeApp({
      productCount: 100,
      override: (r) => (r.name === 'list' ? { status: 200, json: { items: [{ id: 1 }, { id: 2 }, { id: 3 }], nextAfter: 3 } } : undefined),
    });
    const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(5), app.handle, noSleep);
    expect(r.outcomes).toHaveLength(1);
    expect(r.outcomes[0]).toMatchObject({ name: 'list', ok: false, errorKind: 'body' });
    expect(app.orders.size).toBe(0);
  });

  it('treats unusable bodies as body errors', () => {
    const cases: Array<[string, unknown]> = [
      ['list', undefined],
      ['list', { items: [] }],
      ['list', { items: [{ id: 'x' }] }],
      ['order', { id: 0 }],
      ['order', 'nope'],
    ];
    for (const [name, json] of cases) {
      const app = fakeApp({ productCount: 100, override: (r) => (r.name === name ? { status: r.expectedStatus, json } : undefined) });
      const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(9), app.handle, noSleep);
      const last = r.outcomes[r.outcomes.length - 1]!;
      expect(last).toMatchObject({ name, ok: false, errorKind: 'body' });
    }
  });

  it('passes transport errors through as their kind', () => {
    for (const error of ['timeout', 'connection'] as const) {
      const app = fakeApp({ productCount: 100, override: (r) => (r.name === 'product' ? { status: 0, error } : undefined) });
      const r = runIterationSync(resolveScenario({ productCount: 100 }), seededRandom(9), app.handle, noSleep);
      expect(r.outcomes[1]).toMatchObject({ name: 'product', ok: false, errorKind: error });
      expect(r.outcomes).toHaveLength(2);
    }
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
  });

  it('the async loop makes the same requests as the sync one for the same seed', async () => {
    const a = fakeApp({ productCount: 300 });
    const b = fakeApp({ productCount: 300 });
    const scenario = resolveScenario({ productCount: 300, thinkMs: 1 });
    const sync = runIterationSync(scenario, seededRandom(7), a.handle, noSleep);
    const sleeps: number[] = [];
    const async = await runIterationAsync(scenario, seededRandom(7), async (r: ScenarioRequest) => b.handle(r), async (ms) => {
      sleeps.push(ms);
    });
    expect(async).toEqual(sync);
    expect(b.log).toEqual(a.log);
    expect(sleeps).toEqual([1, 1, 1]);
  });

  it('guards misuse of the step machine', () => {
    const it1 = new UserIteration(resolveScenario({ productCount: 100 }), seededRandom(1));
    expect(() => it1.advance({ status: 200 })).toThrow(/no pending/);
    it1.start();
    expect(() => it1.start()).toThrow(/already/);
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
