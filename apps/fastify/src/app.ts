import {
  allowedMethods,
  isJsonContentType,
  matchRoutePath,
  errors,
  errorBodySchema,
  healthSchema,
  idParamsSchema,
  listQuerySchema,
  MAX_BODY_BYTES,
  orderSchema,
  placeOrderBodySchema,
  productPageSchema,
  productSchema,
  ROUTES,
  type AppConfig,
  type AppDeps,
  type ListProductsQuery,
  type PlaceOrderInput,
  type Store,
} from '@stackbench/contract';
import { createLab, matchLabRoute } from '@stackbench/lab';
import { fastifyTimeoutOptions } from '@stackbench/server';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type FastifyReply } from 'fastify';
import { registerErrorHandling } from './errors.js';
import { labPlugin, PAYLOAD_VARIANTS } from './lab.js';

declare module 'fastify' {
  interface FastifyInstance {
    store: Store;
  }
}

/** The store as a decorator, closed with the server. */
function storePlugin(store: Store): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    app.decorate('store', store);
    app.addHook('onClose', async () => store.close());
  };
  // Skip encapsulation so routes registered beside the plugin see `app.store`.
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}

const OTHER_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;

/** Fastify answers 404 for a known path with another method; the contract wants 405 with `Allow`. */
function registerMethodNotAllowed(app: FastifyInstance): void {
  // find-my-way lets `/products/:id` match an empty id (`/products/`); the contract says that path does not exist.
  for (const prefix of ['/products/', '/orders/']) {
    app.all(prefix, async (_request, reply) => reply.callNotFound());
  }
  for (const path of new Set(ROUTES.map((r) => r.path))) {
    const allow = allowedMethods(path);
    const served = allow.includes('GET') ? [...allow, 'HEAD'] : allow;
    const others = OTHER_METHODS.filter((m) => !served.includes(m));
    app.route({
      method: others,
      url: path,
      handler: async () => {
        throw errors.methodNotAllowed(allow);
      },
    });
  }
}

const errorResponses = { '4xx': errorBodySchema, '5xx': errorBodySchema };

/**
 * With `config.lab`, the lab plugin is registered too and every route uses the lab's store (the cache mode's
 * decorator of `deps.store`).
 */
export function buildApp(deps: AppDeps, config: AppConfig): FastifyInstance {
  const lab = config.lab ? createLab(config.lab, deps.store, { payloadVariants: PAYLOAD_VARIANTS }) : null;
  const app = Fastify({
    logger: config.logger,
    bodyLimit: MAX_BODY_BYTES,
    // requestTimeout, keepAliveTimeout, connectionTimeout and node:http's headersTimeout, all explicit.
    ...fastifyTimeoutOptions(config.http),
    // Strict: never coerce "5" into 5, never silently drop unknown body fields.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // The router rejects undecodable (`/products/%ZZ`) or over-long path segments before any route runs: on an
    // id route that is a bad id, in the contract's words; elsewhere the route does not exist.
    frameworkErrors: (_err, request, reply: FastifyReply) => {
      const pathname = request.url.split('?')[0]!;
      const idRoute = matchRoutePath(pathname)?.params.id !== undefined || (lab !== null && matchLabRoute(pathname)?.params.id !== undefined);
      const apiError = idRoute ? errors.invalidField('id') : errors.routeNotFound();
      void reply.code(apiError.status).send(apiError.toBody());
    },
    // `__proto__`/`constructor` keys stay plain own properties (JSON.parse never pollutes prototypes), so the
    // body schema reports them as unknown fields, like every other stack.
    onProtoPoisoning: 'ignore',
    onConstructorPoisoning: 'ignore',
  });
  // Only JSON bodies: drop the built-in text/plain parser so other media types get 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, app.getDefaultJsonParser('ignore', 'ignore'));

  app.register(storePlugin(lab?.store ?? deps.store));
  registerErrorHandling(app);
  registerMethodNotAllowed(app);
  if (lab) app.register(labPlugin(lab));

  app.get('/health', { schema: { response: { 200: healthSchema, ...errorResponses } } }, async (_request, reply) => {
    try {
      await app.store.ping();
    } catch {
      const err = errors.unavailable();
      return reply.code(err.status).send(err.toBody());
    }
    return { status: 'ok' };
  });

  app.get<{ Querystring: { limit?: string; after?: string } }>(
    '/products',
    { schema: { querystring: listQuerySchema, response: { 200: productPageSchema, ...errorResponses } } },
    async (request) => {
      const query: ListProductsQuery = {
        limit: request.query.limit === undefined ? 20 : Number(request.query.limit),
        after: request.query.after === undefined ? 0 : Number(request.query.after),
      };
      return app.store.listProducts(query);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/products/:id',
    { schema: { params: idParamsSchema, response: { 200: productSchema, ...errorResponses } } },
    async (request) => {
      const id = Number(request.params.id);
      const product = await app.store.getProduct(id);
      if (!product) throw errors.productNotFound(id);
      return product;
    },
  );

  app.post<{ Body: PlaceOrderInput }>(
    '/orders',
    {
      schema: { body: placeOrderBodySchema, response: { 201: orderSchema, ...errorResponses } },
      // Fastify only consults content-type parsers when a body is present; the contract wants 415 either way.
      onRequest: async (request) => {
        if (!isJsonContentType(request.headers['content-type'])) throw errors.unsupportedMediaType();
      },
    },
    async (request, reply) => {
      const result = await app.store.placeOrder(request.body);
      if (result.status === 'product_not_found') throw errors.productNotFound(request.body.productId);
      if (result.status === 'insufficient_stock') throw errors.insufficientStock(request.body.productId, result.available);
      return reply.code(201).send(result.order);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/orders/:id',
    { schema: { params: idParamsSchema, response: { 200: orderSchema, ...errorResponses } } },
    async (request) => {
      const id = Number(request.params.id);
      const order = await app.store.getOrder(id);
      if (!order) throw errors.orderNotFound(id);
      return order;
    },
  );

  return app;
}
