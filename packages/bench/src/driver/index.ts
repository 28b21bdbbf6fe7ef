/**
 * The embedded load driver: closed-loop virtual users running the shared scenario (@stackbench/loadtests) against
 * one app on loopback, one step (a fixed number of users for a fixed time) per call.
 *
 * - Each virtual user owns one undici Client (one keep-alive connection, pipelining 1) and loops over the scenario's
 *   iterations (list -> product -> order -> order_view) with no pause (or `thinkMs` between requests).
 * - A step is `warmupMs` of unrecorded load followed by `durationMs` of measurement. A request is recorded when it
 *   started inside the measured window; it stops at `durationMs` or `maxRequests` measured requests, whichever comes
 *   first (requests in flight then complete and are recorded: the step lasts slightly longer than `durationMs` and
 *   `seconds` says by how much). `maxRequests` also bounds the warm-up's requests separately.
 * - Latency: from just before the request is handed to undici until its body has been read, in HDR histograms at
 *   microsecond precision, per step and per endpoint. Responses of any status and timeouts are recorded (a timeout
 *   at its elapsed time, so slow steps are not flattered); connection errors are not (they are near-instant).
 * - Errors by kind: `status` (unexpected status code), `body` (right status, unusable body), `timeout` (no complete
 *   response within `requestTimeoutMs` for the headers, then again for the body), `connection` (refused, reset, closed).
 * - The driver watches itself: event-loop delay (perf_hooks.monitorEventLoopDelay, p99 minus the 10 ms sampling
 *   interval) and its process CPU (process.cpuUsage) over the measured window. See {@link DRIVER_BOUND_RULE}.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, type Dispatcher } from 'undici';
import {
  REQUEST_NAMES,
  UserIteration,
  resolveScenario,
  type CreatedOrder,
  type ErrorKind,
  type RequestOutcome,
  type ScenarioRequest,
  type ScenarioResponse,
} from '@stackbench/loadtests';
import { assertLoopbackUrl } from '../cli-support.js';
import { LatencyHistogram, type LatencySummary } from './histogram.js';

export type { LatencySummary } from './histogram.js';

export interface StepProgress {
  elapsedMs: number;
  requests: number;
  rps: number;
  p95Ms: number;
}

export interface StepOptions {
  baseUrl: string;
  users: number;
  durationMs: number;
  warmupMs: number;
  thinkMs: number;
  productCount: number;
  /** Hard bound on measured requests (the warm-up is bounded by the same number, separately). */
  maxRequests: number;
  requestTimeoutMs: number;
  signal?: AbortSignal;
  /** Called about once a second during the measured window. */
  onProgress?: (p: StepProgress) => void;
  /** `limit` of the list request (default 20). */
  pageSize?: number;
  /** driverBound when the driver process used at least this much CPU, in % of one core (default 90). */
  driverBoundCpuPct?: number;
  /** driverBound when the driver's event-loop delay p99 reached this many ms (default 10). */
  driverBoundLoopDelayMs?: number;
}

export interface EndpointMeasurement {
  requests: number;
  errors: number;
  latencyMs: LatencySummary;
}

export interface StepMeasurement {
  users: number;
  /** Measured seconds: from the start of the measured window until the last recorded request completed. */
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  errorRate: number;
  errorsByKind: { status: number; timeout: number; connection: number; body: number };
  latencyMs: LatencySummary;
  endpoints: Record<string, EndpointMeasurement>;
  driver: {
    eventLoopDelayP99Ms: number;
    cpuPct: number;
    /** Why driverBound is true (empty when false). */
    reasons: string[];
  };
  driverBound: boolean;
  /** Every order this step created, warm-up included (orders whose response was lost cannot be listed). */
  createdOrders: Array<{ id: number; productId: number; quantity: number }>;
  /** Unrecorded requests sent during the warm-up. */
  warmupRequests: number;
  /** Measured iterations that completed all four requests. */
  iterations: number;
  /** The step stopped because it reached maxRequests (not durationMs). */
  maxRequestsReached: boolean;
  /** The first few error descriptions, for diagnostics. */
  errorSamples: string[];
}

