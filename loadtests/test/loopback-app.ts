/**
 * A real HTTP server on loopback with the four commerce routes the journey uses, answering contract-shaped JSON
 * (compact, in the apps' key order) and a `Server-Timing: app;dur=N.NNN` header, with fault injection. It records
 * every request on its own clock so that tests can check what a load engine counted against what the server saw.
 * A test double for the engines, not an app: no validation beyond what the journey needs.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { formatServerTiming, seededPriceCents, seededProductName, type Order, type Product } from '@stackbench/contract';
import type { RequestName } from '../src/index.js';

export const PRODUCT_COUNT = 200;

/** What the server does with one request instead of (or before) answering it normally. */
export interface Fault {
  /** Answer this late (ms, on a timer: the server keeps serving other connections meanwhile). */
  delayMs?: number;
  /** Answer with this status and an error body. */
  status?: number;
  /** Destroy the connection without a response. */
  destroy?: boolean;
  /** Never answer. */
  hang?: boolean;
}

export interface LoopbackAppOptions {
  /** The fault for the `n`-th request (1-based) of an endpoint, or undefined for a normal answer. */
  fault?: (name: RequestName, n: number) => Fault | undefined;
  /** The `app;dur` every response reports, ms (false: no Server-Timing header at all). */
  serverTimingMs?: number | false;
  /** The clock of the request records, epoch ms: Date.now for k6 (which stamps with Date.now), else the driver's. */
  clock?: () => number;
}

export interface RequestRecord {
  name: RequestName | 'other';
  receivedAt: number;
  /** When the response was handed to the socket (null: no response, e.g. destroyed or hanging). */
  finishedAt: number | null;
  status: number | null;
  contentType: string | undefined;
  /** The fault applied to it, and when (a destroyed connection or a hang has no finishedAt). */
  fault?: 'status' | 'destroy' | 'hang';
  faultAt?: number;
}

export interface LoopbackApp {
  url: string;
  port: number;
  records: RequestRecord[];
  /** Requests received per endpoint (including those answered with a fault). */
  counts: Record<RequestName | 'other', number>;
  /** Faults applied, by kind. */
  faults: { status: number; destroy: number; hang: number; delay: number };
  orders: Map<number, { productId: number; quantity: number }>;
  /** TCP connections accepted so far, and open now. */
  connectionsAccepted(): number;
  openConnections(): number;
  /** Responses of `name` (all endpoints if omitted) handed to the socket at `from` <= t < `to`. */
  finishedBetween(from: number, to: number, name?: RequestName): number;
  /** Faults of a kind applied at `from` <= t < `to`. */
  faultsBetween(kind: 'status' | 'destroy' | 'hang', from: number, to: number): number;
  close(): Promise<void>;
}

const ROUTES: Array<[RequestName, string, RegExp]> = [
  ['list', 'GET', /^\/products$/],
  ['product', 'GET', /^\/products\/(\d+)$/],
  ['order', 'POST', /^\/orders$/],
  ['order_view', 'GET', /^\/orders\/(\d+)$/],
];

function product(id: number): Product {
  return { id, name: seededProductName(id), priceCents: seededPriceCents(id), stock: 1_000_000_000, sold: 0 };
}

export async function startLoopbackApp(options: LoopbackAppOptions = {}): Promise<LoopbackApp> {
  const clock = options.clock ?? (() => performance.timeOrigin + performance.now());
  const records: RequestRecord[] = [];
  const counts = { list: 0, product: 0, order: 0, order_view: 0, other: 0 };
  const faults = { status: 0, destroy: 0, hang: 0, delay: 0 };
  const orders = new Map<number, { productId: number; quantity: number }>();
  const orderRows = new Map<number, Order>();
  const sockets = new Set<Socket>();
  let accepted = 0;

  const answer = (res: ServerResponse, record: RequestRecord, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
    if (options.serverTimingMs !== false) headers['server-timing'] = formatServerTiming(options.serverTimingMs ?? 2.5);
    res.writeHead(status, headers);
    res.on('finish', () => {
      record.finishedAt = clock();
      record.status = status;
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse, record: RequestRecord, url: URL, match: RegExpExecArray | null, body: string) => {
    switch (record.name) {
      case 'list': {
        const limit = Number(url.searchParams.get('limit') ?? 20);
        const after = Number(url.searchParams.get('after') ?? 0);
        const items: Product[] = [];
        for (let id = after + 1; id <= Math.min(after + limit, PRODUCT_COUNT); id++) items.push(product(id));
        const last = items[items.length - 1];
        return answer(res, record, 200, { items, nextAfter: last && last.id < PRODUCT_COUNT ? last.id : null });
      }
      case 'product':
        return answer(res, record, 200, product(Number(match![1])));
      case 'order': {
        const input = JSON.parse(body) as { productId: number; quantity: number };
        const id = orders.size + 1;
        orders.set(id, input);
        const price = seededPriceCents(input.productId);
        const order: Order = {
          id,
          productId: input.productId,
          quantity: input.quantity,
          unitPriceCents: price,
          totalCents: price * input.quantity,
          createdAt: new Date().toISOString(),
        };
        orderRows.set(id, order);
        return answer(res, record, 201, order);
      }
      case 'order_view': {
        const order = orderRows.get(Number(match![1]));
        return order ? answer(res, record, 200, order) : answer(res, record, 404, { error: { code: 'not_found', message: 'order not found' } });
      }
      default:
        return answer(res, record, 404, { error: { code: 'not_found', message: `no route ${req.method} ${url.pathname}` } });
    }
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    let match: RegExpExecArray | null = null;
    let name: RequestName | 'other' = 'other';
    for (const [routeName, method, re] of ROUTES) {
      const m = req.method === method ? re.exec(url.pathname) : null;
      if (m) {
        match = m;
        name = routeName;
        break;
      }
    }
    counts[name]++;
    const record: RequestRecord = { name, receivedAt: clock(), finishedAt: null, status: null, contentType: req.headers['content-type'] };
    records.push(record);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const fault = name === 'other' ? undefined : options.fault?.(name, counts[name]);
      if (fault?.hang) {
        faults.hang++;
        Object.assign(record, { fault: 'hang', faultAt: clock() });
        return;
      }
      if (fault?.destroy) {
        faults.destroy++;
        Object.assign(record, { fault: 'destroy', faultAt: clock() });
        req.socket.destroy();
        return;
      }
      const respond = () => {
        if (fault?.status) {
          faults.status++;
          Object.assign(record, { fault: 'status', faultAt: clock() });
          return answer(res, record, fault.status, { error: { code: 'internal', message: 'injected fault' } });
        }
        handle(req, res, record, url, match, Buffer.concat(chunks).toString('utf8'));
      };
      if (fault?.delayMs) {
        faults.delay++;
        setTimeout(respond, fault.delayMs);
      } else respond();
    });
  });
  server.on('connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    records,
    counts,
    faults,
    orders,
    connectionsAccepted: () => accepted,
    openConnections: () => sockets.size,
    finishedBetween(from, to, name) {
      return records.filter((r) => r.finishedAt !== null && r.finishedAt >= from && r.finishedAt < to && (name === undefined || r.name === name)).length;
    },
    faultsBetween(kind, from, to) {
      return records.filter((r) => r.fault === kind && r.faultAt! >= from && r.faultAt! < to).length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls `condition` every 10 ms until it holds (true) or `limitMs` passed (false): for effects that follow an event. */
export async function eventually(condition: () => boolean, limitMs = 5_000): Promise<boolean> {
  const until = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
