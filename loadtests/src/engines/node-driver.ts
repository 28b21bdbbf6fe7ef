/**
 * The embedded load driver: the shared journey (../core/scenario.ts) against one app on loopback, one step per
 * call, in this Node process (undici). No k6, no binary to install.
 *
 * - closed model: `load` virtual users, each owning one undici Client (one keep-alive connection, pipelining 1),
 *   looping over journeys with no pause (or `thinkMs` between requests);
 * - open model: journeys start on a fixed schedule of `load` per second; each takes a free connection (up to
 *   `maxInFlight`); one that waits is timed from its intended start; one that cannot start within the request
 *   timeout, or before the window ends, is `dropped`.
 *
 * The window rule, latency definition and error kinds are the shared ones (see ../measurement.ts). The driver
 * measures itself over the window: CPU (process.cpuUsage) and event-loop delay (monitorEventLoopDelay, p99 minus
 * its 10 ms resolution); whether that made it the bottleneck is judged by the orchestrator (core/driver-bound.ts),
 * with the app's and the database's usage of the same window.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, type Dispatcher } from 'undici';
import { appDurationMs, isLoopbackHost, rawHttpHost, SERVER_TIMING_HEADER } from '@stackbench/contract';
import {
  COMMERCE,
  createJourney,
  endpointOf,
  journeyNames,
  resolveScenario,
  validateSpec,
  type ScenarioSpec,
  type UserState,
  type CreatedOrder,
  type JourneyLog,
  type RequestOutcome,
  type ResolvedScenario,
  type ScenarioRequest,
  type ScenarioResponse,
} from '../core/index.js';
import { emptyErrorsByKind, type EndpointFigures, type ErrorsByKind, type StepMeasurement } from '../measurement.js';
import { defaultMaxInFlight, nowMs, type LoadEngine, type StepRequest, type StepRun } from './engine.js';
import { LatencyHistogram } from './histogram.js';

const ELD_RESOLUTION_MS = 10;
const ERROR_SAMPLE_LIMIT = 5;
const JSON_HEADERS = { 'content-type': 'application/json' } as const;
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

export const nodeEngine: LoadEngine = { name: 'node', parallelism: 1, runStep: runNodeStep };

// ---- the measured window ---------------------------------------------------------------------------------------

/** The step's clock: warm-up, then a measured window of fixed length; everything in epoch milliseconds. */
class StepClock {
  readonly startMs = nowMs();
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  constructor(warmupMs: number, durationMs: number) {
    this.windowStartMs = this.startMs + warmupMs;
    this.windowEndMs = this.windowStartMs + durationMs;
  }
  /** A response completing at `t` belongs to the step. */
  inWindow(t: number): boolean {
    return t >= this.windowStartMs && t < this.windowEndMs;
  }
  over(t = nowMs()): boolean {
    return t >= this.windowEndMs;
  }
}

// ---- recording -------------------------------------------------------------------------------------------------

interface EndpointRecorder {
  requests: number;
  errors: number;
  latency: LatencyHistogram;
}

/** Everything counted for the step: requests completing inside the window, their latency, server time and errors. */
class StepRecorder {
  readonly total: EndpointRecorder = { requests: 0, errors: 0, latency: new LatencyHistogram() };
  readonly server = new LatencyHistogram();
  readonly endpoints: Map<string, EndpointRecorder>;

  constructor(readonly names: string[]) {
    this.endpoints = new Map(names.map((n) => [n, { requests: 0, errors: 0, latency: new LatencyHistogram() }]));
  }
  readonly errorsByKind: ErrorsByKind = emptyErrorsByKind();
  readonly errorSamples: string[] = [];
  readonly createdOrders: CreatedOrder[] = [];

