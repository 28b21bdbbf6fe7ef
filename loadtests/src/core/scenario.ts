/**
 * The benchmark's user journey, written once for both engines (the embedded undici driver, which is async, and k6,
 * whose http calls are synchronous). No Node, k6 or DOM APIs here: only plain ECMAScript, so that esbuild can bundle
 * it for k6's goja runtime (ES2017 built-ins; generators, which goja runs natively since k6 v0.43; no async).
 *
 * One iteration of one virtual user:
 *   1. `list`        GET  /products?limit=L&after=A   (A random, so the page holds only regular products)  -> 200
 *   2. `product`     GET  /products/:id               (the page's first item: uniform over the catalog)    -> 200
 *   3. `order`       POST /orders {productId, quantity: 1}                                                   -> 201
 *   4. `order_view`  GET  /orders/:id                 (the order just created)                             -> 200
 *
 * A journey is a generator ({@link Journey}): it yields each request and is resumed with its response; it returns
 * null when every request succeeded, or the failed request's outcome. An engine sends what it yields, so the journey
 * reads as straight-line code and both engines run the same code: the embedded driver awaits each response, k6 gets
 * it synchronously. It is also cheap for k6, whose interpreter (goja) spends thousands of machine instructions on
 * every object, call and string method: the step machine this replaced (an object per request, outcome and
 * iteration, a method call per step), with a scan to a random item of the page and JSON.stringify for the order, cost
 * 515 k instructions per journey in k6 against 284 k for this code (cachegrind, the journey alone; see the README's
 * k6 section). {@link runIterationSync} is the reference synchronous loop (tests).
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
 * The journey reads two things from bodies: the id of the first item of a page and the id of a created order. It
 * finds them at the contract's fixed key order (`{"id":N,...}`: every stack returns byte-identical bodies, which the
 * cross-stack diff test guarantees) instead of parsing the whole JSON: in k6's interpreter JSON.parse of a 20-product
 * page cost ~150 µs, four times everything else per request together (measured; see the README's k6 section). Both
 * engines use this same code, so what counts as a `body` error is the same for both.
 */
const ID_KEY = '{"id":';
const PAGE_START = '{"items":[{"id":';

/**
 * The integer at `from`, which must end at the `,` before the body's next key (the contract's bodies always have
 * one); NaN otherwise (a fraction or exponent would otherwise be cut to its leading digits and name another product;
 * a body cut short may have lost digits). Two string calls: in k6 each costs several thousand machine instructions,
 * so the scanners make as few as they can.
 */
function idAt(body: string, from: number): number {
  const end = body.indexOf(',', from);
  if (end <= from) return NaN;
  const digits = body.slice(from, end);
  const id = +digits;
  // Plain non-negative integers only: no sign, fraction, exponent, blanks or leading zeros.
  return id >= 0 && id % 1 === 0 && '' + id === digits ? id : NaN;
}

/**
 * The id of the first item of a product page (`{"items":[{"id":1,...},...],"nextAfter":...}`); NaN when it is not a
 * plain integer; null when the body is not a page or has no items. The first item, not a random one: the page
 * starts at a random cursor, so its first item is as evenly spread over the catalog, and in k6's interpreter
 * finding a random item cost one string search per item skipped (~100 k instructions per journey on average).
 */
export function firstItemId(body: string | undefined): number | null {
  if (typeof body !== 'string' || body.lastIndexOf(PAGE_START, 0) !== 0) return null;
  return idAt(body, PAGE_START.length);
}

/** The id of a resource body that starts `{"id":N,` (an order), or NaN. */
export function leadingId(body: string | undefined): number {
  return typeof body === 'string' && body.lastIndexOf(ID_KEY, 0) === 0 ? idAt(body, ID_KEY.length) : NaN;
}

/** Random integer in [min, max], from a `random()` in [0, 1). */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/**
 * A user journey: yields each request, is resumed with its response, returns null when every request succeeded or
 * the failed request's outcome (a journey stops at its first error: later requests depend on earlier responses).
 * Every request it yielded and resumed past, or that ended it with null, succeeded; it counts under
 * {@link endpointOf}(request, status).
 */
export type Journey = Generator<ScenarioRequest, RequestOutcome | null, ScenarioResponse>;

/** What a journey leaves behind for the engine, even when the engine stops it half-way: the order it created. */
export interface JourneyLog {
  createdOrder?: CreatedOrder;
}

/** The endpoint a response counts under: its request's, except a revalidated view (304), counted apart. */
export function endpointOf(request: Pick<ScenarioRequest, 'name' | 'wantsEtag'>, status: number): string {
  return request.wantsEtag && status === 304 ? `${request.name}_304` : request.name;
}