export const DEFAULT_DRIVER_BOUND_CPU_PCT = 90;
export const DEFAULT_DRIVER_BOUND_LOOP_DELAY_MS = 10;

/**
 * When the driver, not the app, was the limit. The driver is one JavaScript thread: at ~one core of CPU it cannot
 * send faster, and every millisecond its event loop is late is added to the latencies it measures (a response sits
 * in the socket until the loop gets to it). So a step is `driverBound` when, over the measured window:
 *   - the driver process used >= 90 % of one core (process.cpuUsage, user + system), or
 *   - its event-loop delay p99 was >= 10 ms (monitorEventLoopDelay at 10 ms resolution, minus that resolution),
 *     i.e. a tenth of the default 100 ms threshold.
 * Both limits are options. On a machine shared by app, database and driver, CPU starvation by the other processes
 * also shows as event-loop delay — the figures are equally suspect then, so the flag is raised all the same.
 */
export const DRIVER_BOUND_RULE =
  'driverBound = driver CPU >= 90 % of one core, or driver event-loop delay p99 >= 10 ms, over the measured window';

const ELD_RESOLUTION_MS = 10;
const ERROR_SAMPLE_LIMIT = 5;
const JSON_HEADERS = { 'content-type': 'application/json' } as const;

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function classifyError(err: unknown): 'timeout' | 'connection' {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TIMEOUT_CODES.has(code) ? 'timeout' : 'connection';
}

function assertPositiveInt(value: number, name: string, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'step aborted');
  err.name = 'AbortError';
  return err;
}

interface Recorder {
  requests: number;
  errors: number;
  latency: LatencyHistogram;
}

