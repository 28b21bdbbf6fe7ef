import {
  Catch,
  HttpException,
  Inject,
  Logger,
  NotFoundException,
  Optional,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { allowedMethods, ApiError, errors, matchRoutePath } from '@stackbench/contract';
import { LAB_ALLOW, matchLabRoute, type Lab } from '@stackbench/lab';
import { LAB } from './lab.tokens.js';

/**
 * Request paths the router cannot read: one that cannot be percent-decoded (`/products/%E0`: a URIError on Express,
 * FST_ERR_BAD_URL on Fastify) or, on Fastify, a path parameter over find-my-way's maxParamLength.
 */
function isUnreadablePath(cause: unknown): boolean {
  if (cause instanceof URIError) return true;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return code === 'FST_ERR_BAD_URL' || code === 'FST_ERR_MAX_PARAM_LENGTH';
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Turns every exception into the contract's error body, on both platforms. Nest hands over platform errors as
 * HttpExceptions (body parser errors, Fastify's content-type and body-limit errors) with the original as `cause`.
 * `labRoutes`: the app serves the lab's routes too (they then count as known paths).
 */
export function toApiError(exception: unknown, url: string, labRoutes = false): ApiError {
  if (exception instanceof ApiError) return exception;
  if (!(exception instanceof HttpException)) return errors.internal();
  const cause = exception.cause;
  // Thrown from the Express body parser's `verify` hook: http-errors wrapped it, Nest mapped it.
  if (cause instanceof ApiError) return cause;
  const path = pathOf(url);
  const labRoute = labRoutes ? matchLabRoute(path) : undefined;
  if (isUnreadablePath(cause)) {
    // Where the path is an id route, it is a bad id (as a decodable one would be); anywhere else no route.
    const idRoute = matchRoutePath(path)?.params.id !== undefined || labRoute?.params.id !== undefined;
    return idRoute ? errors.invalidField('id') : errors.routeNotFound();
  }
  if (exception instanceof NotFoundException) {
    // Nest's router 404: a known path reached with another method is 405.
    const route = matchRoutePath(path);
    if (route) return errors.methodNotAllowed(allowedMethods(route.pattern));
    return labRoute ? errors.methodNotAllowed(LAB_ALLOW) : errors.routeNotFound();
  }
  switch (exception.getStatus()) {
    case 413:
      return errors.payloadTooLarge();
    case 415:
      return errors.unsupportedMediaType();
    case 400:
      // Express body-parser's SyntaxError, Fastify's FST_ERR_CTP_INVALID_JSON_BODY / FST_ERR_CTP_EMPTY_JSON_BODY.
      return errors.malformedJson();
  }
  return errors.internal();
}

/** The one exception filter: the contract body for everything, with `Allow` on 405. */
@Catch()
export class ContractExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ContractExceptionFilter');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(LAB) private readonly lab?: Lab,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost;
    const http = host.switchToHttp();
    const response: unknown = http.getResponse();
    const apiError = toApiError(exception, httpAdapter.getRequestUrl(http.getRequest()), this.lab !== undefined);
    // Nest's logger is off unless config.logger.
    if (apiError.status >= 500) {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    }
    if (apiError.allow) httpAdapter.setHeader(response, 'allow', apiError.allow.join(', '));
    httpAdapter.reply(response, apiError.toBody(), apiError.status);
  }
}
