import { listenHttpServer, type AppModule } from '@stackbench/server';
import type { Server } from 'node:http';
import { buildApp } from './app.js';

export { buildApp } from './app.js';

export const app: AppModule<Server> = {
  buildApp,
  listen: listenHttpServer,
};
