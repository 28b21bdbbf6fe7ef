import { errors } from '@stackbench/contract';
import { LAB_ALLOW, LAB_ROUTES, type Lab, type LabReply, type LabRouteName } from '@stackbench/lab';
import express, { type RequestHandler, type Response } from 'express';

/** The payload lab's serializations here (package.json `labVariants.payload`): Express has one, res.json. */
export const PAYLOAD_VARIANTS = ['res-json'] as const;

function send(res: Response, reply: LabReply): void {
  res.status(reply.status).set(reply.headers);
  if (reply.body === undefined) res.end();
  else res.json(reply.body);
}

function handler(lab: Lab, name: LabRouteName): RequestHandler<{ id?: string }> {
  // Express's "simple" query parser gives strings, and arrays for repeated parameters: what the lab's parsers take.
  return async (req, res) => {
    send(res, await lab.handle(name, { query: req.query, id: req.params.id, ifNoneMatch: req.get('if-none-match') }));
  };
}

/** The lab's routes as a Router of their own, mounted beside the API's; another method on a lab path is 405. */
export function labRouter(lab: Lab): express.Router {
  const router = express.Router({ strict: true, caseSensitive: true });
  const notAllowed = errors.methodNotAllowed(LAB_ALLOW);
  for (const route of LAB_ROUTES) {
    router
      .route(route.path)
      .get(handler(lab, route.name))
      .all((_req, _res, next) => next(notAllowed));
  }
  return router;
}
