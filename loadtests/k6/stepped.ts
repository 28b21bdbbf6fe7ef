/**
 * stackbench's stepped load test for k6 (>= 0.45, bundled by scripts/build-k6.mjs to dist/k6/stepped.js).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:3000 -e PROFILE=quick dist/k6/stepped.js
 *
 * Runs the shared user journey (../src/core/scenario.ts) step by step (see ./plan.ts for the environment variables)
 * and writes the per-step figures as JSON to SUMMARY_PATH (see ./summary.ts). The same window rule and latency
 * definition as the embedded driver: a request counts when its response completes inside the step's measured
 * window; its latency is k6's blocked + connecting + duration (connection set-up included when it happens).
 *
 * Across several k6 processes (k6-operator, `--execution-segment`), each one only sees its share, so its summary
 * and thresholds decide nothing: run them with ABORT_ON_FAIL=false and `--out json=FILE`, then
 * `stackbench k6 merge FILE...` (../src/k6/merge.ts) judges every step from all runners' raw samples. The window
 * marker each VU writes on entering a step carries the run's identity and this runner's segment for that merge.
 */
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import type { RefinedParams, ResponseType } from 'k6/http';
import { appDurationMs } from '@stackbench/contract';
import { createJourney, endpointOf, resolveScenario, type JourneyLog, type ScenarioRequest, type ScenarioResponse, type UserState } from '../src/core/index.js';
import { allStepMetricNames, buildOptions, planFromEnv, RUN_TAG, runIdentity, SEGMENT_TAG } from '../src/k6/plan.js';
import { renderText, summarize } from '../src/k6/summary.js';

const plan = planFromEnv(__ENV);
export const options = buildOptions(plan);

const scenario = resolveScenario({ productCount: plan.productCount, pageSize: plan.pageSize, thinkMs: plan.thinkMs });
const TIMEOUT_ERROR_CODE = 1050; // k6: "request timeout"

// Everything per request is prepared here, once: k6 interprets the script, so per-request objects and closures
// cost CPU that the load generator then cannot spend on sending (see the README's k6 section for the figures).
const PARAMS: Record<string, RefinedParams<ResponseType>> = {};
/**
 * The request's parameters, made once per endpoint name (a name always has the same method, body and body reading
 * in a journey: tested in journeys.test.ts); headers of their own, like If-None-Match, get parameters of their own.
 */
function paramsFor(request: ScenarioRequest): RefinedParams<ResponseType> {
  if (request.headers) return makeParams(request, request.headers);
  return PARAMS[request.name] || (PARAMS[request.name] = makeParams(request, undefined));
}
function makeParams(request: ScenarioRequest, extra: Record<string, string> | undefined): RefinedParams<ResponseType> {
  const params = { tags: { name: request.name }, timeout: plan.requestTimeoutMs, responseType: request.needsBody ? 'text' : 'none' } as RefinedParams<ResponseType>;
  // No headers object where there is none to send: k6 converts every params key on every request.
  if (request.body !== undefined || extra) {
    const headers: Record<string, string> = request.body !== undefined ? { 'Content-Type': 'application/json' } : {};
    if (extra) for (const k in extra) headers[k] = extra[k]!;
    params.headers = headers;
  }
  return params;
}
/** This VU's memory across iterations (the cache journey's ETags). */
const userState: UserState = {};
/** Where journeys leave the order they created: k6 keeps no audit, so one object per VU serves every journey. */
const journeyLog: JourneyLog = {};

/** Each step's metric objects, created in the init context (k6 requires it). */
interface StepMetricObjects {
  latency: Trend;
  endpointLatency: Record<string, Trend>;
  server: Trend;
  noResponse: Record<string, Counter>;
  endpointErrors: Record<string, Counter>;
  errorKinds: Record<string, Counter>;
  windowStart: Gauge;
  errorRate: Rate | null;
}
const metrics: Record<string, StepMetricObjects> = {};
for (const m of allStepMetricNames(plan)) {
  const byName = <T>(list: Array<{ name: string; metric: string }>, make: (metric: string) => T) => {
    const out: Record<string, T> = {};
    for (const x of list) out[x.name] = make(x.metric);
    return out;
  };
  const kinds: Record<string, Counter> = {};
  for (const k of m.errorKinds) kinds[k.kind] = new Counter(k.metric);
  metrics[String(m.step)] = {
    latency: new Trend(m.latency, true),
    endpointLatency: byName(m.endpointLatency, (n) => new Trend(n, true)),
    server: new Trend(m.server, true),
    noResponse: byName(m.noResponse, (n) => new Counter(n)),
    endpointErrors: byName(m.endpointErrors, (n) => new Counter(n)),
    errorKinds: kinds,
    windowStart: new Gauge(m.windowStart),
    errorRate: plan.abortOnFail ? new Rate(m.errorRate) : null,
  };
}