  /** One response inside the window, counted under `name`; `failure` when it was an error. */
  record(name: string, failure: RequestOutcome | null, latencyMs: number, serverMs: number, hasLatency: boolean): void {
    const ep = this.endpoints.get(name)!;
    ep.requests++;
    this.total.requests++;
    if (hasLatency) {
      ep.latency.recordMs(latencyMs);
      this.total.latency.recordMs(latencyMs);
    }
    if (serverMs >= 0) this.server.recordMs(serverMs);
    if (failure) this.error(name, failure.errorKind ?? 'status', failure.detail);
  }

  /** An error without a response (a dropped journey counts as one failed request of its first endpoint). */
  error(name: string, kind: keyof ErrorsByKind, detail?: string): void {
    const ep = this.endpoints.get(name)!;
    ep.errors++;
    this.total.errors++;
    this.errorsByKind[kind]++;
    if (detail && this.errorSamples.length < ERROR_SAMPLE_LIMIT) this.errorSamples.push(detail);
  }

  dropped(name: string, count: number): void {
    if (count <= 0) return;
    const ep = this.endpoints.get(name)!;
    ep.requests += count;
    ep.errors += count;
    this.total.requests += count;
    this.total.errors += count;
    this.errorsByKind.dropped += count;
    if (this.errorSamples.length < ERROR_SAMPLE_LIMIT) this.errorSamples.push(`${count} journeys dropped: no free connection in time`);
  }

  destroy(): void {
    this.total.latency.destroy();
    this.server.destroy();
    for (const ep of this.endpoints.values()) ep.latency.destroy();
  }
}

/** The driver's own CPU and event-loop delay over the window. */
class SelfMonitor {
  private cpuStart: NodeJS.CpuUsage | undefined;
  private cpu: NodeJS.CpuUsage | undefined;
  private readonly eld: IntervalHistogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  private readonly timers: NodeJS.Timeout[] = [];
  constructor(clock: StepClock) {
    this.timers.push(setTimeout(() => this.begin(), Math.max(0, clock.windowStartMs - nowMs())));
    this.timers.push(setTimeout(() => this.end(), Math.max(0, clock.windowEndMs - nowMs())));
  }
  private begin(): void {
    if (this.cpuStart) return;
    this.cpuStart = process.cpuUsage();
    this.eld.enable();
  }
  private end(): void {
    if (!this.cpuStart || this.cpu) return;
    this.cpu = process.cpuUsage(this.cpuStart);
    this.eld.disable();
  }
  /** CPU % of one core and event-loop delay p99 (ms) over the window. */
  result(windowMs: number): { cpuPct: number; eventLoopDelayP99Ms: number } {
    this.end();
    for (const t of this.timers) clearTimeout(t);
    const cpu = this.cpu ?? { user: 0, system: 0 };
    const cpuPct = ((cpu.user + cpu.system) / 1000 / Math.max(1, windowMs)) * 100;
    const p99 = this.eld.count > 0 ? Math.max(0, this.eld.percentile(99) / 1e6 - ELD_RESOLUTION_MS) : 0;
    this.eld.disable();
    return { cpuPct: Math.round(cpuPct * 10) / 10, eventLoopDelayP99Ms: Math.round(p99 * 100) / 100 };
  }
}

// ---- one request -------------------------------------------------------------------------------------------------

function classifyError(err: unknown): 'timeout' | 'connection' {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && TIMEOUT_CODES.has(code) ? 'timeout' : 'connection';
}

interface Response extends ScenarioResponse {
  serverMs: number;
}

const ETAG_HEADER = 'etag';

/**
 * One request on a connection through undici's low-level dispatch API (about a third less driver CPU per request
 * than `client.request()` + `body.text()`, measured here): the body is kept only when the journey needs it.
 * Resolves, never rejects: transport failures become `error`.
 */
