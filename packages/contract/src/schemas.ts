import { AFTER_PATTERN, ID_PATTERN, LIMIT_PATTERN } from './validation.js';
import { INT32_MAX } from './errors.js';

/**
 * JSON Schemas (draft-07 subset that Ajv and fast-json-stringify understand) for requests and responses.
 * Path and query values are strings on the wire, so they are validated as strings with canonical patterns —
 * never coerced (coercion would accept `1e3` and ` 1`).
 */
export const productSchema = {
  $id: 'stackbench.product',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'priceCents', 'stock', 'sold'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    priceCents: { type: 'integer' },
    stock: { type: 'integer' },
    sold: { type: 'integer' },
  },
} as const;

export const orderSchema = {
  $id: 'stackbench.order',
  type: 'object',
  additionalProperties: false,
  required: ['id', 'productId', 'quantity', 'unitPriceCents', 'totalCents', 'createdAt'],
  properties: {
    id: { type: 'integer' },
    productId: { type: 'integer' },
    quantity: { type: 'integer' },
    unitPriceCents: { type: 'integer' },
    totalCents: { type: 'integer' },
    createdAt: { type: 'string' },
  },
} as const;

export const productPageSchema = {
  $id: 'stackbench.productPage',
  type: 'object',
  additionalProperties: false,
  required: ['items', 'nextAfter'],
  properties: {
    items: { type: 'array', items: productSchema },
    nextAfter: { type: ['integer', 'null'] },
  },
} as const;

export const errorBodySchema = {
  $id: 'stackbench.error',
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

export const healthSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status'],
  properties: { status: { type: 'string', enum: ['ok'] } },
} as const;

export const idParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
} as const;

/** Unknown query parameters are allowed (ignored); a repeated parameter arrives as an array and fails `string`. */
export const listQuerySchema = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: LIMIT_PATTERN },
    after: { type: 'string', pattern: AFTER_PATTERN },
  },
} as const;

export const placeOrderBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['productId', 'quantity'],
  properties: {
    productId: { type: 'integer', minimum: 1, maximum: INT32_MAX },
    quantity: { type: 'integer', minimum: 1, maximum: 100 },
  },
} as const;
