import type { INestApplication } from '@nestjs/common';
import type { AppConfig, AppDeps } from '@stackbench/contract';

export type NestPlatform = 'express' | 'fastify';
export const NEST_PLATFORMS: readonly NestPlatform[] = ['express', 'fastify'];

/**
 * Builds and initializes the Nest application on the chosen platform, without listening. Each platform's module
 * is loaded on demand, so an Express process never loads Fastify (and the other way round).
 */
export async function buildApp(deps: AppDeps, config: AppConfig, platform: NestPlatform): Promise<INestApplication> {
  const app =
    platform === 'express'
      ? await (await import('./platform-express.js')).createExpressApp(deps, config)
      : await (await import('./platform-fastify.js')).createFastifyApp(deps, config);
  await app.init();
  return app;
}
