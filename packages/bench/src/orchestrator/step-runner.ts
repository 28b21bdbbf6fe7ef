/**
 * What the orchestrator needs from a load driver: run one step against a base URL and measure it. The built-in
 * Node driver (../driver/index.ts, `runStep`) and the k6 runner (./k6.ts) both fit.
 */

// One definition of a step's inputs: the Node driver's (a type-only import never loads the driver).
export type { StepOptions, StepProgress } from '../driver/index.js';
import type { StepOptions } from '../driver/index.js';

export interface LatencyFigures {
  avg: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface StepMeasurement {
  users: number;
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  errorRate: number;
  errorsByKind: { status: number; timeout: number; connection: number; [kind: string]: number };
  latencyMs: LatencyFigures;
  endpoints: Record<string, { requests: number; errors: number; latencyMs: LatencyFigures }>;
  driver: { eventLoopDelayP99Ms: number; cpuPct: number; reasons?: string[] } | null;
  driverBound: boolean;
  createdOrders: Array<{ id: number; productId: number; quantity: number }>;
  /** The step stopped at maxRequests rather than at its duration. */
  maxRequestsReached?: boolean;
  /** The first few error descriptions, for diagnostics. */
  errorSamples?: string[];
}

export interface StepRunner {
  readonly name: 'node' | 'k6';
  runStep(options: StepOptions): Promise<StepMeasurement>;
}

/** The built-in driver (undici, in this process). Loaded lazily so `--driver k6` never loads it. */
export async function nodeStepRunner(): Promise<StepRunner> {
  const mod = (await import('../driver/index.js')) as unknown as { runStep: StepRunner['runStep'] };
  if (typeof mod.runStep !== 'function') throw new Error('the Node driver (driver/index.js) does not export runStep');
  return { name: 'node', runStep: (o) => mod.runStep(o) };
}
