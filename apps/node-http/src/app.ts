import {
  allowedMethods,
  ApiError,
  errors,
  isJsonContentType,
  JSON_CONTENT_TYPE,
  matchRoutePath,
  MAX_BODY_BYTES,
  parseId,
  parseListQuery,
  parseOrderBody,
  ROUTES,
  type AppConfig,
  type AppDeps,
  type Store,
} from '@stackbench/contract';
import { createLab, LAB_ALLOW, matchLabRoute, type Lab, type LabReply } from '@stackbench/lab';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parse as parseQueryString } from 'node:querystring';

/**
 * The baseline: plain node:http, a hand-written dispatch table over the contract's route table, the contract's
 * parse functions for validation and JSON.stringify for serialization. Nothing runs per request that the contract
 * does not need: no middleware chain, no logging unless `config.logger`.
 */

type RouteName = (typeof ROUTES)[number]['name'];

/** A route handler: the matched `:id` segment (percent-decoded) or undefined, and the raw query string. */
type Handler = (
  store: Store,
  req: IncomingMessage,
  res: ServerResponse,
  id: string | undefined,
  query: string | undefined,
) => Promise<void>;

interface PathEntry {
  /** Handlers by method; HEAD falls back to GET. */
  handlers: Partial<Record<string, Handler>>;
  allow: string[];
}

const HEALTH_OK = JSON.stringify({ status: 'ok' });
const NO_QUERY: Record<string, undefined> = {};

function send(res: ServerResponse, status: number, body: string): void {
  // node:http leaves the body out of HEAD responses on its own; content-length is the GET body's, as it should be.
  res.writeHead(status, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: ServerResponse, err: ApiError): void {
  const body = JSON.stringify(err.toBody());
  const headers: Record<string, string | number> = {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
  };
  if (err.allow) headers['allow'] = err.allow.join(', ');
  // The rest of an oversized body is never read: close the connection rather than drain it (as Fastify does).
  if (err.status === 413) headers['connection'] = 'close';
  res.writeHead(err.status, headers);
  res.end(body);
}

/** `:id` is percent-decoded before validation; a malformed escape is a bad id. */
function decodeSegment(raw: string): string {
  if (raw.indexOf('%') === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.invalidField('id');
  }
}

// ---- request body -------------------------------------------------------------------------------------------------

const BODY = Symbol('stackbench.body');

interface BodyState {
  chunks: Buffer[];
  size: number;
  resolve(body: Buffer): void;
  reject(err: unknown): void;
}

type BodyRequest = IncomingMessage & { [BODY]?: BodyState };

// Listeners are module-level functions (`this` is the request), not per-request closures.
function onBodyData(this: BodyRequest, chunk: Buffer): void {
  const state = this[BODY]!;
  state.size += chunk.length;
  if (state.size > MAX_BODY_BYTES) {
    stopReading(this);
    state.reject(errors.payloadTooLarge());
    return;
  }
  state.chunks.push(chunk);
}

function onBodyEnd(this: BodyRequest): void {
  const state = this[BODY]!;
  stopReading(this);
  state.resolve(state.chunks.length === 1 ? state.chunks[0]! : Buffer.concat(state.chunks, state.size));
}

function onBodyError(this: BodyRequest, err: Error): void {
  const state = this[BODY]!;
  stopReading(this);
  state.reject(err);
}

function stopReading(req: BodyRequest): void {
  req.removeListener('data', onBodyData);
  req.removeListener('end', onBodyEnd);
  req.removeListener('error', onBodyError);
  // Keep an error listener: a client reset after we stopped listening must not become an uncaught error.
  req.on('error', ignore);
}

function ignore(): void {}

/** The whole body, at most MAX_BODY_BYTES: checked against content-length up front and again while streaming. */
function readBody(req: BodyRequest): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) return Promise.reject(errors.payloadTooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    req[BODY] = { chunks: [], size: 0, resolve, reject };
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('error', onBodyError);
  });
}

// ---- handlers -----------------------------------------------------------------------------------------------------

const health: Handler = async (store, _req, res) => {
  try {
    await store.ping();
  } catch {
    throw errors.unavailable();
  }
  send(res, 200, HEALTH_OK);
};

const list: Handler = async (store, _req, res, _id, query) => {
  const parsed = parseListQuery(query === undefined ? NO_QUERY : parseQueryString(query));
  send(res, 200, JSON.stringify(await store.listProducts(parsed)));
};

const product: Handler = async (store, _req, res, id) => {
  const productId = parseId(id);
  const found = await store.getProduct(productId);
  if (!found) throw errors.productNotFound(productId);
  send(res, 200, JSON.stringify(found));
};

const order: Handler = async (store, req, res) => {
  // 415 before reading anything.
  if (!isJsonContentType(req.headers['content-type'])) throw errors.unsupportedMediaType();
  const raw = await readBody(req);
  let text = raw.toString('utf8');
  // A UTF-8 byte order mark is not JSON, but Fastify's and Express's parsers skip it: so do we.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw errors.malformedJson();
  }
  const input = parseOrderBody(body);
  const result = await store.placeOrder(input);
  if (result.status === 'product_not_found') throw errors.productNotFound(input.productId);
  if (result.status === 'insufficient_stock') throw errors.insufficientStock(input.productId, result.available);
  send(res, 201, JSON.stringify(result.order));
};

