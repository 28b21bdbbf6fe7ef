/**
 * What a virtual user does, as a serializable spec both engines understand (the embedded driver directly, k6 through
 * its SCENARIO environment variable):
 * - `commerce` (the default): the benchmark's journey (./scenario.ts: list → product → order → view the order);
 * - `mix`: one request per iteration, drawn by weight from a list (the labs: `/lab/wait` beside `/lab/simple`, the
 *   source articles' mixed load ...). A path may hold `{product}` (a random regular product id) and `{after}` (a random
 *   keyset cursor);
 * - `cache-views`: view a product of a hot set through the cache lab's route, sometimes order it; with `conditional`
 *   the user remembers each product's ETag and revalidates with If-None-Match (304s are their own endpoint).
 * Plain ES2017 like the rest of the core.
 */
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import { randomInt, REQUEST_NAMES, UserIteration, type IterationResult, type ResolvedScenario, type ScenarioRequest, type ScenarioResponse } from './scenario.js';

export interface MixRequest {
  name: string;
  /** e.g. `/lab/wait?ms=100&mode=block`, `/products/{product}`. */
  path: string;
  /** Relative share (any positive numbers). */
  weight: number;
  /** Expected status (default 200). */
  status?: number;
}

export type ScenarioSpec =
  | { kind: 'commerce' }
  | { kind: 'mix'; requests: MixRequest[] }
  | { kind: 'cache-views'; hotProducts: number; orderShare: number; conditional: boolean };

export const COMMERCE: ScenarioSpec = { kind: 'commerce' };

/** What the engine keeps per virtual user between iterations (the cache journey's ETags). */
export type UserState = Record<string, string>;

export interface Journey {
  start(): ScenarioRequest;
  /** The outcome of the pending request; the next request, or null when the iteration is over. */
  advance(response: ScenarioResponse): ScenarioRequest | null;
  outcome(): IterationResult;
}

/** The endpoint names a spec's outcomes use, in report order; the first is the one dropped journeys count against. */
export function journeyNames(spec: ScenarioSpec): string[] {
  if (spec.kind === 'mix') return spec.requests.map((r) => r.name);
  if (spec.kind === 'cache-views') return spec.conditional ? ['view', 'view_304', 'order'] : ['view', 'order'];
  return REQUEST_NAMES.slice();
}

/** Checks a spec (from a command line or k6's environment); throws one line on anything wrong. */
export function validateSpec(spec: ScenarioSpec): ScenarioSpec {
  if (spec.kind === 'commerce') return spec;
  if (spec.kind === 'mix') {
    if (!spec.requests || spec.requests.length === 0) throw new RangeError('a mix needs at least one request');
    const names: Record<string, boolean> = {};
    for (const r of spec.requests) {
      if (!/^[a-z][a-z0-9_]*$/.test(r.name)) throw new RangeError(`mix request names are lower-case words, got "${r.name}"`);
      if (names[r.name]) throw new RangeError(`mix request "${r.name}" is listed twice`);
      names[r.name] = true;
      if (r.path.charAt(0) !== '/') throw new RangeError(`a mix path starts with /, got "${r.path}"`);
      if (!(r.weight > 0)) throw new RangeError(`mix weights are positive, got ${r.weight} for ${r.name}`);
    }
    return spec;
  }
  if (spec.kind === 'cache-views') {
    if (!(spec.hotProducts >= 1) || Math.floor(spec.hotProducts) !== spec.hotProducts) throw new RangeError(`hotProducts must be a positive integer, got ${spec.hotProducts}`);
    if (!(spec.orderShare >= 0 && spec.orderShare <= 1)) throw new RangeError(`orderShare must be 0..1, got ${spec.orderShare}`);
    return spec;
  }
  throw new RangeError(`unknown scenario kind "${(spec as { kind?: string }).kind}"`);
}

function fillPath(path: string, scenario: ResolvedScenario, random: () => number): string {
  return path
    .replace('{product}', String(randomInt(random, FIRST_REGULAR_PRODUCT_ID, scenario.productCount)))
    .replace('{after}', String(randomInt(random, scenario.minAfter, scenario.maxAfter)));
}

/** One request drawn by weight; expected status or an error of kind `status`. */
class MixJourney implements Journey {
  private readonly result: IterationResult = { outcomes: [], completed: false };
  private pending: MixRequest | null = null;
  constructor(
    private readonly spec: Extract<ScenarioSpec, { kind: 'mix' }>,
    private readonly scenario: ResolvedScenario,
    private readonly random: () => number,
  ) {}

