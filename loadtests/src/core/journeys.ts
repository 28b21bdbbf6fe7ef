/**
 * What a virtual user does, as a serializable spec both engines understand (the embedded driver directly, k6 through
 * its SCENARIO environment variable):
 * - `commerce` (the default): the benchmark's journey (./scenario.ts: list → product → order → view the order);
 * - `mix`: one request per iteration, drawn by weight from a list (the labs: `/lab/wait` beside `/lab/simple`, the
 *   source articles' mixed load ...). A path may hold `{product}` (a random regular product id) and `{after}` (a random
 *   keyset cursor);
 * - `cache-views`: view a product of a hot set through the cache lab's route, sometimes order it; with `conditional`
 *   the user remembers each product's ETag and revalidates with If-None-Match (304s are their own endpoint).
 * Each is a generator journey (./scenario.ts), plain ES2017 plus generators like the rest of the core.
 */
import { FIRST_REGULAR_PRODUCT_ID } from '@stackbench/contract';
import { commerceJourney, orderOutcome, orderRequest, randomInt, REQUEST_NAMES, statusFailure, type Journey, type JourneyLog, type ResolvedScenario, type ScenarioResponse } from './scenario.js';

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
function* mixJourney(spec: Extract<ScenarioSpec, { kind: 'mix' }>, scenario: ResolvedScenario, random: () => number): Journey {
  let total = 0;
  for (const r of spec.requests) total += r.weight;
  let pick = random() * total;
  let chosen = spec.requests[spec.requests.length - 1]!;
  for (const r of spec.requests) {
    if (pick < r.weight) {
      chosen = r;
      break;
    }
    pick -= r.weight;
  }
  const expected = chosen.status || 200;
  const response: ScenarioResponse = yield { name: chosen.name, method: 'GET', path: fillPath(chosen.path, scenario, random), expectedStatus: expected, needsBody: false };
  return response.status === expected ? null : statusFailure(chosen.name, response, expected);
}

/** View a hot product through the cache lab's route (revalidating with its ETag when conditional), sometimes order it. */
function* cacheViewsJourney(spec: Extract<ScenarioSpec, { kind: 'cache-views' }>, random: () => number, state: UserState, log: JourneyLog): Journey {
  const productId = FIRST_REGULAR_PRODUCT_ID + randomInt(random, 0, spec.hotProducts - 1);
  const etag = spec.conditional ? state[String(productId)] : undefined;
  const response: ScenarioResponse = yield {
    name: 'view',
    method: 'GET',
    path: `/lab/cache/products/${productId}`,
    expectedStatus: 200,
    needsBody: false,
    ...(etag ? { headers: { 'if-none-match': etag } } : {}),
    ...(spec.conditional ? { wantsEtag: true } : {}),
  };
  const revalidated = spec.conditional && response.status === 304;
  if (response.status !== 200 && !revalidated) {
    return statusFailure('view', response, spec.conditional ? '200 or 304' : 200);
  }
  if (response.etag) state[String(productId)] = response.etag;
  if (random() >= spec.orderShare) return null;

  return orderOutcome(yield orderRequest(productId), productId, log);
}

/** A new journey of the spec's kind; `state` is the user's memory across journeys, `log` this journey's leavings. */
export function createJourney(spec: ScenarioSpec, scenario: ResolvedScenario, random: () => number, state: UserState, log: JourneyLog): Journey {
  if (spec.kind === 'mix') return mixJourney(spec, scenario, random);
  if (spec.kind === 'cache-views') return cacheViewsJourney(spec, random, state, log);
  return commerceJourney(scenario, random, log);
}
