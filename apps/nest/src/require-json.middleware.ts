import { Injectable, type NestMiddleware } from '@nestjs/common';
import { errors, isJsonContentType } from '@stackbench/contract';
import type { IncomingMessage } from 'node:http';

/**
 * `POST /orders` takes `application/json` only (any letter case, with parameters). Checked here for both
 * platforms: Express's JSON parser silently skips other types, and on Fastify this runs before body parsing.
 */
@Injectable()
export class RequireJsonMiddleware implements NestMiddleware {
  use(req: IncomingMessage, _res: unknown, next: (error?: unknown) => void): void {
    if (!isJsonContentType(req.headers['content-type'])) throw errors.unsupportedMediaType();
    next();
  }
}
