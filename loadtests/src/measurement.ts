/**
 * What one load step measures: ONE definition, shared by both engines (the embedded driver and k6), the
 * orchestrator, results.json (its JSON Schema is generated from these) and the report.
 *
 * Written with TypeBox so that the TypeScript types and the JSON Schema come from the same lines. Type-only
 * imports of this module are erased, so the k6 bundle never carries TypeBox.
 *
 * The rules every engine follows (the README's method section says the same):
 * - a step is `warmupSeconds` of unrecorded load, then a measured window of fixed length `seconds`;
 * - a request belongs to the step when its response COMPLETES inside the window (requests still in flight at the
 *   end are left out, requests started during the warm-up that complete inside are counted);
 * - rps = those completions / the window's length;
 * - latency = from handing the request to the connection until its last byte was read, connection set-up included
 *   when the request had to open one (k6: timings.blocked + connecting + duration); a timeout counts at its elapsed
 *   time; a connection error has no latency;
 * - open model only: the first request of a journey is timed from its *intended* start (the arrival schedule), so a
 *   stalled server is not hidden by arrivals that waited (coordinated omission); journeys the engine could not
 *   start at all are `dropped` errors.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LOAD_MODELS } from './core/plan.js';
import { ERROR_KINDS, type ErrorKind } from './core/scenario.js';
import { LATENCY_STATS } from './core/threshold.js';

const nonNegative = (description?: string) => Type.Number({ minimum: 0, ...(description ? { description } : {}) });
const count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });

export const LatencySchema = Type.Object(
  { avg: nonNegative(), p50: nonNegative(), p90: nonNegative(), p95: nonNegative(), p99: nonNegative(), max: nonNegative() },
  { title: 'Latency', description: 'Milliseconds (recorded at microsecond precision).' },
);
export type Latency = Static<typeof LatencySchema>;
export const EMPTY_LATENCY: Readonly<Latency> = Object.freeze({ avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 });

/** Why a request counts as an error, as results.json documents it (the kinds themselves: core/scenario.ts). */
const ERROR_KIND_DESCRIPTIONS: Record<ErrorKind, string> = {
  status: 'unexpected status code',
  body: 'right status, unusable body (an app bug, never a load effect)',
  timeout: 'no complete response within the request timeout',
  connection: 'refused, reset or closed before the response',
  dropped: 'open model: journeys the engine could not start (no free connection)',
};
function perKind<T>(value: (kind: ErrorKind) => T): Record<ErrorKind, T> {
  const out = {} as Record<ErrorKind, T>;
  for (const kind of ERROR_KINDS) out[kind] = value(kind);
  return out;
}
export const ErrorsByKindSchema = Type.Object(perKind((kind) => count(ERROR_KIND_DESCRIPTIONS[kind])), { title: 'ErrorsByKind' });
export type ErrorsByKind = Record<ErrorKind, number>;
export function emptyErrorsByKind(): ErrorsByKind {
  return perKind(() => 0);
}

export const EndpointFiguresSchema = Type.Object(
  { requests: count(), errors: count(), latencyMs: LatencySchema },
  { title: 'EndpointFigures' },
);
export type EndpointFigures = Static<typeof EndpointFiguresSchema>;

export const ENGINE_NAMES = ['node', 'k6'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export const DriverUsageSchema = Type.Object(
  {
    engine: Type.Union(ENGINE_NAMES.map((e) => Type.Literal(e))),
    cpuPct: nonNegative('CPU of the load generator over the measured window, % of one core'),
    parallelism: nonNegative('cores the engine can use at most: 1 for the single-threaded embedded driver, its CPUs for k6'),
    eventLoopDelayP99Ms: Type.Union([nonNegative(), Type.Null()], { description: 'the embedded driver only' }),
  },
  { title: 'DriverUsage' },
);
export type DriverUsage = Static<typeof DriverUsageSchema>;

export const StepMeasurementSchema = Type.Object(
  {
    model: Type.Union(LOAD_MODELS.map((m) => Type.Literal(m))),
    load: Type.Number({ exclusiveMinimum: 0, description: 'closed: virtual users; open: offered journeys per second' }),
    seconds: Type.Number({ exclusiveMinimum: 0, description: 'length of the measured window' }),
    requests: count('responses completed inside the window, plus (open model) journeys dropped in it: the error rate\'s denominator'),
    rps: nonNegative('completed responses (dropped journeys excluded) / seconds'),
    errors: count(),
    errorRate: Type.Number({ minimum: 0, maximum: 1 }),
    errorsByKind: ErrorsByKindSchema,
    latencyMs: LatencySchema,
    serverMs: Type.Union([LatencySchema, Type.Null()], {
      description: 'the apps\' own Server-Timing `app;dur` of the same requests (null when no response carried it)',
    }),
    endpoints: Type.Record(Type.String(), EndpointFiguresSchema),
    driver: DriverUsageSchema,
    maxRequestsReached: Type.Boolean({ description: 'the step stopped at its request cap, not its duration' }),
    errorSamples: Type.Array(Type.String(), { maxItems: 5 }),
  },
  { title: 'StepMeasurement' },
);
export type StepMeasurement = Static<typeof StepMeasurementSchema>;

/** A step's pass criterion as results.json records it (parsed once from the CLI's text by core/threshold.ts). */
export const ThresholdSchema = Type.Object(
  {
    text: Type.String({ description: 'as given, normalized: e.g. "p95<100" or "avg<50,p99<=250"' }),
    latency: Type.Array(
      Type.Object({
        stat: Type.Union(LATENCY_STATS.map((s) => Type.Literal(s))),
        op: Type.Union([Type.Literal('<'), Type.Literal('<=')]),
        limitMs: Type.Number({ exclusiveMinimum: 0 }),
      }),
      { minItems: 1 },
    ),
    errorRate: Type.Object({ op: Type.Union([Type.Literal('<'), Type.Literal('<=')]), limit: Type.Number({ minimum: 0, maximum: 1 }) }),
  },
  { title: 'Threshold' },
);

/** Every schema above, for building the results.json schema's `$defs`. */
export const MEASUREMENT_SCHEMAS = [LatencySchema, ErrorsByKindSchema, EndpointFiguresSchema, DriverUsageSchema, StepMeasurementSchema, ThresholdSchema];
