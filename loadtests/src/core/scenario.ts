/**
 * The benchmark's user journey, written once for both engines (the embedded undici driver, which is async, and k6,
 * whose http calls are synchronous). No Node, k6 or DOM APIs here: only plain ECMAScript, so that esbuild can bundle
 * it for k6's goja runtime (kept to ES2017 built-ins; no generators, no async in the shared part).
 *
 * One iteration of one virtual user:
 *   1. `list`        GET  /products?limit=L&after=A   (A random, so the page holds only regular products)  -> 200
 *   2. `product`     GET  /products/:id               (a random item of that page)                         -> 200
 *   3. `order`       POST /orders {productId, quantity: 1}                                                   -> 201
 *   4. `order_view`  GET  /orders/:id                 (the order just created)                             -> 200
 *
 * The journey is an explicit step machine ({@link UserIteration}): an engine asks it for the first request, performs
 * it, feeds the response back and gets the next request (or the end of the iteration). The embedded driver drives
 * it directly (async); {@link runIterationSync} is k6's loop around it.
 */
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';

export type RequestName = 'list' | 'product' | 'order' | 'order_view';
export const REQUEST_NAMES: readonly RequestName[] = ['list', 'product', 'order', 'order_view'];

/** The only status each request may answer with; anything else is an error of kind `status`. */
export const EXPECTED_STATUS: Readonly<Record<RequestName, number>> = {
  list: 200,
  product: 200,
  order: 201,
  order_view: 200,
};

/**
 * Why a request counts as an error:
 * - `status`: the response's status is not the expected one (e.g. 500, 409, 404);
 * - `body`: the status was right but the body is unusable for the next step (not JSON, no items, a low-stock product
 *   offered, an order without an id) — an app bug, never a load effect;
 * - `timeout`: no complete response within the request timeout;
 * - `connection`: the connection failed (refused, reset, closed by the server before the response);
 * - `dropped`: open model only, a journey the engine could not start (no free connection or VU).
 */