function send(client: Client, origin: string, request: ScenarioRequest): Promise<Response> {
  return new Promise<Response>((resolve) => {
    let status = 0;
    let serverMs = -1;
    let etag: string | undefined;
    const chunks: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart() {},
      onResponseStart(_controller, statusCode, headers) {
        status = statusCode;
        serverMs = appDurationMs(headers[SERVER_TIMING_HEADER]) ?? -1;
        if (request.wantsEtag) {
          const value = headers[ETAG_HEADER];
          etag = typeof value === 'string' ? value : undefined;
        }
      },
      onResponseData(_controller, chunk) {
        if (request.needsBody) chunks.push(chunk);
      },
      onResponseEnd() {
        const response: Response = { status, serverMs };
        if (etag) response.etag = etag;
        if (request.needsBody) response.body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
        resolve(response);
      },
      onResponseError(_controller, err) {
        resolve({ status: 0, serverMs: -1, error: classifyError(err) });
      },
    };
    try {
      client.dispatch(
        { origin, path: request.path, method: request.method, headers: request.headers ? { ...request.headers, ...(request.body === undefined ? {} : JSON_HEADERS) } : request.body === undefined ? undefined : JSON_HEADERS, body: request.body },
        handler,
      );
    } catch (err) {
      resolve({ status: 0, serverMs: -1, error: classifyError(err) });
    }
  });
}

// ---- the step ----------------------------------------------------------------------------------------------------

interface StepContext {
  request: StepRequest;
  origin: string;
  scenario: ResolvedScenario;
  spec: ScenarioSpec;
  clock: StepClock;
  recorder: StepRecorder;
  /** Requests sent so far (warm-up included), against request.maxRequests. */
  sent: number;
  maxRequestsReached: boolean;
  stopped: boolean;
  newClient(): Client;
}

/** Whether another request may be sent now; flags the request cap. */
function maySend(ctx: StepContext): boolean {
  if (ctx.stopped || ctx.clock.over()) return false;
  if (ctx.sent >= ctx.request.maxRequests) {
    ctx.maxRequestsReached = true;
    return false;
  }
  ctx.sent++;
  return true;
}

/**
 * One journey on one connection. `intendedStartMs` (open model) times the first request from its schedule. Stops
 * early when the window is over, at the request cap or on abort; an order it created is kept for the audit either way.
 * Resolves whether it sent its first request.
 */
async function runJourney(ctx: StepContext, client: Client, state: UserState, intendedStartMs?: number): Promise<boolean> {
  const log: JourneyLog = {};
  const journey = createJourney(ctx.spec, ctx.scenario, Math.random, state, log);
  let sent = false;
  try {
    let step = journey.next();
    let first = true;
    while (!step.done) {
      if (!first && ctx.scenario.thinkMs > 0) await delay(ctx.scenario.thinkMs);
      if (!maySend(ctx)) return sent;
      sent = true;
      const t0 = first && intendedStartMs !== undefined ? Math.min(intendedStartMs, nowMs()) : nowMs();
      first = false;
      const request = step.value;
      const response = await send(client, ctx.origin, request);
      const t1 = nowMs();
      step = journey.next(response);
      if (ctx.stopped) return sent;
      if (ctx.clock.inWindow(t1)) {
        const failure = step.done ? step.value : null;
        ctx.recorder.record(failure ? failure.name : endpointOf(request, response.status), failure, t1 - t0, response.serverMs, response.error !== 'connection');
      }
    }
    return sent;
  } finally {
    if (log.createdOrder) ctx.recorder.createdOrders.push(log.createdOrder);
  }
}

/** Closed model: `load` users, each one connection, journeys back to back until the window ends. */
async function runClosed(ctx: StepContext): Promise<void> {
  const clients = Array.from({ length: ctx.request.load }, () => ctx.newClient());
  await Promise.all(
    clients.map(async (client) => {
      const state: UserState = {};
      while (!ctx.stopped && !ctx.clock.over() && !ctx.maxRequestsReached) await runJourney(ctx, client, state);
    }),
  );
}

/**
 * Open model: arrivals every 1/load seconds from the start of the warm-up until the window ends. Each takes a free
 * connection (a new one while fewer than maxInFlight exist), else waits in line; one still waiting after the request
 * timeout, or when the window ends, is dropped (and counted only when its intended start was inside the window).
 */
