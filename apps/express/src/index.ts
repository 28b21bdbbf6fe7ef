import { listenHttpServer, prepareHttpServer, type AppModule } from '@stackbench/server';
import type { Express } from 'express';
import { createServer } from 'node:http';
import { buildApp } from './app.js';

export { buildApp } from './app.js';

export const app: AppModule<Express> = {
  buildApp,
  listen(instance, port, host, timeouts) {
    const server = createServer(instance);
    prepareHttpServer(server, timeouts);
    return listenHttpServer(server, port, host);
  },
};
