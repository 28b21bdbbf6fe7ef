import type { INestApplication } from '@nestjs/common';
import type { AppModule } from '@stackbench/server';
import { buildApp, type NestPlatform } from './app.js';

export { buildApp, NEST_PLATFORMS, type NestPlatform } from './app.js';
export { ApiModule } from './api.module.js';

async function listen(app: INestApplication, port: number, host: string) {
  await app.listen(port, host);
  const address = app.getHttpServer().address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`, close: () => app.close() };
}

function forPlatform(platform: NestPlatform): AppModule<INestApplication> {
  return { buildApp: (deps, config) => buildApp(deps, config, platform), listen };
}

export const nestExpress = forPlatform('express');
export const nestFastify = forPlatform('fastify');
