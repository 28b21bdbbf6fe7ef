import {
  allowedMethods,
  errors,
  isJsonContentType,
  MAX_BODY_BYTES,
  parseId,
  parseListQuery,
  parseOrderBody,
  type AppConfig,
  type AppDeps,
  type PlaceOrderInput,
  type Store,
} from '@stackbench/contract';
import { createLab, type Lab } from '@stackbench/lab';
import express, { type Express, type Request, type RequestHandler } from 'express';
import { errorHandler, notFound } from './errors.js';
import { labRouter, PAYLOAD_VARIANTS } from './lab.js';

/**
 * Express 5 done the Express way: the app's own Router, validation as route middleware (the contract's parse
 * functions), `express.json()` for bodies, one error-handling middleware, `res.status().json()`.
 *
 * Express defaults kept: `etag` ("weak", so every body gets an ETag and a matching If-None-Match is a 304),
 * `query parser` ("simple": node:querystring, a repeated parameter becomes an array), `trust proxy` (off),
 * `env`/`json spaces`/`json replacer` (none), express.json's `inflate` (gzip/deflate/br bodies are decompressed)
 * and its charset check (a non-UTF charset is 415). Changed: `x-powered-by` off; `strict routing` and
 * `case sensitive routing` on, because the contract's paths are exact (`/products/` and `/Products` are 404).
 */

/** What the validation middleware leaves for the handlers. */
interface Locals {
  id: number;
  order: PlaceOrderInput;
}

/** A handler that knows what the validation middleware put in `res.locals`. */
type Handler = RequestHandler<Record<string, string>, unknown, unknown, Request['query'], Locals>;

// ---- validation middleware -----------------------------------------------------------------------------------------

const validateId: Handler = (req, res, next) => {
  // Express's router has already percent-decoded the param; a malformed escape never gets here (see errors.ts).
  res.locals.id = parseId(req.params.id);
  next();
};

/** express.json() skips other media types instead of refusing them: the contract wants 415, before any read. */
const requireJson: Handler = (req, _res, next) => {
  if (!isJsonContentType(req.headers['content-type'])) throw errors.unsupportedMediaType();
  next();
};

const jsonBody = express.json({
  limit: MAX_BODY_BYTES,
  // Any JSON value, not only objects and arrays: `42` or `null` must reach validation ("body must be a JSON object"),
  // not fail as a parse error.
  strict: false,
  // express.json() turns an empty body into `{}`; the contract says an empty body is not valid JSON.
  verify: (_req, _res, buf) => {
    if (buf.length === 0) throw errors.malformedJson();
  },
});

const validateOrder: Handler = (req, res, next) => {
  // No body at all (neither content-length nor transfer-encoding): express.json() leaves req.body undefined.
  if (req.body === undefined) throw errors.malformedJson();
  res.locals.order = parseOrderBody(req.body);
  next();
};

// ---- handlers ------------------------------------------------------------------------------------------------------

type HandlerName = 'health' | 'listProducts' | 'getProduct' | 'placeOrder' | 'getOrder';

function handlers(store: Store): Record<HandlerName, Handler> {
  return {
    health: async (_req, res) => {
      try {
        await store.ping();
      } catch {
        throw errors.unavailable();
      }
      res.json({ status: 'ok' });
    },

    listProducts: async (req, res) => {
      // Express's "simple" query parser (node:querystring) gives strings, and arrays for repeated parameters.
      const query = parseListQuery(req.query as Record<string, string | string[] | undefined>);
      res.json(await store.listProducts(query));
    },

    getProduct: async (_req, res) => {
      const id = res.locals.id;
      const product = await store.getProduct(id);
      if (!product) throw errors.productNotFound(id);
      res.json(product);
    },

    placeOrder: async (_req, res) => {
      const input = res.locals.order;
      const result = await store.placeOrder(input);
      if (result.status === 'product_not_found') throw errors.productNotFound(input.productId);
      if (result.status === 'insufficient_stock') throw errors.insufficientStock(input.productId, result.available);
      res.status(201).json(result.order);
    },

    getOrder: async (_req, res) => {
      const id = res.locals.id;
      const order = await store.getOrder(id);
      if (!order) throw errors.orderNotFound(id);
      res.json(order);
    },
  };
}

/** The `.all()` at the end of each route: any method the route did not take is 405 with `Allow`. */
function methodNotAllowed(path: string): RequestHandler {
  const error = errors.methodNotAllowed(allowedMethods(path));
  return (_req, _res, next) => next(error);
}

function routes(store: Store): express.Router {
  const h = handlers(store);
  const router = express.Router({ strict: true, caseSensitive: true });
  router.route('/health').get(h.health).all(methodNotAllowed('/health'));
  router.route('/products').get(h.listProducts).all(methodNotAllowed('/products'));
  router.route('/products/:id').get(validateId, h.getProduct).all(methodNotAllowed('/products/:id'));
  router.route('/orders').post(requireJson, jsonBody, validateOrder, h.placeOrder).all(methodNotAllowed('/orders'));
  router.route('/orders/:id').get(validateId, h.getOrder).all(methodNotAllowed('/orders/:id'));
  return router;
}

/** One JSON line per response, only with `config.logger` (it costs throughput). */
const logRequests: RequestHandler = (req, res, next) => {
  const started = performance.now();
  res.once('finish', () => {
    const line = {
      level: 'info',
      method: req.method,
      url: req.originalUrl,
      statusCode: res.statusCode,
      responseTimeMs: Math.round((performance.now() - started) * 100) / 100,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  });
  next();
};

const labs = new WeakMap<Express, Lab>();

/** Closes the lab of an app built with one (its cache connection, pool and upstream leases); idempotent. */
export async function closeLab(app: Express): Promise<void> {
  await labs.get(app)?.close();
}

/**
 * Builds the Express app without listening. The caller owns `deps.store` (and closes it). With `config.lab`, the lab's
 * Router is mounted too and every route uses the lab's store (the cache mode's decorator of `deps.store`).
 */
export function buildApp(deps: AppDeps, config: AppConfig): Express {
  const app = express();
  app.disable('x-powered-by');
  app.enable('strict routing');
  app.enable('case sensitive routing');
  const lab = config.lab ? createLab(config.lab, deps.store, { payloadVariants: PAYLOAD_VARIANTS }) : null;
  if (config.logger) app.use(logRequests);
  app.use(routes(lab?.store ?? deps.store));
  if (lab) {
    labs.set(app, lab);
    app.use(labRouter(lab));
  }
  app.use(notFound);
  app.use(errorHandler(config.logger));
  return app;
}
