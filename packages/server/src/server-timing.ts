import { formatServerTiming, SERVER_TIMING_HEADER } from '@stackbench/contract';
import { countRequests } from './instances.js';
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';

/**
 * `Server-Timing: app;dur=<ms>` on every response of every app: all five run on a node:http server, so one
 * 'request' listener placed before the framework's stamps the start, and the response's own `writeHead` adds the
 * header on the way out. `res.end()` without an explicit writeHead goes through `writeHead` too (node's implicit
 * headers), so frameworks that never call it are covered. Module-level functions: nothing is allocated per request
 * beyond the start stamp.
 */

const STARTED = Symbol('stackbench.serverTimingStart');

type TimedResponse = ServerResponse & { [STARTED]: number };

const originalWriteHead = ServerResponse.prototype.writeHead;

function timedWriteHead(this: TimedResponse, ...args: unknown[]): ServerResponse {
  if (!this.headersSent) this.setHeader(SERVER_TIMING_HEADER, formatServerTiming(performance.now() - this[STARTED]));
  return (originalWriteHead as (...a: unknown[]) => ServerResponse).apply(this, args);
}

function stampRequest(_req: IncomingMessage, res: ServerResponse): void {
  (res as TimedResponse)[STARTED] = performance.now();
  res.writeHead = timedWriteHead as ServerResponse['writeHead'];
}

/**
 * Adds Server-Timing to every response of `server`; call before it listens. Idempotent. Every app calls it on its
 * server, so the per-instance request count (instances.ts) is installed here too.
 */
export function addServerTiming(server: Server): void {
  countRequests(server);
  if (server.listeners('request').includes(stampRequest)) return;
  server.prependListener('request', stampRequest);
}