const orderView: Handler = async (store, _req, res, id) => {
  const orderId = parseId(id);
  const found = await store.getOrder(orderId);
  if (!found) throw errors.orderNotFound(orderId);
  send(res, 200, JSON.stringify(found));
};

const HANDLERS: Record<RouteName, Handler> = { health, list, product, order, order_view: orderView };

/** Route pattern -> handlers by method, built once from the contract's route table. */
const PATHS = new Map<string, PathEntry>();
for (const route of ROUTES) {
  let entry = PATHS.get(route.path);
  if (!entry) {
    entry = { handlers: {}, allow: allowedMethods(route.path) };
    PATHS.set(route.path, entry);
  }
  entry.handlers[route.method] = HANDLERS[route.name];
}

// ---- lab routes ---------------------------------------------------------------------------------------------------

/** The payload lab's serializations here (package.json `labVariants.payload`): node:http has one, JSON.stringify. */
export const PAYLOAD_VARIANTS = ['json-stringify'] as const;

function sendLabReply(res: ServerResponse, reply: LabReply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status, reply.headers);
    res.end();
    return;
  }
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...reply.headers, 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The lab's part of the dispatch table: every lab route is a GET (HEAD alike) answered by `lab.handle`. */
async function dispatchLab(lab: Lab, pathname: string, req: IncomingMessage, res: ServerResponse, query: string | undefined): Promise<boolean> {
  const match = matchLabRoute(pathname);
  if (match === undefined) return false;
  const id = match.params.id === undefined ? undefined : decodeSegment(match.params.id);
  if (req.method !== 'GET' && req.method !== 'HEAD') throw errors.methodNotAllowed(LAB_ALLOW);
  const reply = await lab.handle(match.name, {
    query: query === undefined ? NO_QUERY : parseQueryString(query),
    id,
    ifNoneMatch: req.headers['if-none-match'],
  });
  sendLabReply(res, reply);
  return true;
}

// ---- dispatch -----------------------------------------------------------------------------------------------------

async function dispatch(store: Store, lab: Lab | null, req: IncomingMessage, res: ServerResponse, onError: ErrorLog | undefined): Promise<void> {
  try {
    const url = req.url ?? '/';
    // path[?query][#fragment]: clients do not send fragments, but Fastify and Express ignore one, so do we.
    let end = url.indexOf('#');
    if (end === -1) end = url.length;
    let q = url.indexOf('?');
    if (q > end) q = -1;
    const pathname = url.slice(0, q === -1 ? end : q);
    const match = matchRoutePath(pathname);
    if (match === undefined) {
      if (lab !== null && (await dispatchLab(lab, pathname, req, res, q === -1 ? undefined : url.slice(q + 1, end)))) return;
      throw errors.routeNotFound();
    }
    const entry = PATHS.get(match.pattern)!;
    // Decoding is part of matching (as in Express's router): a malformed escape is 400 whatever the method.
    const rawId = match.params.id;
    const id = rawId === undefined ? undefined : decodeSegment(rawId);
    const method = req.method ?? 'GET';
    const handler = entry.handlers[method] ?? (method === 'HEAD' ? entry.handlers.GET : undefined);
    if (handler === undefined) throw errors.methodNotAllowed(entry.allow);
    await handler(store, req, res, id, q === -1 ? undefined : url.slice(q + 1, end));
  } catch (err) {
    const apiError = err instanceof ApiError ? err : undefined;
    if (!apiError) onError?.(req, err);
    if (res.headersSent || req.socket.destroyed) {
      // A started response cannot become an error response: cut it short so the client sees the failure. (A client
      // that went away gets nothing.)
      if (!res.writableEnded) res.destroy();
      return;
    }
    sendError(res, apiError ?? errors.internal());
  }
}

type ErrorLog = (req: IncomingMessage, err: unknown) => void;

function logError(req: IncomingMessage, err: unknown): void {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${JSON.stringify({ level: 'error', method: req.method, url: req.url, err: message })}\n`);
}

/** One JSON line per response, only with `config.logger` (it costs throughput). */
function logRequests(server: Server): void {
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    res.once('finish', () => {
      const line = {
        level: 'info',
        method: req.method,
        url: req.url,
        statusCode: res.statusCode,
        responseTimeMs: Math.round((performance.now() - started) * 100) / 100,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    });
  });
}

const labs = new WeakMap<Server, Lab>();

/** Closes the lab of a server built with one (its cache connection, pool and upstream leases); idempotent. */
export async function closeLab(server: Server): Promise<void> {
  await labs.get(server)?.close();
}

/**
 * Builds the server without listening. The caller owns `deps.store` (and closes it). With `config.lab`, the lab
 * routes join the dispatch table and every route uses the lab's store (the cache mode's decorator of `deps.store`).
 */
export function buildApp(deps: AppDeps, config: AppConfig): Server {
  const lab = config.lab ? createLab(config.lab, deps.store, { payloadVariants: PAYLOAD_VARIANTS }) : null;
  const store = lab?.store ?? deps.store;
  const onError = config.logger ? logError : undefined;
  const server = createServer((req, res) => {
    void dispatch(store, lab, req, res, onError);
  });
  if (lab) labs.set(server, lab);
  if (config.logger) logRequests(server);
  return server;
}
