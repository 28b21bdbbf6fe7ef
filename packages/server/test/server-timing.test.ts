import { parseServerTiming } from '@stackbench/contract';
import { contractChecks, createCheckContext, send } from '@stackbench/contract/suite';
import { DEFAULT_DATABASE_TIMEOUTS, DEFAULT_HTTP_TIMEOUTS, addServerTiming, createStore, listenHttpServer, type AppModule } from '@stackbench/server';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { findApp, loadAppModule } from '@stackbench/bench/registry';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Every way a node:http response gets its headers written. */
function handler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  switch (req.url) {
    case '/implicit': // res.end() alone: node writes the headers itself
      res.statusCode = 404;
      res.end('gone');
      return;
    case '/object':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    case '/message':
      res.writeHead(202, 'Accepted Later', { 'x-kind': 'message' });
      res.end();
      return;
    case '/array':
      res.setHeader('x-before', '1');
      res.writeHead(201, ['x-raw', '2']);
      res.end();
      return;
    case '/slow':
      setTimeout(() => res.end('late'), 50);
      return;
    default:
      res.writeHead(500).end();
  }
}

describe('Server-Timing on a node:http server', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer(handler);
    addServerTiming(server);
    addServerTiming(server); // idempotent: still one header
    url = (await listenHttpServer(server, 0, '127.0.0.1')).url;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([
    ['/implicit', 404],
    ['/object', 200],
    ['/message', 202],
    ['/array', 201],
  ])('%s -> %i carries app;dur=N.NNN and keeps the other headers', async (path, status) => {
    const res = await send(url, { method: 'GET', path });
    expect(res.status).toBe(status);
    expect(res.headers['server-timing']).toMatch(/^app;dur=\d+\.\d{3}$/);
    if (path === '/array') expect([res.headers['x-before'], res.headers['x-raw']]).toEqual(['1', '2']);
    if (path === '/message') expect(res.headers['x-kind']).toBe('message');
  });

  it('measures from the request to the response headers', async () => {
    const res = await send(url, { method: 'GET', path: '/slow' });
    // The handler waited 50 ms before answering (timers never fire early by more than a millisecond).
    expect(parseServerTiming(res.headers['server-timing'])).toBeGreaterThanOrEqual(49);
  });
});

describe('the contract check for Server-Timing', () => {
  const check = contractChecks.find((c) => c.name.includes('Server-Timing'))!;
  let db: TestDatabase;
  let app: AppModule;
  beforeAll(async () => {
    db = await createTestDatabase('server_timing');
    app = await loadAppModule(findApp('node-http'));
  });
  afterAll(() => db?.drop());

  async function withApp(timed: boolean, fn: (url: string) => Promise<void>): Promise<void> {
    const store = await createStore('pg', { databaseUrl: db.url, conn: 'pool', poolSize: 2, timeouts: DEFAULT_DATABASE_TIMEOUTS });
    const built = (await app.buildApp({ store }, { logger: false, http: DEFAULT_HTTP_TIMEOUTS })) as Server;
    const running = timed ? await app.listen(built, 0, '127.0.0.1', DEFAULT_HTTP_TIMEOUTS) : await listenHttpServer(built, 0, '127.0.0.1');
    try {
      await fn(running.url);
    } finally {
      await running.close();
      await store.close();
    }
  }

  it('passes on the app as it listens', () => withApp(true, (url) => check.run(createCheckContext(url))));

  it('fails on the same app listening without it', () =>
    withApp(false, async (url) => {
      await expect(check.run(createCheckContext(url))).rejects.toThrow(/Server-Timing is undefined/);
    }));
});
