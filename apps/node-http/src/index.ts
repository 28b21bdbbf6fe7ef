import type { AppModule } from '@stackbench/server';
import type { Server } from 'node:http';
import { buildApp } from './app.js';

export { buildApp } from './app.js';

export const app: AppModule<Server> = {
  buildApp,
  async listen(server, port, host) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    return {
      url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
      close: () =>
        new Promise<void>((resolve, reject) => {
          // Stops accepting, lets in-flight requests finish, and drops idle keep-alive connections.
          server.close((err) => (err ? reject(err) : resolve()));
          server.closeIdleConnections();
        }),
    };
  },
};
