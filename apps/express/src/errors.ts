import { ApiError, errors } from '@stackbench/contract';
import type { ErrorRequestHandler, RequestHandler } from 'express';

/** The fields body-parser and Express's router put on the errors they pass to `next(err)`. */
interface HttpLikeError {
  type?: string;
  status?: number;
}

/** Turns every error, Express's and body-parser's own included, into the contract's error. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const { type, status } = (err ?? {}) as HttpLikeError;
  switch (type) {
    case 'entity.too.large':
      return errors.payloadTooLarge();
    case 'entity.parse.failed':
      return errors.malformedJson();
    // express.json() refuses a non-UTF charset and an unknown content-encoding with 415.
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return errors.unsupportedMediaType();
    // The body ended before its content-length, or the client aborted: the body is not valid JSON.
    case 'request.size.invalid':
    case 'request.aborted':
      return errors.malformedJson();
  }
  // Express's router percent-decodes params while matching and fails with a 400 URIError on a malformed escape.
  // The only params are ids.
  if (err instanceof URIError && status === 400) return errors.invalidField('id');
  // Any other 400 comes from reading the body (e.g. a content-encoding: gzip body that does not inflate).
  if (status === 400) return errors.malformedJson();
  return errors.internal();
}

export function errorHandler(logger: boolean): ErrorRequestHandler {
  return (err, req, res, next) => {
    const apiError = toApiError(err);
    if (logger && apiError.status >= 500) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      process.stderr.write(`${JSON.stringify({ level: 'error', method: req.method, url: req.originalUrl, err: message })}\n`);
    }
    // A started response cannot become an error response: let Express's final handler cut the connection.
    if (res.headersSent) return next(err);
    if (apiError.allow) res.set('allow', apiError.allow.join(', '));
    res.status(apiError.status).json(apiError.toBody());
  };
}

/** After every route: nothing matched the path. */
export const notFound: RequestHandler = (_req, _res, next) => {
  next(errors.routeNotFound());
};
