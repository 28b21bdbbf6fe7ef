/**
 * One interface for both load engines. The orchestrator asks an engine to run one step and gets back the step's
 * measurement (the shared {@link StepMeasurement}), the orders it created (for the data audit) and the measured
 * window on the wall clock (so that app and database CPU can be read over exactly the same window).
 */
import type { CreatedOrder, LoadModel, ScenarioSpec } from '../core/index.js';
import type { EngineName, StepMeasurement } from '../measurement.js';

export interface StepProgress {
  /** Milliseconds into the measured window. */
  elapsedMs: number;
  /** NaN where the engine reports nothing until the end (k6). */
  requests: number;
  rps: number;
  p95Ms: number;
}

export interface StepRequest {
  baseUrl: string;
  model: LoadModel;
  /** Virtual users (closed) or offered journeys per second (open). */
  load: number;
  durationMs: number;
  warmupMs: number;
  thinkMs: number;
  productCount: number;
  /** `limit` of the list request (default 20). */
  pageSize?: number;
  /** What each virtual user does (default: the commerce journey). */
  scenario?: ScenarioSpec;
  /** Hard bound on requests sent in the whole step, warm-up included. */
  maxRequests: number;
  requestTimeoutMs: number;
  /** Open model: most journeys in flight at once (one connection each); later arrivals wait, then are dropped. */
  maxInFlight?: number;
  signal?: AbortSignal;
  /** Called about once a second during the measured window. */
  onProgress?: (p: StepProgress) => void;
}

export interface StepRun {
  measurement: StepMeasurement;
  /** Orders the step created (warm-up included); k6 cannot report them (empty). */
  createdOrders: CreatedOrder[];
  /** The measured window, epoch milliseconds. */
  window: { startMs: number; endMs: number };
}

export interface LoadEngine {
  readonly name: EngineName;
  /** Cores the engine can use at most (the driver-bound rule compares its CPU with this). */
  readonly parallelism: number;
  runStep(request: StepRequest): Promise<StepRun>;
}

/** Epoch milliseconds with sub-millisecond resolution (performance.now() on the wall clock). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Open model: default cap on journeys in flight, from the offered rate and the request timeout. */
export function defaultMaxInFlight(rate: number, requestTimeoutMs: number): number {
  return Math.min(2000, Math.max(64, Math.ceil(rate * (requestTimeoutMs / 1000))));
}
