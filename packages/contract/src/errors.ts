/**
 * The one error body every app returns: `{"error":{"code","message"}}`. Messages are fixed strings built here so
 * that every stack returns byte-identical bodies for the same fault (the cross-stack diff test relies on it).
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  not_found: 404,
  method_not_allowed: 405,
  insufficient_stock: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For 405: the methods the path does accept (sent as the `Allow` header). */
    readonly allow?: readonly string[],
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export const MAX_BODY_BYTES = 16 * 1024;
export const INT32_MAX = 2_147_483_647;

/** Field-level validation messages: one per field, independent of which rule inside the field failed. */
export const FIELD_MESSAGES = {
  id: `id must be an integer from 1 to ${INT32_MAX}`,
  limit: 'limit must be an integer from 1 to 100',
  after: `after must be an integer from 0 to ${INT32_MAX}`,
  productId: `productId must be an integer from 1 to ${INT32_MAX}`,
  quantity: 'quantity must be an integer from 1 to 100',
} as const;

export type ValidatedField = keyof typeof FIELD_MESSAGES;

export const errors = {
  invalidField: (field: ValidatedField) => new ApiError('invalid_request', FIELD_MESSAGES[field]),
  missingField: (field: 'productId' | 'quantity') => new ApiError('invalid_request', `${field} is required`),
  unknownField: (field: string) => new ApiError('invalid_request', `${JSON.stringify(field)} is not a known field`),
  malformedJson: () => new ApiError('invalid_request', 'body is not valid JSON'),
  bodyNotObject: () => new ApiError('invalid_request', 'body must be a JSON object'),
  payloadTooLarge: () => new ApiError('payload_too_large', `body exceeds ${MAX_BODY_BYTES} bytes`),
  unsupportedMediaType: () => new ApiError('unsupported_media_type', 'content-type must be application/json'),
  routeNotFound: () => new ApiError('not_found', 'route not found'),
  methodNotAllowed: (allow: readonly string[]) => new ApiError('method_not_allowed', 'method not allowed', allow),
  productNotFound: (id: number) => new ApiError('not_found', `product ${id} not found`),
  orderNotFound: (id: number) => new ApiError('not_found', `order ${id} not found`),
  insufficientStock: (id: number, available: number) =>
    new ApiError('insufficient_stock', `product ${id} has ${available} left`),
  internal: () => new ApiError('internal', 'internal error'),
  unavailable: () => new ApiError('unavailable', 'database unavailable'),
};

/** Every response, errors included, carries exactly this content type. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