async function runOpen(ctx: StepContext): Promise<void> {
  const { clock, request } = ctx;
  const intervalMs = 1000 / request.load;
  const maxInFlight = request.maxInFlight ?? defaultMaxInFlight(request.load, request.requestTimeoutMs);
  const idle: Client[] = [];
  let open = 0;
  const waiting: number[] = []; // intended start times, oldest first
  const running = new Set<Promise<void>>();
  let next = clock.startMs;
  let droppedInWindow = 0;

  const drop = (intended: number) => {
    if (intended >= clock.windowStartMs) droppedInWindow++;
  };
  // Open arrivals are new users: no memory but what their connection's earlier journeys learned (the cache's ETags).
  const states = new Map<Client, UserState>();
  const start = (client: Client, intended: number) => {
    let state = states.get(client);
    if (!state) states.set(client, (state = {}));
    const journey = runJourney(ctx, client, state, intended)
      .then((sent) => {
        // Released in time but the window closed before it could send: it did not start, so it is dropped.
        if (!sent && !ctx.stopped && !ctx.maxRequestsReached) drop(intended);
      })
      .finally(() => {
        running.delete(journey);
        idle.push(client);
        dispatch();
      });
    running.add(journey);
  };
  const dispatch = () => {
    const now = nowMs();
    while (waiting.length > 0) {
      if (now - waiting[0]! > request.requestTimeoutMs) {
        drop(waiting.shift()!);
        continue;
      }
      let client = idle.pop();
      if (!client && open < maxInFlight) {
        client = ctx.newClient();
        open++;
      }
      if (!client) break;
      start(client, waiting.shift()!);
    }
  };

  // The schedule: a 1 ms ticker releases every arrival whose time has come (timers cannot fire more often). It runs
  // to the window's end, not just to the last arrival, so that waiting arrivals keep their chance until then.
  while (!ctx.stopped && !ctx.maxRequestsReached && !clock.over()) {
    const now = nowMs();
    while (next <= now && !clock.over(next)) {
      waiting.push(next);
      next += intervalMs;
    }
    dispatch();
    await delay(Math.max(0, Math.min(next - nowMs(), 1)));
  }
  for (const intended of waiting.splice(0)) drop(intended);
  await Promise.all(running);
  ctx.recorder.dropped(ctx.recorder.names[0]!, droppedInWindow);
}

function validate(request: StepRequest): URL {
  const url = new URL(request.baseUrl);
  // Named as written: the URL parser normalizes e.g. 0x7f.0.0.1 to 127.0.0.1, which would make the refusal read as nonsense.
  const host = rawHttpHost(request.baseUrl);
  if (url.protocol !== 'http:' || !isLoopbackHost(host ?? '')) throw new RangeError(`refusing ${host ?? request.baseUrl}: the embedded driver only targets loopback addresses`);
  if (!(request.load > 0) || (request.model === 'closed' && !Number.isInteger(request.load))) {
    throw new RangeError(`load must be ${request.model === 'closed' ? 'an integer >= 1' : '> 0'}, got ${request.load}`);
  }
  if (!Number.isInteger(request.maxRequests) || request.maxRequests < 1) throw new RangeError(`maxRequests must be an integer >= 1, got ${request.maxRequests}`);
  if (!(request.durationMs > 0)) throw new RangeError(`durationMs must be > 0, got ${request.durationMs}`);
  if (!(request.warmupMs >= 0)) throw new RangeError(`warmupMs must be >= 0, got ${request.warmupMs}`);
  if (!(request.requestTimeoutMs > 0)) throw new RangeError(`requestTimeoutMs must be > 0, got ${request.requestTimeoutMs}`);
  return url;
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'step aborted');
  err.name = 'AbortError';
  return err;
}

