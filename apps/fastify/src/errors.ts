import { ApiError, errors, type ValidatedField } from '@stackbench/contract';
import type { FastifyError, FastifyInstance } from 'fastify';

const FIELDS = new Set<string>(['limit', 'after', 'productId', 'quantity']);

/** Maps an Ajv validation failure (first error only: allErrors is off) to the contract's message for it. */
function fromValidation(err: FastifyError): ApiError {
  const first = err.validation?.[0];
  if (err.validationContext === 'params') return errors.invalidField('id');
  const field = first?.instancePath.split('/')[1] ?? '';
  if (err.validationContext === 'body') {
    if (first?.keyword === 'additionalProperties') return errors.unknownField(String(first.params.additionalProperty));
    if (first?.keyword === 'required') return errors.missingField(first.params.missingProperty as 'productId' | 'quantity');
    if (field === '') return errors.bodyNotObject();
  }
  return FIELDS.has(field) ? errors.invalidField(field as ValidatedField) : new ApiError('invalid_request', err.message);
}

/** Turns every error, Fastify's own included, into the contract's body. */
function toApiError(err: FastifyError): ApiError {
  if (err instanceof ApiError) return err;
  if (err.validation) return fromValidation(err);
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.malformedJson();
  }
  if (err instanceof SyntaxError || err.statusCode === 400) return errors.malformedJson();
  return errors.internal();
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) request.log.error(err);
    if (apiError.allow) void reply.header('allow', apiError.allow.join(', '));
    return reply.code(apiError.status).send(apiError.toBody());
  });
  app.setNotFoundHandler((_request, reply) => {
    const apiError = errors.routeNotFound();
    return reply.code(apiError.status).send(apiError.toBody());
  });
}