  start(): ScenarioRequest {
    let total = 0;
    for (const r of this.spec.requests) total += r.weight;
    let pick = this.random() * total;
    let chosen = this.spec.requests[this.spec.requests.length - 1]!;
    for (const r of this.spec.requests) {
      if (pick < r.weight) {
        chosen = r;
        break;
      }
      pick -= r.weight;
    }
    this.pending = chosen;
    return { name: chosen.name, method: 'GET', path: fillPath(chosen.path, this.scenario, this.random), expectedStatus: chosen.status || 200, needsBody: false };
  }

  advance(response: ScenarioResponse): null {
    const r = this.pending!;
    const expected = r.status || 200;
    if (response.error !== undefined) this.result.outcomes.push({ name: r.name, ok: false, errorKind: response.error, detail: `${r.name}: ${response.error} error` });
    else if (response.status !== expected) this.result.outcomes.push({ name: r.name, ok: false, errorKind: 'status', detail: `${r.name}: expected ${expected}, got ${response.status}` });
    else {
      this.result.outcomes.push({ name: r.name, ok: true });
      this.result.completed = true;
    }
    return null;
  }

  outcome(): IterationResult {
    return this.result;
  }
}

/** The endpoint a response counts under: its request's, except a revalidated view (304), counted apart. */
export function endpointOf(request: Pick<ScenarioRequest, 'name' | 'wantsEtag'>, status: number): string {
  return request.wantsEtag && status === 304 ? `${request.name}_304` : request.name;
}

/** View a hot product through the cache lab's route (revalidating with its ETag when conditional), sometimes order it. */
class CacheViewsJourney implements Journey {
  private readonly result: IterationResult = { outcomes: [], completed: false };
  private step: 'view' | 'order' | 'done' = 'view';
  private productId = 0;
  constructor(
    private readonly spec: Extract<ScenarioSpec, { kind: 'cache-views' }>,
    private readonly random: () => number,
    private readonly state: UserState,
  ) {}

  start(): ScenarioRequest {
    this.productId = FIRST_REGULAR_PRODUCT_ID + randomInt(this.random, 0, this.spec.hotProducts - 1);
    const etag = this.spec.conditional ? this.state[String(this.productId)] : undefined;
    return {
      name: 'view',
      method: 'GET',
      path: `/lab/cache/products/${this.productId}`,
      expectedStatus: 200,
      needsBody: false,
      ...(etag ? { headers: { 'if-none-match': etag } } : {}),
      ...(this.spec.conditional ? { wantsEtag: true } : {}),
    };
  }

  advance(response: ScenarioResponse): ScenarioRequest | null {
    if (this.step === 'view') {
      const revalidated = this.spec.conditional && response.status === 304;
      const name = endpointOf({ name: 'view', wantsEtag: this.spec.conditional }, response.status);
      if (response.error !== undefined) return this.fail(name, response.error, `view: ${response.error} error`);
      if (response.status !== 200 && !revalidated) return this.fail(name, 'status', `view: expected 200${this.spec.conditional ? ' or 304' : ''}, got ${response.status}`);
      if (response.etag) this.state[String(this.productId)] = response.etag;
      this.result.outcomes.push({ name, ok: true });
      if (this.random() >= this.spec.orderShare) return this.end();
      this.step = 'order';
      return { name: 'order', method: 'POST', path: '/orders', body: JSON.stringify({ productId: this.productId, quantity: 1 }), expectedStatus: 201, needsBody: true };
    }
    if (response.error !== undefined) return this.fail('order', response.error, `order: ${response.error} error`);
    if (response.status !== 201) return this.fail('order', 'status', `order: expected 201, got ${response.status}`);
    const id = Number(/^\{"id":(\d+),/.exec(response.body || '')?.[1]);
    if (!(id > 0)) return this.fail('order', 'body', 'order: the created order has no integer id');
    this.result.createdOrder = { id, productId: this.productId, quantity: 1 };
    this.result.outcomes.push({ name: 'order', ok: true });
    return this.end();
  }

  outcome(): IterationResult {
    return this.result;
  }

  private end(): null {
    this.step = 'done';
    this.result.completed = true;
    return null;
  }

  private fail(name: string, errorKind: 'status' | 'body' | 'timeout' | 'connection', detail: string): null {
    this.result.outcomes.push({ name, ok: false, errorKind, detail });
    this.step = 'done';
    return null;
  }
}

export function createJourney(spec: ScenarioSpec, scenario: ResolvedScenario, random: () => number, state: UserState): Journey {
  if (spec.kind === 'mix') return new MixJourney(spec, scenario, random);
  if (spec.kind === 'cache-views') return new CacheViewsJourney(spec, random, state);
  return new UserIteration(scenario, random);
}
