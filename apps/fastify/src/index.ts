import { addServerTiming, listeningUrl, type AppModule } from '@stackbench/server';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';

export { buildApp } from './app.js';
export { PAYLOAD_VARIANTS } from './lab.js';

export const app: AppModule<FastifyInstance> = {
  buildApp,
  // The timeouts are Fastify options, set when buildApp created the instance.
  async listen(instance, port, host) {
    addServerTiming(instance.server);
    await instance.listen({ port, host });
    return { url: listeningUrl(instance.server, host, port), close: () => instance.close() };
  },
};
