import { AFTER_PATTERN, ApiError, DEFAULT_AFTER, FIELD_MESSAGES } from '@stackbench/contract';
import { integerRangePattern } from './patterns.js';

/**
 * The lab's query parameters, decided once for every app, the contract's way: numbers are canonical decimal digits
 * (`1e3`, `01`, `+1`, ` 1` are 400), a repeated parameter is 400, unknown parameters are ignored, and each parameter
 * has one fixed message whatever rule it broke (missing, malformed, out of range). Every parameter is required except
 * `after` (default 0, as on `/products`). Bad input is 400 `invalid_request` with the contract's error body and does
 * no work.
 */

/** Ranges. CPU-bound ones keep one request under ~1 s of CPU here (README, "Lab routes": how they were measured). */
export const LAB_LIMITS = {
  /** /lab/wait and /lab/fanout: milliseconds per wait or upstream call. */
  ms: { min: 0, max: 5_000 },
  /** /lab/cpu: primes are counted below n (2 000 000: ~0.3 s by trial division on one core here). */
  n: { min: 1, max: 2_000_000 },
  /** /lab/fanout: outgoing calls per request. */
  calls: { min: 1, max: 1_000 },
  /** /lab/fanout mode `limit:K`: calls in flight at once. */
  limit: { min: 1, max: 1_000 },
  /** /lab/pbkdf2: PBKDF2-HMAC-SHA512 iterations (1 000 000: ~0.5 s on one libuv thread here). */
  iterations: { min: 1, max: 1_000_000 },
  /** /lab/products: rows per page (the contract's `/products` caps `limit` at 100; the lab measures bigger pages). */
  rows: { min: 1, max: 1_000 },
} as const;

export const WAIT_MODES = ['await', 'block', 'offload'] as const;
export type WaitMode = (typeof WAIT_MODES)[number];
export const CPU_MODES = ['main', 'worker'] as const;
export type CpuMode = (typeof CPU_MODES)[number];

const range = (name: keyof typeof LAB_LIMITS) => `${name} must be an integer from ${LAB_LIMITS[name].min} to ${LAB_LIMITS[name].max}`;

/** The fixed messages. `variant` depends on the app (its own list of payload variants): see variantMessage. */
export const LAB_MESSAGES = {
  ms: range('ms'),
  n: range('n'),
  calls: range('calls'),
  iterations: range('iterations'),
  rows: range('rows'),
  after: FIELD_MESSAGES.after,
  waitMode: `mode must be one of ${WAIT_MODES.join(', ')}`,
  cpuMode: `mode must be one of ${CPU_MODES.join(', ')}`,
  fanoutMode: `mode must be one of sequential, all, limit:K with K an integer from ${LAB_LIMITS.limit.min} to ${LAB_LIMITS.limit.max}`,
  upstreamMissing: 'the lab has no upstream (STACKBENCH_LAB_UPSTREAM is not set)',
  upstreamFailed: 'the lab upstream did not answer 200',
} as const;

export function variantMessage(variants: readonly string[]): string {
  return `variant must be one of ${variants.join(', ')}`;
}

/** Outside a character class, `-` needs no escape (and an escaped one is an error in Ajv's unicode-mode patterns). */
const enumPattern = (values: readonly string[]) => `^(?:${values.map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`;
const LIMIT_SOURCE = integerRangePattern(LAB_LIMITS.limit.min, LAB_LIMITS.limit.max).slice(1, -1);

/** Anchored pattern sources, for the parser below and for JSON Schemas (see labQuerySchema). */
export const LAB_PATTERNS = {
  ms: integerRangePattern(LAB_LIMITS.ms.min, LAB_LIMITS.ms.max),
  n: integerRangePattern(LAB_LIMITS.n.min, LAB_LIMITS.n.max),
  calls: integerRangePattern(LAB_LIMITS.calls.min, LAB_LIMITS.calls.max),
  iterations: integerRangePattern(LAB_LIMITS.iterations.min, LAB_LIMITS.iterations.max),
  rows: integerRangePattern(LAB_LIMITS.rows.min, LAB_LIMITS.rows.max),
  after: AFTER_PATTERN,
  waitMode: enumPattern(WAIT_MODES),
  cpuMode: enumPattern(CPU_MODES),
  fanoutMode: `^(?:sequential|all|limit:${LIMIT_SOURCE})$`,
} as const;

/** One query parameter: its name on the wire, its pattern, its message, and whether it may be left out. */
export interface LabParam {
  name: string;
  pattern: string;
  message: string;
  required: boolean;
}

const param = (name: string, key: keyof typeof LAB_PATTERNS & keyof typeof LAB_MESSAGES, required = true): LabParam => ({
  name,
  pattern: LAB_PATTERNS[key],
  message: LAB_MESSAGES[key],
  required,
});

