import { HttpException, type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { errors, isJsonContentType, MAX_BODY_BYTES, type AppConfig, type AppDeps } from '@stackbench/contract';
import express from 'express';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { ApiModule } from './api.module.js';
import { toApiError } from './contract-exception.filter.js';

export type NestPlatform = 'express' | 'fastify';
export const NEST_PLATFORMS: readonly NestPlatform[] = ['express', 'fastify'];

function nestOptions(config: AppConfig): NestApplicationOptions {
  return {
    logger: config.logger ? ['log', 'warn', 'error'] : false,
    // Body parsing is set up per platform below: JSON only, at most MAX_BODY_BYTES.
    bodyParser: false,
    // Startup errors go to the caller instead of exiting the process.
    abortOnError: false,
  };
}

async function createExpressApp(deps: AppDeps, config: AppConfig): Promise<INestApplication> {
  const instance = express();
  // Paths are exact: `/health/` and `/Products` are not routes. Express's router reads these settings once, when
  // it is created, which is in the adapter's constructor.
  instance.set('case sensitive routing', true);
  instance.set('strict routing', true);
  const app = await NestFactory.create<NestExpressApplication>(
    ApiModule.register(deps),
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
      // body-parser turns an empty body into `{}`: the contract says it is not JSON.
      verify: (_req: IncomingMessage, _res: unknown, buf: Buffer) => {
        if (buf.length === 0) throw errors.malformedJson();
      },
    }),
  );
  return app;
}

/**
 * Fastify's router rejects an undecodable path or an over-long parameter before any Nest layer runs (the error
 * handler Nest installs never sees them): they get the exception filter's mapping here.
 */
function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const apiError = toApiError(new HttpException(error.message, error.statusCode ?? 500, { cause: error }), request.raw.url ?? '/');
  void reply.code(apiError.status).send(apiError.toBody());
}

async function createFastifyApp(deps: AppDeps, config: AppConfig): Promise<INestApplication> {
  const adapter = new FastifyAdapter({
    // 413 for a larger body, announced (content-length) or chunked.
    bodyLimit: MAX_BODY_BYTES,
    frameworkErrors,
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(deps), adapter, nestOptions(config));
  // Fastify parses text/plain out of the box: JSON is the only body type (others are 415).
  app.getHttpAdapter().getInstance().removeAllContentTypeParsers();
  app.useBodyParser('application/json', { bodyLimit: MAX_BODY_BYTES });
  return app;
}

/** Builds and initializes the Nest application on the chosen platform, without listening. */
export async function buildApp(deps: AppDeps, config: AppConfig, platform: NestPlatform): Promise<INestApplication> {
  const app = platform === 'express' ? await createExpressApp(deps, config) : await createFastifyApp(deps, config);
  await app.init();
  return app;
}