export const ERROR_KINDS = ['status', 'body', 'timeout', 'connection', 'dropped'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export const DEFAULT_PAGE_SIZE = 20;

export interface ScenarioConfig {
  /** Products in the seeded catalog (ids 1..productCount). */
  productCount: number;
  /** `limit` of the list request (default 20, clamped so that a page always fits among regular products). */
  pageSize?: number;
  /** Pause between two consecutive requests of one user, in ms (default 0: closed loop, no think time). */
  thinkMs?: number;
}

export interface ResolvedScenario {
  productCount: number;
  pageSize: number;
  thinkMs: number;
  /** Inclusive range of the random `after` cursor. */
  minAfter: number;
  maxAfter: number;
}

/** Validates a config and works out the `after` range: `[FIRST_REGULAR_PRODUCT_ID - 1, productCount - pageSize]`. */
export function resolveScenario(config: ScenarioConfig): ResolvedScenario {
  const { productCount } = config;
  const thinkMs = config.thinkMs === undefined ? 0 : config.thinkMs;
  if (!Number.isInteger(productCount) || productCount < FIRST_REGULAR_PRODUCT_ID) {
    throw new RangeError(
      `productCount must be an integer >= ${FIRST_REGULAR_PRODUCT_ID} (products below ${FIRST_REGULAR_PRODUCT_ID} are never ordered), got ${productCount}`,
    );
  }
  if (!(thinkMs >= 0) || !Number.isFinite(thinkMs)) throw new RangeError(`thinkMs must be >= 0, got ${thinkMs}`);
  const requested = config.pageSize === undefined ? DEFAULT_PAGE_SIZE : config.pageSize;
  if (!Number.isInteger(requested) || requested < 1 || requested > 100) {
    throw new RangeError(`pageSize must be an integer from 1 to 100, got ${requested}`);
  }
  const regular = productCount - (FIRST_REGULAR_PRODUCT_ID - 1);
  const pageSize = Math.min(requested, regular);
  return { productCount, pageSize, thinkMs, minAfter: FIRST_REGULAR_PRODUCT_ID - 1, maxAfter: productCount - pageSize };
}

export interface ScenarioRequest {
  /** The endpoint it is counted under (a journey's outcome may rename it, e.g. a 304 as `view_304`). */
  name: string;
  method: 'GET' | 'POST';
  /** Path and query, e.g. `/products?limit=20&after=4711`. */
  path: string;
  /** JSON text for POST (send with `content-type: application/json`). */
  body?: string;
  expectedStatus: number;
  /** Whether the journey reads the response body (engines discard it otherwise and pass `body` only for these). */
  needsBody: boolean;
  /** Extra request headers (If-None-Match). */
  headers?: Record<string, string>;
  /** Whether the journey reads the response's ETag (engines pass `etag` only for these). */
  wantsEtag?: boolean;
}

/** A request of the commerce journey: its name is one of the four. */
type CommerceRequest = ScenarioRequest & { name: RequestName };

export interface ScenarioResponse {
  /** HTTP status, or 0 when there is no response (see `error`). */
  status: number;
  /** The body's text when the request `needsBody`. */
  body?: string;
  /** The ETag header when the request `wantsEtag`. */
  etag?: string;
  /** Set by the engine when the request got no response. */
  error?: 'timeout' | 'connection';
}

export interface RequestOutcome {
  /** The endpoint it counts under. */
  name: string;
  ok: boolean;
  errorKind?: ErrorKind;
  /** Short human-readable reason for an error (e.g. `order: expected 201, got 409`). */
  detail?: string;
}

export interface CreatedOrder {
  id: number;
  productId: number;
  quantity: number;
}

export interface IterationResult {
  outcomes: RequestOutcome[];
  /** True when all four requests succeeded. */
  completed: boolean;
  /** Set once the order request succeeded (even if viewing it failed afterwards). */
  createdOrder?: CreatedOrder;
}

/**
 * The journey reads two things from bodies: the id of one item of a page and the id of a created order. It finds them
 * by scanning for the contract's fixed key order (`{"id":N,...}`: every stack returns byte-identical bodies, which the
 * cross-stack diff test guarantees) instead of parsing the whole JSON: in k6's interpreter JSON.parse of a 20-product
 * page cost ~150 µs, four times everything else per request together (measured; see the README's k6 section). Both
 * engines use this same code, so what counts as a `body` error is the same for both.
 */
const ID_KEY = '{"id":';

/**
 * The integer at `from`, which must end at `,` or `}` as in the apps' compact JSON; NaN otherwise (a fraction or
 * exponent would otherwise be cut to its leading digits and name another product; a body cut short may have lost
 * digits). Three string calls, not one per digit: in k6 every method call on a string allocates a wrapper object.
 */
function idAt(body: string, from: number): number {
  const comma = body.indexOf(',', from);
  const brace = body.indexOf('}', from);
  const end = comma === -1 ? brace : brace === -1 ? comma : Math.min(comma, brace);
  if (end <= from) return NaN;
  const digits = body.slice(from, end);
  const id = Number(digits);
  // Plain non-negative integers only: no sign, fraction, exponent, blanks or leading zeros.
  return id >= 0 && id % 1 === 0 && String(id) === digits ? id : NaN;
}

/**
 * The id of item number `index` (0-based) of a product page (`{"items":[{"id":1,...},...],"nextAfter":...}`),
 * counted round the page when it holds fewer items; NaN when that item's id is not a plain integer; null when the body
 * is not a page or has no items. Only the chosen item is read: in k6's interpreter reading all 20 ids cost ~110 µs per
 * journey, more than the rest of the journey's code together (measured with `bench:k6-cost`).
 */
export function pageItemId(body: string | undefined, index: number): number | null {
  if (typeof body !== 'string' || body.lastIndexOf('{"items":[', 0) !== 0) return null;
  const first = body.indexOf(ID_KEY, 10);
  if (first === -1) return null;
  let at = first;
  let count = 1;
  for (let hop = 0; hop < index; hop++) {
    const next = body.indexOf(ID_KEY, at + ID_KEY.length);
    if (next !== -1) {
      at = next;
      count++;
      continue;
    }
    // Fewer items than `index`: start over at the first and go round the page.
    return pageItemId(body, index % count);
  }
  return idAt(body, at + ID_KEY.length);
}

/** The id of a resource body that starts `{"id":N` (an order), or NaN. */
export function leadingId(body: string | undefined): number {
  return typeof body === 'string' && body.lastIndexOf(ID_KEY, 0) === 0 ? idAt(body, ID_KEY.length) : NaN;
}

function positiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** Random integer in [min, max], from a `random()` in [0, 1). */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/**
 * One iteration of one user. `start()` gives the first request; `advance(response)` records the outcome of the
 * pending request and gives the next one, or null when the iteration is over (after the fourth request or the first
 * error: later requests depend on earlier responses).
 */
export class UserIteration {
  private readonly scenario: ResolvedScenario;
  private readonly random: () => number;
  private pending: CommerceRequest | null = null;
  private productId = 0;
  private readonly result: IterationResult = { outcomes: [], completed: false };

  constructor(scenario: ResolvedScenario, random: () => number) {
    this.scenario = scenario;
    this.random = random;
  }

  start(): ScenarioRequest {
    if (this.pending !== null || this.result.outcomes.length > 0) throw new Error('iteration already started');
    const after = randomInt(this.random, this.scenario.minAfter, this.scenario.maxAfter);
    return this.issue({
      name: 'list',
      method: 'GET',
      path: `/products?limit=${this.scenario.pageSize}&after=${after}`,
      expectedStatus: EXPECTED_STATUS.list,
      needsBody: true,
    });
  }

  /** Feeds the response to the pending request; returns the next request or null when the iteration ended. */
  advance(response: ScenarioResponse): ScenarioRequest | null {
    const request = this.pending;
    if (request === null) throw new Error('no pending request');
    this.pending = null;
    if (response.error !== undefined) {
      return this.fail(request.name, response.error, `${request.name}: ${response.error} error`);
    }
    if (response.status !== request.expectedStatus) {
      return this.fail(request.name, 'status', `${request.name}: expected ${request.expectedStatus}, got ${response.status}`);
    }
    switch (request.name) {
      case 'list': {
        const id = pageItemId(response.body, randomInt(this.random, 0, this.scenario.pageSize - 1));
        if (id === null) return this.fail('list', 'body', 'list: no items in the page');
        if (!positiveInt(id)) return this.fail('list', 'body', 'list: an item has no integer id');
        if (id < FIRST_REGULAR_PRODUCT_ID || id > this.scenario.productCount) {
          // Never order a low-stock product, whatever the app answered.
          return this.fail('list', 'body', `list: page offered product ${id}, outside the benchmark range`);
        }
        this.productId = id;
        this.ok('list');
        return this.issue({
          name: 'product',
          method: 'GET',
          path: `/products/${id}`,
          expectedStatus: EXPECTED_STATUS.product,
          needsBody: false,
        });
      }
      case 'product':
        this.ok('product');
        return this.issue({
          name: 'order',
          method: 'POST',
          path: '/orders',
          body: JSON.stringify({ productId: this.productId, quantity: 1 }),
          expectedStatus: EXPECTED_STATUS.order,
          needsBody: true,
        });
      case 'order': {
        const id = leadingId(response.body);
        if (!positiveInt(id)) return this.fail('order', 'body', 'order: the created order has no integer id');
        this.result.createdOrder = { id, productId: this.productId, quantity: 1 };
        this.ok('order');
        return this.issue({
          name: 'order_view',
          method: 'GET',
          path: `/orders/${id}`,
          expectedStatus: EXPECTED_STATUS.order_view,
          needsBody: false,
        });
      }
      case 'order_view':
        this.ok('order_view');
        this.result.completed = true;
        return null;
    }
  }

  /** The outcomes so far (complete once `advance` returned null). */
  outcome(): IterationResult {
    return this.result;
  }

  private issue(request: CommerceRequest): ScenarioRequest {
    this.pending = request;
    return request;
  }

  private ok(name: RequestName): void {
    this.result.outcomes.push({ name, ok: true });
  }

  private fail(name: RequestName, errorKind: ErrorKind, detail: string): null {
    this.result.outcomes.push({ name, ok: false, errorKind, detail });
    return null;
  }
}

export type SyncSend = (request: ScenarioRequest) => ScenarioResponse;

export interface IterationHooks {
  /** Called before each request; returning false stops the iteration there (the request is not sent). */
  shouldContinue?: () => boolean;
}

/** The iteration loop for synchronous engines (k6). `sleep` takes milliseconds. */
export function runIterationSync(
  scenario: ResolvedScenario,
  random: () => number,
  send: SyncSend,
  sleep: (ms: number) => void,
  hooks: IterationHooks = {},
  iteration: { start(): ScenarioRequest; advance(r: ScenarioResponse): ScenarioRequest | null; outcome(): IterationResult } = new UserIteration(scenario, random),
): IterationResult {
  let request: ScenarioRequest | null = iteration.start();
  let first = true;
  while (request !== null) {
    if (!first && scenario.thinkMs > 0) sleep(scenario.thinkMs);
    first = false;
    if (hooks.shouldContinue && !hooks.shouldContinue()) break;
    request = iteration.advance(send(request));
  }
  return iteration.outcome();
}

/** A small seeded PRNG (mulberry32), for reproducible tests and request lists. Returns values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