const RUN_IDENTITY = JSON.stringify(runIdentity(plan));
/** Tags of the window marker, made on first use (exec.test is readable in VU code only, not in the init context). */
let windowTags: Record<string, string> | null = null;

/** This VU's current step: its metrics and measured window (read from exec.scenario once per step). */
let current: { step: string; m: StepMetricObjects; measureFrom: number; endAt: number } | null = null;
/** Whether the last response completed inside the window (set by send). */
let lastMeasured = false;

function enterStep(): NonNullable<typeof current> {
  const step = __ENV.STACKBENCH_STEP || '1';
  if (current === null || current.step !== step) {
    const measureFrom = exec.scenario.startTime + Number(__ENV.STACKBENCH_WINDOW_OFFSET_MS || '0');
    current = { step, m: metrics[step]!, measureFrom, endAt: measureFrom + Number(__ENV.STACKBENCH_STEP_MS || '0') };
    // One sample per VU and step: the merge counts them as the runner's users and reads the run's identity.
    windowTags ||= { [RUN_TAG]: RUN_IDENTITY, [SEGMENT_TAG]: exec.test.options.executionSegment || '0:1' };
    current.m.windowStart.add(measureFrom, windowTags);
  }
  return current;
}

function send(c: NonNullable<typeof current>, request: ScenarioRequest): ScenarioResponse {
  const params = paramsFor(request);
  const res = request.method === 'POST' ? http.post(plan.baseUrl + request.path, request.body || '', params) : http.get(plan.baseUrl + request.path, params);
  const done = Date.now();
  const measured = done >= c.measureFrom && done < c.endAt;
  lastMeasured = measured;
  // Each field of k6's response is read through reflection: read each one once.
  const status = res.status;
  if (status === 0) {
    const error = res.error_code === TIMEOUT_ERROR_CODE ? 'timeout' : 'connection';
    if (measured) {
      if (error === 'connection') c.m.noResponse[request.name]!.add(1);
      else addLatency(c.m, request.name, latencyOf(res.timings));
    }
    return { status: 0, error };
  }
  const headers = measured || request.wantsEtag ? res.headers : null;
  if (measured) {
    addLatency(c.m, endpointOf(request, status), latencyOf(res.timings));
    const server = appDurationMs(headers!['Server-Timing']);
    if (server !== undefined) c.m.server.add(server);
  }
  const response: ScenarioResponse = request.needsBody ? { status, body: res.body as string } : { status };
  if (request.wantsEtag && headers!['Etag']) response.etag = headers!['Etag'];
  return response;
}

/** Connection set-up counted, as in the embedded driver (read the timings object once: each read converts it). */
function latencyOf(t: { blocked: number; connecting: number; duration: number }): number {
  return t.blocked + t.connecting + t.duration;
}

function addLatency(m: StepMetricObjects, name: string, ms: number): void {
  m.latency.add(ms);
  m.endpointLatency[name]!.add(ms);
}

/** One journey: its requests until it ends or the window does (no request is started after it). */
export default function (): void {
  const c = enterStep();
  const errorRate = c.m.errorRate;
  const journey = createJourney(plan.scenario, scenario, Math.random, userState, journeyLog);
  let step = journey.next();
  let first = true;
  while (!step.done) {
    if (!first && scenario.thinkMs > 0) sleep(scenario.thinkMs / 1000);
    first = false;
    // Do not start a request after the window: the next step's warm-up may already run.
    if (Date.now() >= c.endAt) return;
    step = journey.next(send(c, step.value));
    if (!lastMeasured) continue;
    // The journey goes on past a request that succeeded; it ends with the outcome of one that failed.
    const failure = step.done ? step.value : null;
    if (failure) {
      c.m.endpointErrors[failure.name]!.add(1);
      c.m.errorKinds[failure.errorKind || 'status']!.add(1);
    }
    if (errorRate) errorRate.add(failure !== null);
  }
}

export function handleSummary(data: unknown): Record<string, string> {
  const summary = summarize(data, plan);
  return { [plan.summaryPath]: JSON.stringify(summary, null, 2), stdout: renderText(summary) };
}