/** Runs one step: `users` closed-loop virtual users for `warmupMs` + `durationMs`. Rejects when `signal` aborts. */
export async function runStep(options: StepOptions): Promise<StepMeasurement> {
  const url = assertLoopbackUrl(options.baseUrl);
  assertPositiveInt(options.users, 'users', 1);
  assertPositiveInt(options.maxRequests, 'maxRequests', 1);
  if (!(options.durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${options.durationMs}`);
  if (!(options.warmupMs >= 0)) throw new RangeError(`warmupMs must be >= 0, got ${options.warmupMs}`);
  if (!(options.requestTimeoutMs > 0)) throw new RangeError(`requestTimeoutMs must be > 0, got ${options.requestTimeoutMs}`);
  const scenario = resolveScenario({ productCount: options.productCount, thinkMs: options.thinkMs, pageSize: options.pageSize });
  const { signal } = options;
  if (signal?.aborted) throw abortReason(signal);

  const origin = url.origin;
  const timeout = options.requestTimeoutMs;
  const total: Recorder = { requests: 0, errors: 0, latency: new LatencyHistogram() };
  const endpoints = new Map<string, Recorder>(
    REQUEST_NAMES.map((name) => [name, { requests: 0, errors: 0, latency: new LatencyHistogram() }]),
  );
  const errorsByKind: Record<ErrorKind, number> = { status: 0, body: 0, timeout: 0, connection: 0 };
  const errorSamples: string[] = [];
  const createdOrders: CreatedOrder[] = [];
  let warmupRequests = 0;
  let iterations = 0;
  let stopped = false;
  let maxRequestsReached = false;

  const clients: Client[] = [];
  for (let i = 0; i < options.users; i++) {
    clients.push(
      new Client(origin, {
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connect: { timeout },
      }),
    );
  }

  const startedAt = performance.now();
  const measureStart = startedAt + options.warmupMs;
  const measureEnd = measureStart + options.durationMs;
  let lastCompletion = measureStart;

  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  let cpuStart: NodeJS.CpuUsage | undefined;
  let measuringStarted = false;
  const beginMeasuring = () => {
    if (measuringStarted) return;
    measuringStarted = true;
    eld.enable();
    cpuStart = process.cpuUsage();
  };
  // Start the self-monitoring on time even if every user is busy with a long warm-up request.
  const measureTimer = setTimeout(beginMeasuring, Math.max(0, measureStart - performance.now()));

  /**
   * Reserves the next request: 'warmup' or 'measure' to send it, a number of ms to wait first (the warm-up's request
   * budget is spent: sleep until the measured window), or null to stop (deadline, maxRequests, abort).
   */
  const reserve = (): 'warmup' | 'measure' | number | null => {
    if (stopped) return null;
    const now = performance.now();
    if (now < measureStart) {
      if (warmupRequests >= options.maxRequests) return measureStart - now;
      warmupRequests++;
      return 'warmup';
    }
    beginMeasuring();
    if (now >= measureEnd) {
      stopped = true;
      return null;
    }
    if (total.requests >= options.maxRequests) {
      maxRequestsReached = true;
      stopped = true;
      return null;
    }
    total.requests++;
    return 'measure';
  };

  const record = (request: ScenarioRequest, outcome: RequestOutcome, ms: number, recordLatency: boolean) => {
    const ep = endpoints.get(request.name)!;
    ep.requests++;
    if (recordLatency) {
      total.latency.recordMs(ms);
      ep.latency.recordMs(ms);
    }
    if (!outcome.ok) {
      total.errors++;
      ep.errors++;
      errorsByKind[outcome.errorKind ?? 'status']++;
      if (errorSamples.length < ERROR_SAMPLE_LIMIT && outcome.detail) errorSamples.push(outcome.detail);
    }
  };

  /**
   * One request on the user's connection through undici's low-level dispatch API (about a third less driver CPU per
   * request than `client.request()` + `body.text()`, measured on this machine): the body is collected as Buffers and
   * parsed only when the scenario needs it. Resolves, never rejects: transport failures become `error`.
   */
  const send = (client: Client, request: ScenarioRequest): Promise<ScenarioResponse> =>
    new Promise<ScenarioResponse>((resolve) => {
      let status = 0;
      const chunks: Buffer[] = [];
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          if (request.needsJson) chunks.push(chunk);
        },
        onResponseEnd() {
          const response: ScenarioResponse = { status };
          if (request.needsJson) {
            try {
              response.json = JSON.parse(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'));
            } catch {
              response.json = undefined;
            }
          }
          resolve(response);
        },
        onResponseError(_controller, err) {
          resolve({ status: 0, error: classifyError(err) });
        },
      };
      try {
        client.dispatch(
          {
            origin,
            path: request.path,
            method: request.method,
            headers: request.body === undefined ? undefined : JSON_HEADERS,
            body: request.body,
          },
          handler,
        );
      } catch (err) {
        resolve({ status: 0, error: classifyError(err) });
      }
    });

  const virtualUser = async (client: Client): Promise<void> => {
    // Bounded: every pass through the loop either sends a request (bounded by maxRequests twice) or stops.
    while (!stopped) {
      const iteration = new UserIteration(scenario, Math.random);
      let request: ScenarioRequest | null = iteration.start();
      let first = true;
      let measuredIteration = true;
      while (request !== null) {
        if (!first && scenario.thinkMs > 0) await delay(scenario.thinkMs);
        first = false;
        let slot = reserve();
        while (typeof slot === 'number') {
          await delay(slot);
          slot = reserve();
        }
        if (slot === null) break;
        const t0 = performance.now();
        const response = await send(client, request);
        const t1 = performance.now();
        const next = iteration.advance(response);
        if (stopped && signal?.aborted) return;
        if (slot === 'measure') {
          const outcomes = iteration.outcome().outcomes;
          record(request, outcomes[outcomes.length - 1]!, t1 - t0, response.error !== 'connection');
          if (t1 > lastCompletion) lastCompletion = t1;
        } else {
          measuredIteration = false;
        }
        request = next;
      }
      const result = iteration.outcome();
      if (result.createdOrder) createdOrders.push(result.createdOrder);
      if (result.completed && measuredIteration) iterations++;
    }
  };

  let progressTimer: NodeJS.Timeout | undefined;
  if (options.onProgress) {
    const onProgress = options.onProgress;
    progressTimer = setInterval(() => {
      const now = performance.now();
      if (now < measureStart || stopped) return;
      const elapsedMs = now - measureStart;
      try {
        onProgress({
          elapsedMs: Math.round(elapsedMs),
          requests: total.requests,
          rps: elapsedMs > 0 ? Math.round((total.requests / elapsedMs) * 1000 * 10) / 10 : 0,
          p95Ms: total.latency.percentileMs(95),
        });
      } catch {
        // A failing progress callback must not break the measurement.
      }
    }, 1000);
    progressTimer.unref();
  }

  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    onAbort = () => {
      stopped = true;
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);

  try {
    await Promise.race([Promise.all(clients.map(virtualUser)), aborted]);
  } finally {
    stopped = true;
    clearTimeout(measureTimer);
    if (progressTimer) clearInterval(progressTimer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    if (measuringStarted) eld.disable();
    const closing = signal?.aborted
      ? clients.map((c) => c.destroy().catch(() => undefined))
      : clients.map((c) => c.close().catch(() => c.destroy().catch(() => undefined)));
    await Promise.all(closing);
  }

  const end = Math.max(lastCompletion, Math.min(performance.now(), measureEnd));
  const wallMs = Math.max(1, end - measureStart);
  const cpu = cpuStart ? process.cpuUsage(cpuStart) : { user: 0, system: 0 };
  const cpuPct = Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100 * 10) / 10;
  const eldP99 = eld.count > 0 ? Math.max(0, eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS) : 0;
  const eventLoopDelayP99Ms = Math.round(eldP99 * 100) / 100;
  const cpuLimit = options.driverBoundCpuPct ?? DEFAULT_DRIVER_BOUND_CPU_PCT;
  const eldLimit = options.driverBoundLoopDelayMs ?? DEFAULT_DRIVER_BOUND_LOOP_DELAY_MS;
  const reasons: string[] = [];
  if (cpuPct >= cpuLimit) reasons.push(`driver CPU ${cpuPct} % >= ${cpuLimit} % of one core`);
  if (eventLoopDelayP99Ms >= eldLimit) reasons.push(`driver event-loop delay p99 ${eventLoopDelayP99Ms} ms >= ${eldLimit} ms`);

  const seconds = wallMs / 1000;
  const endpointFigures: Record<string, EndpointMeasurement> = {};
  for (const [name, ep] of endpoints) {
    endpointFigures[name] = { requests: ep.requests, errors: ep.errors, latencyMs: ep.latency.summary() };
  }
  const measurement: StepMeasurement = {
    users: options.users,
    seconds: Math.round(seconds * 1000) / 1000,
    requests: total.requests,
    rps: Math.round((total.requests / seconds) * 10) / 10,
    errors: total.errors,
    errorRate: total.requests > 0 ? Math.round((total.errors / total.requests) * 1e6) / 1e6 : 0,
    errorsByKind: { status: errorsByKind.status, timeout: errorsByKind.timeout, connection: errorsByKind.connection, body: errorsByKind.body },
    latencyMs: total.latency.summary(),
    endpoints: endpointFigures,
    driver: { eventLoopDelayP99Ms, cpuPct, reasons },
    driverBound: reasons.length > 0,
    createdOrders,
    warmupRequests,
    iterations,
    maxRequestsReached,
    errorSamples,
  };
  total.latency.destroy();
  for (const ep of endpoints.values()) ep.latency.destroy();
  return measurement;
}
