import { productPageSchema, productSchema } from '@stackbench/contract';
import { LAB_QUERY_PARAMS, labQuerySchema, productsQueryParams } from './params.js';

/**
 * JSON Schemas of the lab routes, for frameworks that validate query strings and serialize responses from schemas
 * (Fastify). The query schemas accept exactly what the lab's parsers accept (same patterns); the parsers still
 * decide the error message, so every app says the same thing about the same bad input.
 */
export const LAB_QUERY_SCHEMAS = {
  wait: labQuerySchema(LAB_QUERY_PARAMS.wait),
  cpu: labQuerySchema(LAB_QUERY_PARAMS.cpu),
  fanout: labQuerySchema(LAB_QUERY_PARAMS.fanout),
  pbkdf2: labQuerySchema(LAB_QUERY_PARAMS.pbkdf2),
} as const;

/** The payload route's query schema for an app's variants. */
export function productsQuerySchema(variants: readonly string[]) {
  return labQuerySchema(productsQueryParams(variants));
}

const object = (properties: Record<string, unknown>) =>
  ({ type: 'object', additionalProperties: false, required: Object.keys(properties), properties }) as const;

export const LAB_RESPONSE_SCHEMAS = {
  simple: object({ ok: { type: 'boolean' } }),
  wait: object({ waitedMs: { type: 'integer' }, mode: { type: 'string' } }),
  cpu: object({ n: { type: 'integer' }, primes: { type: 'integer' }, mode: { type: 'string' } }),
  fanout: object({ calls: { type: 'integer' }, mode: { type: 'string' }, elapsedMs: { type: 'integer' } }),
  pbkdf2: object({ iterations: { type: 'integer' } }),
  products: productPageSchema,
  cacheProduct: productSchema,
  cacheStats: object({ mode: { type: 'string' }, hits: { type: 'integer' }, misses: { type: 'integer' }, hitRate: { type: ['number', 'null'] }, instance: { type: 'integer' } }),
} as const;
