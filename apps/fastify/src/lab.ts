import { errorBodySchema, errors, idParamsSchema, JSON_CONTENT_TYPE } from '@stackbench/contract';
import {
  LAB_ALLOW,
  LAB_QUERY_SCHEMAS,
  LAB_RESPONSE_SCHEMAS,
  LAB_ROUTES,
  parseProductsQuery,
  productsQuerySchema,
  type Lab,
  type LabQuery,
  type LabReply,
  type LabRouteName,
} from '@stackbench/lab';
import type { FastifyError, FastifyPluginAsync, FastifyReply } from 'fastify';

/**
 * The payload lab's serializations here (package.json `labVariants.payload`): `schema`, the route's response schema
 * compiled by fast-json-stringify (Fastify's default), and `no-schema`, JSON.stringify. fast-json-stringify's
 * `largeArrayMechanism` only applies from `largeArraySize` items (default 20 000); a page has at most 1 000 rows, so
 * the default mechanism is what runs, and no option is set.
 */
export const PAYLOAD_VARIANTS = ['schema', 'no-schema'] as const;

const errorResponses = { '4xx': errorBodySchema, '5xx': errorBodySchema };
const NOT_GET = ['DELETE', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

type LabRoute = { Querystring: LabQuery; Params: { id?: string } };

function send(reply: FastifyReply, answer: LabReply): FastifyReply {
  void reply.code(answer.status).headers(answer.headers);
  return answer.body === undefined ? reply.send() : reply.send(answer.body);
}

/**
 * The lab's routes as an encapsulated plugin: querystring and response schemas on every route, its own error handler
 * for query strings (Ajv decides whether one is valid, with the lab's patterns; the lab's parser says what is wrong,
 * so the message is every stack's), the lab closed with the server. Other errors go up to the app's handler.
 */
export function labPlugin(lab: Lab): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onClose', () => lab.close());

    app.setErrorHandler((err: FastifyError, request) => {
      const name = (request.routeOptions.config as { labRoute?: LabRouteName }).labRoute;
      if (err.validationContext === 'querystring' && name) lab.parseQuery(name, request.query as LabQuery);
      throw err;
    });

    const querySchemas: Partial<Record<LabRouteName, object>> = { ...LAB_QUERY_SCHEMAS, products: productsQuerySchema(PAYLOAD_VARIANTS) };

    for (const { name, path } of LAB_ROUTES) {
      const schema = {
        ...(querySchemas[name] && { querystring: querySchemas[name] }),
        ...(name === 'cacheProduct' && { params: idParamsSchema }),
        response: { 200: LAB_RESPONSE_SCHEMAS[name], ...errorResponses },
      };
      if (name === 'products') {
        app.get<LabRoute>(path, { schema, config: { labRoute: name } }, async (request, reply) => {
          const query = parseProductsQuery(request.query, PAYLOAD_VARIANTS);
          const page = (await lab.products(query)).body;
          if (query.variant === 'no-schema') void reply.type(JSON_CONTENT_TYPE).serializer(JSON.stringify);
          return page;
        });
      } else {
        app.get<LabRoute>(path, { schema, config: { labRoute: name } }, async (request, reply) =>
          send(reply, await lab.handle(name, { query: request.query, id: request.params.id, ifNoneMatch: request.headers['if-none-match'] })),
        );
      }
      app.route({
        method: NOT_GET,
        url: path,
        handler: async () => {
          throw errors.methodNotAllowed(LAB_ALLOW);
        },
      });
    }
    // find-my-way lets `:id` match an empty segment; `/lab/cache/products/` is not a route.
    app.all('/lab/cache/products/', async (_request, reply) => reply.callNotFound());
  };
}
