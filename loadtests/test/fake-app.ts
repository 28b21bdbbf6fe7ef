/** An in-memory stand-in for the API, for the pure scenario logic (sync, no sockets). */
import type { ScenarioRequest, ScenarioResponse } from '../src/index.js';

export interface FakeAppOptions {
  productCount: number;
  /** Overrides the response of a request (return undefined for the normal answer). */
  override?: (request: ScenarioRequest, n: number) => ScenarioResponse | undefined;
}

export function fakeApp(options: FakeAppOptions) {
  const log: ScenarioRequest[] = [];
  const orders = new Map<number, { productId: number; quantity: number }>();
  const handle = (request: ScenarioRequest): ScenarioResponse => {
    log.push(request);
    const forced = options.override?.(request, log.length);
    if (forced) return forced;
    const url = new URL(request.path, 'http://fake');
    if (request.method === 'GET' && url.pathname === '/products') {
      const limit = Number(url.searchParams.get('limit'));
      const after = Number(url.searchParams.get('after'));
      const items = [];
      for (let id = after + 1; id <= Math.min(after + limit, options.productCount); id++) items.push({ id, name: `P${id}`, priceCents: 1, stock: 9, sold: 0 });
      return { status: 200, json: { items, nextAfter: null } };
    }
    let m = /^\/products\/(\d+)$/.exec(url.pathname);
    if (request.method === 'GET' && m) return { status: Number(m[1]) <= options.productCount ? 200 : 404 };
    if (request.method === 'POST' && url.pathname === '/orders') {
      const body = JSON.parse(request.body!) as { productId: number; quantity: number };
      const id = orders.size + 1;
      orders.set(id, body);
      return { status: 201, json: { id, ...body } };
    }
    m = /^\/orders\/(\d+)$/.exec(url.pathname);
    if (request.method === 'GET' && m) return { status: orders.has(Number(m[1])) ? 200 : 404 };
    return { status: 404 };
  };
  return { handle, log, orders };
}
