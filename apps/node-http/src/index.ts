import { listenHttpServer, prepareHttpServer, type AppModule } from '@stackbench/server';
import type { Server } from 'node:http';
import { buildApp } from './app.js';

export { buildApp } from './app.js';

export const app: AppModule<Server> = {
  buildApp,
  listen(server, port, host, timeouts) {
    prepareHttpServer(server, timeouts);
    return listenHttpServer(server, port, host);
  },
};