function reportProgress(ctx: StepContext): NodeJS.Timeout | undefined {
  const onProgress = ctx.request.onProgress;
  if (!onProgress) return undefined;
  const timer = setInterval(() => {
    const now = nowMs();
    if (now < ctx.clock.windowStartMs || ctx.stopped) return;
    const elapsedMs = now - ctx.clock.windowStartMs;
    try {
      const requests = ctx.recorder.total.requests;
      onProgress({ elapsedMs: Math.round(elapsedMs), requests, rps: Math.round((requests / elapsedMs) * 10000) / 10, p95Ms: ctx.recorder.total.latency.percentileMs(95) });
    } catch {
      // A failing progress callback must not break the measurement.
    }
  }, 1000);
  timer.unref();
  return timer;
}

function measurementOf(ctx: StepContext, self: { cpuPct: number; eventLoopDelayP99Ms: number }): StepMeasurement {
  const { recorder, request } = ctx;
  const seconds = request.durationMs / 1000;
  const endpoints: Record<string, EndpointFigures> = {};
  for (const [name, ep] of recorder.endpoints) {
    if (ep.requests > 0) endpoints[name] = { requests: ep.requests, errors: ep.errors, latencyMs: ep.latency.summary() };
  }
  const { requests, errors } = recorder.total;
  return {
    model: request.model,
    load: request.load,
    seconds,
    requests,
    rps: Math.round(((requests - recorder.errorsByKind.dropped) / seconds) * 10) / 10,
    errors,
    errorRate: requests > 0 ? Math.round((errors / requests) * 1e6) / 1e6 : 0,
    errorsByKind: { ...recorder.errorsByKind },
    latencyMs: recorder.total.latency.summary(),
    serverMs: recorder.server.count > 0 ? recorder.server.summary() : null,
    endpoints,
    driver: { engine: 'node', cpuPct: self.cpuPct, parallelism: 1, eventLoopDelayP99Ms: self.eventLoopDelayP99Ms },
    maxRequestsReached: ctx.maxRequestsReached,
    errorSamples: recorder.errorSamples.slice(0, ERROR_SAMPLE_LIMIT),
  };
}

/** Runs one step. Rejects when `signal` aborts (connections are destroyed, nothing is measured). */
export async function runNodeStep(request: StepRequest): Promise<StepRun> {
  const url = validate(request);
  const scenario = resolveScenario({ productCount: request.productCount, thinkMs: request.thinkMs, pageSize: request.pageSize });
  const spec = validateSpec(request.scenario ?? COMMERCE);
  const { signal } = request;
  if (signal?.aborted) throw abortError(signal);

  const timeout = request.requestTimeoutMs;
  const clients: Client[] = [];
  const ctx: StepContext = {
    request,
    origin: url.origin,
    scenario,
    spec,
    clock: new StepClock(request.warmupMs, request.durationMs),
    recorder: new StepRecorder(journeyNames(spec)),
    sent: 0,
    maxRequestsReached: false,
    stopped: false,
    newClient() {
      const client = new Client(url.origin, { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: timeout, bodyTimeout: timeout, connect: { timeout } });
      clients.push(client);
      return client;
    },
  };
  const self = new SelfMonitor(ctx.clock);
  const progress = reportProgress(ctx);

  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (!signal) return;
    onAbort = () => {
      ctx.stopped = true;
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);

  try {
    await Promise.race([request.model === 'open' ? runOpen(ctx) : runClosed(ctx), aborted]);
    const measurement = measurementOf(ctx, self.result(request.durationMs));
    return { measurement, createdOrders: ctx.recorder.createdOrders, window: { startMs: ctx.clock.windowStartMs, endMs: ctx.clock.windowEndMs } };
  } finally {
    ctx.stopped = true;
    self.result(request.durationMs);
    if (progress) clearInterval(progress);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    await Promise.all(clients.map((c) => (signal?.aborted ? c.destroy() : c.close()).catch(() => c.destroy().catch(() => undefined))));
    ctx.recorder.destroy();
  }
}
