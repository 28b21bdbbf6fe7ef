import { listenHttpServer, prepareHttpServer, type AppModule } from '@stackbench/server';
import type { RunningServer } from '@stackbench/contract';
import type { Server } from 'node:http';
import { buildApp, closeLab } from './app.js';

export { buildApp, PAYLOAD_VARIANTS } from './app.js';

export const app: AppModule<Server> = {
  buildApp,
  async listen(server, port, host, timeouts) {
    prepareHttpServer(server, timeouts);
    let running: RunningServer;
    try {
      running = await listenHttpServer(server, port, host);
    } catch (err) {
      await closeLab(server);
      throw err;
    }
    return {
      url: running.url,
      close: async () => {
        await running.close();
        await closeLab(server);
      },
    };
  },
};
