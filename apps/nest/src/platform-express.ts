import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { errors, isJsonContentType, MAX_BODY_BYTES, type AppConfig, type AppDeps } from '@stackbench/contract';
import express from 'express';
import type { IncomingMessage } from 'node:http';
import { ApiModule } from './api.module.js';
import { nestOptions } from './nest-options.js';

/** The Nest application on Express (not initialized). */
export async function createExpressApp(deps: AppDeps, config: AppConfig): Promise<INestApplication> {
  const instance = express();
  // Paths are exact: `/health/` and `/Products` are not routes. Express's router reads these settings once, when
  // it is created, which is in the adapter's constructor.
  instance.set('case sensitive routing', true);
  instance.set('strict routing', true);
  const app = await NestFactory.create<NestExpressApplication>(
    ApiModule.register(deps, config.lab ?? null),
    new ExpressAdapter(instance),
    nestOptions(config),
  );
  // express.json itself, as `app.useBodyParser('json')` reserves `verify` for Nest's rawBody option.
  app.use(
    express.json({
      // 413 for a larger body, announced (content-length) or chunked.
      limit: MAX_BODY_BYTES,
      // Other media types are skipped here and answered 415 by RequireJsonMiddleware.
      type: (req: IncomingMessage) => isJsonContentType(req.headers['content-type']),
      // Any JSON value parses, so that `null`, `42` or `"text"` are answered "body must be a JSON object".
      strict: false,
      // body-parser turns an empty body into `{}`: the contract says it is not JSON. (http-errors wraps the
      // ApiError, Nest maps it to an HttpException with it as cause, the filter unwraps it.)
      verify: (_req: IncomingMessage, _res: unknown, buf: Buffer) => {
        if (buf.length === 0) throw errors.malformedJson();
      },
    }),
  );
  return app;
}
