import type { INestApplication } from '@nestjs/common';
import type { HttpTimeouts } from '@stackbench/contract';
import { addServerTiming, listeningUrl, prepareHttpServer, type AppModule } from '@stackbench/server';
import type { Server } from 'node:http';
import { buildApp, type NestPlatform } from './app.js';

export { buildApp, NEST_PLATFORMS, type NestPlatform } from './app.js';
export { ApiModule } from './api.module.js';
export { PAYLOAD_VARIANTS } from './lab-payload.js';

function forPlatform(platform: NestPlatform): AppModule<INestApplication> {
  return {
    buildApp: (deps, config) => buildApp(deps, config, platform),
    async listen(app: INestApplication, port: number, host: string, timeouts: HttpTimeouts) {
      const server = app.getHttpServer() as Server;
      // On Fastify the timeouts are FastifyAdapter options (see platform-fastify.ts); Express's server gets them here.
      if (platform === 'express') prepareHttpServer(server, timeouts);
      else addServerTiming(server);
      await app.listen(port, host);
      return { url: listeningUrl(server, host, port), close: () => app.close() };
    },
  };
}

export const nestExpress = forPlatform('express');
export const nestFastify = forPlatform('fastify');
