/**
 * An in-memory stand-in for the API, for the pure journey logic (synchronous, no sockets). Bodies are the apps'
 * compact JSON text, handed back only for requests that ask for them (`needsBody`), as both engines do.
 */
import { seededPriceCents, seededProductName } from '@stackbench/contract';
import type { ScenarioRequest, ScenarioResponse } from '../src/index.js';

export interface FakeAppOptions {
  productCount: number;
  /** Overrides the response of a request (return undefined for the normal answer). */
  override?: (request: ScenarioRequest, n: number) => ScenarioResponse | undefined;
}

/** A product as the apps serialize it (key order: id, name, priceCents, stock, sold). */
export function productJson(id: number): string {
  return JSON.stringify({ id, name: seededProductName(id), priceCents: seededPriceCents(id), stock: 1_000_000_000, sold: 0 });
}

/** A product page as the apps serialize it. */
export function pageJson(ids: number[], nextAfter: number | null = null): string {
  return `{"items":[${ids.map(productJson).join(',')}],"nextAfter":${JSON.stringify(nextAfter)}}`;
}

/** An order as the apps serialize it (key order: id, productId, quantity, unitPriceCents, totalCents, createdAt). */
export function orderJson(id: number, productId: number, quantity = 1): string {
  const price = seededPriceCents(productId);
  return JSON.stringify({ id, productId, quantity, unitPriceCents: price, totalCents: price * quantity, createdAt: '2025-01-02T03:04:05.678Z' });
}

export function fakeApp(options: FakeAppOptions) {
  const log: ScenarioRequest[] = [];
  const orders = new Map<number, { productId: number; quantity: number }>();
  const respond = (request: ScenarioRequest, status: number, body?: string): ScenarioResponse =>
    request.needsBody && body !== undefined ? { status, body } : { status };
  const handle = (request: ScenarioRequest): ScenarioResponse => {
    log.push(request);
    const forced = options.override?.(request, log.length);
    if (forced) return forced;
    const url = new URL(request.path, 'http://fake');
    if (request.method === 'GET' && url.pathname === '/products') {
      const limit = Number(url.searchParams.get('limit'));
      const after = Number(url.searchParams.get('after'));
      const ids: number[] = [];
      for (let id = after + 1; id <= Math.min(after + limit, options.productCount); id++) ids.push(id);
      return respond(request, 200, pageJson(ids));
    }
    let m = /^\/products\/(\d+)$/.exec(url.pathname);
    if (request.method === 'GET' && m) return Number(m[1]) <= options.productCount ? respond(request, 200, productJson(Number(m[1]))) : { status: 404 };
    if (request.method === 'POST' && url.pathname === '/orders') {
      const body = JSON.parse(request.body!) as { productId: number; quantity: number };
      const id = orders.size + 1;
      orders.set(id, body);
      return respond(request, 201, orderJson(id, body.productId, body.quantity));
    }
    m = /^\/orders\/(\d+)$/.exec(url.pathname);
    if (request.method === 'GET' && m) {
      const order = orders.get(Number(m[1]));
      return order ? respond(request, 200, orderJson(Number(m[1]), order.productId)) : { status: 404 };
    }
    return { status: 404 };
  };
  return { handle, log, orders };
}
