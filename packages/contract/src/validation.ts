import { ApiError, errors, INT32_MAX, type ValidatedField } from './errors.js';
import type { ListProductsQuery, PlaceOrderInput } from './types.js';

/**
 * Input rules, decided once for every app:
 * - Numbers in paths and query strings are canonical decimal digits only: no sign, exponent, hex, spaces,
 *   fraction or leading zeros (`1e3`, `0x10`, ` 1`, `01`, `+1` are 400). Ids are 1..2^31-1, `after` 0..2^31-1,
 *   `limit` 1..100 (default 20). A repeated query parameter (`?limit=1&limit=2`) is 400. Unknown query
 *   parameters are ignored.
 * - The order body is a JSON object with exactly `productId` (integer 1..2^31-1) and `quantity` (integer 1..100).
 *   JSON strings are never coerced to numbers; unknown fields are 400; `1.0` is the integer 1 (JSON cannot tell).
 * Anything else is 400 `invalid_request` and changes nothing.
 */
export const ID_PATTERN =
  '^(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$';
export const AFTER_PATTERN = `^(?:0|${ID_PATTERN.slice(1, -1)})$`;
export const LIMIT_PATTERN = '^(?:[1-9]|[1-9][0-9]|100)$';

export const DEFAULT_LIMIT = 20;
export const DEFAULT_AFTER = 0;

const idRe = new RegExp(ID_PATTERN);
const afterRe = new RegExp(AFTER_PATTERN);
const limitRe = new RegExp(LIMIT_PATTERN);

type QueryValue = string | string[] | undefined;

function parseWith(re: RegExp, raw: unknown, field: ValidatedField): number {
  if (typeof raw !== 'string' || !re.test(raw)) throw errors.invalidField(field);
  return Number(raw);
}

/** Path id (`/products/:id`, `/orders/:id`), already percent-decoded. Throws ApiError. */
export function parseId(raw: unknown): number {
  return parseWith(idRe, raw, 'id');
}

/** `GET /products` query. Throws ApiError. */
export function parseListQuery(query: Record<string, QueryValue> | URLSearchParams): ListProductsQuery {
  const get = (name: 'limit' | 'after'): QueryValue => {
    if (query instanceof URLSearchParams) {
      const all = query.getAll(name);
      return all.length === 0 ? undefined : all.length === 1 ? all[0] : all;
    }
    return query[name];
  };
  const limit = get('limit');
  const after = get('after');
  return {
    limit: limit === undefined ? DEFAULT_LIMIT : parseWith(limitRe, limit, 'limit'),
    after: after === undefined ? DEFAULT_AFTER : parseWith(afterRe, after, 'after'),
  };
}

function isIntIn(value: unknown, min: number, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** `POST /orders` body, already parsed from JSON. Throws ApiError. */
export function parseOrderBody(body: unknown): PlaceOrderInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.bodyNotObject();
  const record = body as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (key !== 'productId' && key !== 'quantity') throw errors.unknownField(key);
  }
  if (!('productId' in record)) throw errors.missingField('productId');
  if (!isIntIn(record.productId, 1, INT32_MAX)) throw errors.invalidField('productId');
  if (!('quantity' in record)) throw errors.missingField('quantity');
  if (!isIntIn(record.quantity, 1, 100)) throw errors.invalidField('quantity');
  return { productId: record.productId, quantity: record.quantity };
}

/**
 * `content-type` accepted for `POST /orders`: `application/json`, any letter case, with optional parameters
 * (`; charset=utf-8`). `application/*+json` and everything else is 415.
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const semi = header.indexOf(';');
  const mediaType = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  return mediaType === 'application/json';
}

