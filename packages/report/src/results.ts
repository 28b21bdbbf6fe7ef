/**
 * The shape of a run's `results.json` (schemaVersion 1).
 *
 * Written by the bench CLI (`stackbench run`), read by the report (`stackbench report RUN_DIR`).
 * `results.schema.json` beside this package is the same contract as a JSON Schema (draft 2020-12);
 * keep the two in step (the report's tests validate a fixture against the schema).
 *
 * Units: latencies in milliseconds, memory in MiB (GiB for the machine's memory), CPU in percent of ONE core
 * (so a process using two full cores reports 200), rates per second, durations in seconds unless named `...Ms`.
 */

export const RESULTS_SCHEMA_VERSION = 1 as const;

/** The endpoints of the commerce flow: list products, view product, place order, view order. */
export const ENDPOINTS = ['list', 'product', 'order', 'order_view'] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

export type ComboStatus = 'measured' | 'unverified' | 'failed';

export interface Results {
  schemaVersion: 1;
  /** Unique id of the run, e.g. "2026-05-01T10-00-00Z-ab12cd". */
  runId: string;
  /** ISO 8601 date-time. */
  startedAt: string;
  /** ISO 8601 date-time. */
  finishedAt: string;
  /** The exact command line that produced this run, e.g. "npx stackbench run --apps express,fastify --repeats 3". */
  command: string;
  environment: Environment;
  method: Method;
  combos: Combo[];
}

export interface Environment {
  /** e.g. "AMD EPYC 7B13". */
  cpuModel: string;
  /** Logical cores visible to the OS. */
  cores: number;
  memoryGiB: number;
  /** e.g. "Linux 6.8.0 (Debian 12) x64". */
  os: string;
  /** Node version that ran the driver/CLI, e.g. "20.19.5" (each combo's app runtime is `Combo.runtime`). */
  node: string;
  /** PostgreSQL server version, e.g. "16.4". */
  postgres: string;
  /** Package name → exact installed version (frameworks, drivers, ORMs, k6...). */
  packages: Record<string, string>;
  /** Commit of the stackbench checkout; "unknown" when not in a git checkout. Suffix "-dirty" when modified. */
  gitSha: string;
  /** How app, database and driver shared the cores, e.g. "app: cpu 0; postgres: cpu 1; driver: cpu 1 (taskset)". */
  cpuLayout: string;
}

export interface Method {
  /** Load generator: the built-in Node driver or k6. */
  driver: 'node' | 'k6';
  /** Name of the load profile (the request mix), e.g. "commerce-flow". */
  profile: string;
  /** Pass criterion of one step, e.g. "p95<100" (milliseconds). */
  threshold: string;
  /** A step with a higher error rate (0..1) fails regardless of latency. */
  maxErrorRate: number;
  /** Think time between a virtual user's requests, ms. */
  thinkMs: number;
  /** Duration of each measured step. */
  stepSeconds: number;
  /** Warm-up before the first step (not measured). */
  warmupSeconds: number;
  /** How many times each combination was run. */
  repeats: number;
}

export interface Combo {
  /** App stack, e.g. "node-http", "express", "fastify", "nest-express", "nest-fastify". */
  app: string;
  /** Data store, e.g. "pg", "drizzle", "typeorm". */
  store: string;
  /** Connection strategy. Open string so new strategies don't break old readers; known: "pool", "per-request". */
  conn: string;
  /** Pool size (max connections); for "per-request", the cap on concurrent connections, or null when uncapped. */
  poolSize: number | null;
  /** Node version that ran the app, e.g. "24.11.0". */
  runtime: string;
  /** 1-based index of this repeat. */
  repeat: number;
  /** measured: stepped and has a verdict; unverified: did not pass `stackbench verify`, not loaded; failed: the run broke. */
  status: ComboStatus;
  /** Why a combination is unverified or failed (or any note on a measured one). */
  reason?: string;
  /**
   * The last step that passed the threshold (the highest load the stack sustained within p95 < threshold),
   * or null when even the first step failed or the combination was not measured.
   */
  breakpoint: Breakpoint | null;
  /** Every step run, in order of increasing users. */
  steps: Step[];
  /**
   * Whole-run figures for the app process (null when not sampled).
   * Named `appUsage` because `app` is already the stack's name.
   */
  appUsage: AppUsage | null;
  /** Post-run data check (stock/sold/orders consistent), null when not checked. */
  integrity: Integrity | null;
}

export interface Breakpoint {
  users: number;
  rps: number;
  p95Ms: number;
  p99Ms: number;
  avgMs: number;
}

export interface Latency {
  avg: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface EndpointStats {
  requests: number;
  errors: number;
  latencyMs: Latency;
}

export interface Step {
  /** Concurrent virtual users in this step. */
  users: number;
  /** Measured duration of the step. */
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  /** errors / requests, 0..1. */
  errorRate: number;
  latencyMs: Latency;
  /** Per endpoint (keys from ENDPOINTS; a profile may leave some out). */
  endpoints: Partial<Record<Endpoint, EndpointStats>>;
  /** App process during the step (average CPU %, RSS at the end or peak). null when not sampled. */
  app: { cpuPct: number; rssMiB: number } | null;
  /** The load driver's own health: when its event loop lags or it saturates a core, latencies include the driver. */
  driver: { eventLoopDelayP99Ms: number; cpuPct: number } | null;
  /** True when the driver, not the app, was likely the bottleneck: figures for this step are suspect. */
  driverBound: boolean;
  /** Met the threshold and the error-rate limit. */
  passed: boolean;
}

export interface AppUsage {
  peakRssMiB: number;
  avgCpuPct: number;
}

export interface Integrity {
  ok: boolean;
  /** Orders found in the database after the run. */
  orders: number;
  /** Human-readable descriptions of each inconsistency found; empty when ok. */
  problems: string[];
}
