import { listenHttpServer, type AppModule } from '@stackbench/server';
import type { Express } from 'express';
import { createServer } from 'node:http';
import { buildApp } from './app.js';

export { buildApp } from './app.js';

export const app: AppModule<Express> = {
  buildApp,
  listen: (instance, port, host) => listenHttpServer(createServer(instance), port, host),
};