/** The outcome of a request that got no response or another status than expected. */
export function statusFailure(name: string, response: ScenarioResponse, expected: number | string): RequestOutcome {
  if (response.error !== undefined) return { name, ok: false, errorKind: response.error, detail: `${name}: ${response.error} error` };
  return { name, ok: false, errorKind: 'status', detail: `${name}: expected ${expected}, got ${response.status}` };
}

/** A response that is there but unusable for the next step (an app bug, never a load effect). */
function bodyFailure(name: string, detail: string): RequestOutcome {
  return { name, ok: false, errorKind: 'body', detail };
}

const { list: LIST_STATUS, product: PRODUCT_STATUS, order: ORDER_STATUS, order_view: ORDER_VIEW_STATUS } = EXPECTED_STATUS;

/** Order one of the product (the commerce and cache journeys). */
export function orderRequest(productId: number): ScenarioRequest {
  return { name: 'order', method: 'POST', path: '/orders', body: `{"productId":${productId},"quantity":1}`, expectedStatus: ORDER_STATUS, needsBody: true };
}

/** Null when the order was created (then kept in `log` for the audit), else the order's failed outcome. */
export function orderOutcome(response: ScenarioResponse, productId: number, log: JourneyLog): RequestOutcome | null {
  if (response.status !== ORDER_STATUS) return statusFailure('order', response, ORDER_STATUS);
  const orderId = leadingId(response.body);
  if (!(orderId > 0)) return bodyFailure('order', 'order: the created order has no integer id');
  log.createdOrder = { id: orderId, productId, quantity: 1 };
  return null;
}

/** The commerce journey: list → product → order → view the order. */
export function* commerceJourney(scenario: ResolvedScenario, random: () => number, log: JourneyLog): Journey {
  const after = randomInt(random, scenario.minAfter, scenario.maxAfter);
  let response: ScenarioResponse = yield { name: 'list', method: 'GET', path: `/products?limit=${scenario.pageSize}&after=${after}`, expectedStatus: LIST_STATUS, needsBody: true };
  if (response.status !== LIST_STATUS) return statusFailure('list', response, LIST_STATUS);
  const productId = firstItemId(response.body);
  if (productId === null) return bodyFailure('list', 'list: no items in the page');
  if (!(productId > 0)) return bodyFailure('list', 'list: an item has no integer id');
  if (productId < FIRST_REGULAR_PRODUCT_ID || productId > scenario.productCount) {
    // Never order a low-stock product, whatever the app answered.
    return bodyFailure('list', `list: page offered product ${productId}, outside the benchmark range`);
  }

  response = yield { name: 'product', method: 'GET', path: `/products/${productId}`, expectedStatus: PRODUCT_STATUS, needsBody: false };
  if (response.status !== PRODUCT_STATUS) return statusFailure('product', response, PRODUCT_STATUS);

  response = yield orderRequest(productId);
  const orderFailed = orderOutcome(response, productId, log);
  if (orderFailed) return orderFailed;

  response = yield { name: 'order_view', method: 'GET', path: `/orders/${log.createdOrder!.id}`, expectedStatus: ORDER_VIEW_STATUS, needsBody: false };
  if (response.status !== ORDER_VIEW_STATUS) return statusFailure('order_view', response, ORDER_VIEW_STATUS);
  return null;
}

export type SyncSend = (request: ScenarioRequest) => ScenarioResponse;

export interface IterationHooks {
  /** Called before each request; returning false stops the iteration there (the request is not sent). */
  shouldContinue?: () => boolean;
}

/**
 * The reference synchronous loop around a journey (the commerce journey unless given): every request's outcome in
 * order. `sleep` takes milliseconds. The engines run their own loops, which record per request instead.
 */
export function runIterationSync(
  scenario: ResolvedScenario,
  random: () => number,
  send: SyncSend,
  sleep: (ms: number) => void,
  hooks: IterationHooks = {},
  log: JourneyLog = {},
  journey: Journey = commerceJourney(scenario, random, log),
): IterationResult {
  const result: IterationResult = { outcomes: [], completed: false };
  let step = journey.next();
  let first = true;
  while (!step.done) {
    if (!first && scenario.thinkMs > 0) sleep(scenario.thinkMs);
    first = false;
    if (hooks.shouldContinue && !hooks.shouldContinue()) break;
    const request = step.value;
    const response = send(request);
    step = journey.next(response);
    if (step.done && step.value) result.outcomes.push(step.value);
    else result.outcomes.push({ name: endpointOf(request, response.status), ok: true });
  }
  result.completed = step.done === true && step.value === null;
  if (log.createdOrder) result.createdOrder = log.createdOrder;
  return result;
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
