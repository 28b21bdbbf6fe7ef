import { HttpException, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { MAX_BODY_BYTES, type AppConfig, type AppDeps } from '@stackbench/contract';
import { fastifyTimeoutOptions } from '@stackbench/server';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiModule } from './api.module.js';
import { toApiError } from './contract-exception.filter.js';
import { nestOptions } from './nest-options.js';

/**
 * Fastify's router rejects an undecodable path or an over-long parameter before any Nest layer runs (the error
 * handler Nest installs never sees them): they get the exception filter's mapping here.
 */
function frameworkErrors(labRoutes: boolean) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const exception = new HttpException(error.message, error.statusCode ?? 500, { cause: error });
    const apiError = toApiError(exception, request.raw.url ?? '/', labRoutes);
    void reply.code(apiError.status).send(apiError.toBody());
  };
}

/** The Nest application on Fastify (not initialized). */
export async function createFastifyApp(deps: AppDeps, config: AppConfig): Promise<INestApplication> {
  const adapter = new FastifyAdapter({
    // 413 for a larger body, announced (content-length) or chunked.
    bodyLimit: MAX_BODY_BYTES,
    // requestTimeout, keepAliveTimeout, connectionTimeout and node:http's headersTimeout, all explicit.
    ...fastifyTimeoutOptions(config.http),
    // A `__proto__` or `constructor` key is parsed as an own key like on Express, and answered as the unknown
    // field it is (JsonObjectPipe), instead of "body is not valid JSON". Bodies are never
    // merged into other objects, so there is nothing to poison.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
    frameworkErrors: frameworkErrors(Boolean(config.lab)),
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.register(deps, config.lab ?? null), adapter, nestOptions(config));
  // Fastify parses text/plain out of the box: JSON is the only body type (others are 415).
  app.getHttpAdapter().getInstance().removeAllContentTypeParsers();
  app.useBodyParser('application/json', { bodyLimit: MAX_BODY_BYTES });
  return app;
}
