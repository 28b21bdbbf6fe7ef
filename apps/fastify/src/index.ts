import type { AppModule } from '@stackbench/server';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';

export { buildApp } from './app.js';

export const app: AppModule<FastifyInstance> = {
  buildApp,
  async listen(instance, port, host) {
    await instance.listen({ port, host });
    const address = instance.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`, close: () => instance.close() };
  },
};