/** Each lab route's query parameters, in the order they are checked (the first failing one is reported). */
export const LAB_QUERY_PARAMS = {
  wait: [param('ms', 'ms'), param('mode', 'waitMode')],
  cpu: [param('n', 'n'), param('mode', 'cpuMode')],
  fanout: [param('calls', 'calls'), param('ms', 'ms'), param('mode', 'fanoutMode')],
  pbkdf2: [param('iterations', 'iterations')],
  products: [param('rows', 'rows'), param('after', 'after', false)],
} as const satisfies Record<string, readonly LabParam[]>;

const productsParams = new WeakMap<readonly string[], readonly LabParam[]>();

/** The payload route's parameters: the fixed ones plus `variant`, one of the app's own list. */
export function productsQueryParams(variants: readonly string[]): readonly LabParam[] {
  let params = productsParams.get(variants);
  if (!params) {
    if (variants.length === 0) throw new Error('an app needs at least one payload variant');
    params = [...LAB_QUERY_PARAMS.products, { name: 'variant', pattern: enumPattern(variants), message: variantMessage(variants), required: true }];
    productsParams.set(variants, params);
  }
  return params;
}

/** A query string as the frameworks hand it over: node's URLSearchParams, or an object (repeated names as arrays). */
export type LabQuery = URLSearchParams | Readonly<Record<string, unknown>>;

const compiled = new Map<string, RegExp>();
function regex(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) compiled.set(source, (re = new RegExp(source)));
  return re;
}

/** The raw value of one parameter: a string, an array when repeated, undefined when absent. */
function rawValue(query: LabQuery, name: string): unknown {
  if (query instanceof URLSearchParams) {
    const all = query.getAll(name);
    return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
  }
  return Object.prototype.hasOwnProperty.call(query, name) ? query[name] : undefined;
}

/**
 * The parameters as strings, checked in order; throws the first failing parameter's 400. An absent optional
 * parameter is left out of the result.
 */
export function readLabQuery(query: LabQuery, params: readonly LabParam[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) {
    const value = rawValue(query, p.name);
    if (value === undefined && !p.required) continue;
    if (typeof value !== 'string' || !regex(p.pattern).test(value)) throw new ApiError('invalid_request', p.message);
    out[p.name] = value;
  }
  return out;
}

/** JSON Schema of a route's query string (Ajv and friends), equivalent to readLabQuery with the same parameters. */
export function labQuerySchema(params: readonly LabParam[]) {
  return {
    type: 'object',
    required: params.filter((p) => p.required).map((p) => p.name),
    properties: Object.fromEntries(params.map((p) => [p.name, { type: 'string', pattern: p.pattern }])),
  } as const;
}

// ---- typed queries --------------------------------------------------------------------------------------------

export interface WaitQuery {
  ms: number;
  mode: WaitMode;
}

export interface CpuQuery {
  n: number;
  mode: CpuMode;
}

/** `sequential`, `all`, or at most `limit` calls at once. */
export type FanoutMode = { kind: 'sequential' } | { kind: 'all' } | { kind: 'limit'; limit: number };

export interface FanoutQuery {
  calls: number;
  ms: number;
  mode: FanoutMode;
  /** The mode as the client wrote it (`limit:8`), echoed in the response. */
  modeText: string;
}

export interface Pbkdf2Query {
  iterations: number;
}

export interface ProductsQuery {
  rows: number;
  after: number;
  variant: string;
}

export function parseWaitQuery(query: LabQuery): WaitQuery {
  const q = readLabQuery(query, LAB_QUERY_PARAMS.wait);
  return { ms: Number(q.ms), mode: q.mode as WaitMode };
}

export function parseCpuQuery(query: LabQuery): CpuQuery {
  const q = readLabQuery(query, LAB_QUERY_PARAMS.cpu);
  return { n: Number(q.n), mode: q.mode as CpuMode };
}

export function parseFanoutQuery(query: LabQuery): FanoutQuery {
  const q = readLabQuery(query, LAB_QUERY_PARAMS.fanout);
  const modeText = q.mode!;
  const mode: FanoutMode =
    modeText === 'sequential' ? { kind: 'sequential' } : modeText === 'all' ? { kind: 'all' } : { kind: 'limit', limit: Number(modeText.slice('limit:'.length)) };
  return { calls: Number(q.calls), ms: Number(q.ms), mode, modeText };
}

export function parsePbkdf2Query(query: LabQuery): Pbkdf2Query {
  return { iterations: Number(readLabQuery(query, LAB_QUERY_PARAMS.pbkdf2).iterations) };
}

export function parseProductsQuery(query: LabQuery, variants: readonly string[]): ProductsQuery {
  const q = readLabQuery(query, productsQueryParams(variants));
  return { rows: Number(q.rows), after: q.after === undefined ? DEFAULT_AFTER : Number(q.after), variant: q.variant! };
}
