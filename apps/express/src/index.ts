import { listenHttpServer, prepareHttpServer, type AppModule } from '@stackbench/server';
import type { RunningServer } from '@stackbench/contract';
import type { Express } from 'express';
import { createServer } from 'node:http';
import { buildApp, closeLab } from './app.js';

export { buildApp } from './app.js';
export { PAYLOAD_VARIANTS } from './lab.js';

export const app: AppModule<Express> = {
  buildApp,
  async listen(instance, port, host, timeouts) {
    const server = createServer(instance);
    prepareHttpServer(server, timeouts);
    let running: RunningServer;
    try {
      running = await listenHttpServer(server, port, host);
    } catch (err) {
      await closeLab(instance);
      throw err;
    }
    return {
      url: running.url,
      close: async () => {
        await running.close();
        await closeLab(instance);
      },
    };
  },
};
