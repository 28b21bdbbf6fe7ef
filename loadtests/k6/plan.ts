/**
 * The k6 side of a stepped run, as pure functions (no k6 imports, so vitest can test them): read the plan from
 * __ENV, build k6 `options` (one constant-vus scenario per step, per-step thresholds) and name the sub-metrics the
 * summary reads back.
 *
 * k6 runs a fixed schedule (no bisection: k6 cannot choose the next step from the last verdict). Per-step verdicts
 * come from per-step thresholds on sub-metrics tagged `step:N`, each with `abortOnFail` and a `delayAbortEval` that
 * falls at the end of its step, so the run stops right after the first failing step, with that whole step measured.
 */
import type { Options, Scenario, Threshold as K6Threshold } from 'k6/options';
import { DEFAULT_PRODUCT_COUNT } from '@stackbench/contract';
import {
  DEFAULT_ERROR_RATE_LIMIT,
  DEFAULT_LATENCY_THRESHOLD,
  DEFAULT_PROFILE,
  ERROR_KINDS,
  REQUEST_NAMES,
  fixedSchedule,
  isProfileName,
  parseThreshold,
  resolveProfile,
  toK6ErrorRateExpression,
  toK6Expression,
  type ProfileName,
  type Threshold,
} from '../src/index.js';

/** Custom metrics the script emits (besides k6's http_reqs / http_req_duration). */
export const METRICS = {
  /**
   * Rate: one sample per request sent, true when the scenario counts it as an error (any kind). Its passes + fails
   * are the request count, its passes the error count (so requests and errors always agree).
   */
  errors: 'stackbench_errors',
  /** Counter with a `kind` tag (status, body, timeout, connection). */
  errorKinds: 'stackbench_error_kinds',
} as const;

/** Tag value of requests made during a step's warm-up (never part of a step's figures). */
export const WARMUP_TAG = 'warmup';

export interface K6Step {
  /** 1-based, the `step` tag value. */
  step: number;
  users: number;
  /** Seconds from the start of the test to the start of this step's warm-up. */
  offsetSeconds: number;
  warmupSeconds: number;
  stepSeconds: number;
}

export interface K6Plan {
  baseUrl: string;
  profile: ProfileName;
  steps: K6Step[];
  productCount: number;
  thinkMs: number;
  pageSize: number;
  requestTimeoutMs: number;
  latencyThreshold: string;
  errorRateLimit: string;
  threshold: Threshold;
  abortOnFail: boolean;
  summaryPath: string;
}

function numberEnv(env: Record<string, string | undefined>, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

/** Same rule as the embedded driver: only loopback targets (127.0.0.0/8, ::1, localhost), plain http. */
export function assertLoopbackBaseUrl(raw: string): string {
  const m = /^http:\/\/(\[[0-9a-fA-F:.]+\]|[^/:?#]+)(:\d+)?\/?$/.exec(raw);
  if (!m) throw new Error(`BASE_URL must look like http://127.0.0.1:3000, got "${raw}"`);
  const host = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
  if (!(host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing ${host}: stackbench only targets loopback addresses (127.0.0.0/8, ::1, localhost)`);
  }
  return raw.replace(/\/$/, '');
}

/**
 * Loopback only by default. `ALLOW_REMOTE_TARGET=1` lifts that for runs from Grafana Cloud k6 or a k6-operator
 * cluster against an app you deployed yourself (the target must be yours: this is load).
 */
export function targetBaseUrl(raw: string, allowRemote: boolean): string {
  if (!allowRemote) return assertLoopbackBaseUrl(raw);
  if (!/^https?:\/\/[^/?#]+\/?$/.test(raw)) throw new Error(`BASE_URL must look like https://api.example.com, got "${raw}"`);
  return raw.replace(/\/$/, '');
}

/**
 * Reads the plan from the environment:
 *   BASE_URL (http://127.0.0.1:3000), PROFILE (smoke|quick|full, default quick), STEPS (explicit users, e.g.
 *   "1,2,4,8"; overrides the profile's growth), STEP_SECONDS, WARMUP_SECONDS, INITIAL_WARMUP_SECONDS, MAX_USERS,
 *   PRODUCT_COUNT (10000), THINK_MS (0), PAGE_SIZE (20), REQUEST_TIMEOUT_MS (10000), THRESHOLD (p95<100),
 *   ERROR_RATE (1%), ABORT_ON_FAIL (true), SUMMARY_PATH (stackbench-k6-summary.json), ALLOW_REMOTE_TARGET (0).
 */
export function planFromEnv(env: Record<string, string | undefined>): K6Plan {
  const profileName = env.PROFILE || DEFAULT_PROFILE;
  if (!isProfileName(profileName)) throw new Error(`PROFILE must be smoke, quick or full, got "${profileName}"`);
  const overrides: { stepSeconds?: number; warmupSeconds?: number; initialWarmupSeconds?: number; maxUsers?: number } = {};
  if (env.STEP_SECONDS) overrides.stepSeconds = numberEnv(env, 'STEP_SECONDS', 0, 0.001);
  if (env.WARMUP_SECONDS) overrides.warmupSeconds = numberEnv(env, 'WARMUP_SECONDS', 0, 0);
  if (env.INITIAL_WARMUP_SECONDS) overrides.initialWarmupSeconds = numberEnv(env, 'INITIAL_WARMUP_SECONDS', 0, 0);
  if (env.MAX_USERS) overrides.maxUsers = numberEnv(env, 'MAX_USERS', 0, 1);
  const profile = resolveProfile(profileName, overrides);

  let users: number[];
  if (env.STEPS) {
    users = env.STEPS.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1) throw new Error(`STEPS must be a comma-separated list of positive integers, got "${env.STEPS}"`);
      return n;
    });
  } else {
    users = fixedSchedule(profile).map((s) => s.users);
  }

  const steps: K6Step[] = [];
  let offset = 0;
  users.forEach((u, i) => {
    const warmupSeconds = i === 0 ? profile.initialWarmupSeconds : profile.warmupSeconds;
    steps.push({ step: i + 1, users: u, offsetSeconds: offset, warmupSeconds, stepSeconds: profile.stepSeconds });
    offset += warmupSeconds + profile.stepSeconds;
  });

  const latencyThreshold = env.THRESHOLD || DEFAULT_LATENCY_THRESHOLD;
  const errorRateLimit = env.ERROR_RATE || DEFAULT_ERROR_RATE_LIMIT;
  return {
    baseUrl: targetBaseUrl(env.BASE_URL || 'http://127.0.0.1:3000', env.ALLOW_REMOTE_TARGET === '1'),
    profile: profileName,
    steps,
    productCount: numberEnv(env, 'PRODUCT_COUNT', DEFAULT_PRODUCT_COUNT, 1),
    thinkMs: numberEnv(env, 'THINK_MS', 0, 0),
    pageSize: numberEnv(env, 'PAGE_SIZE', 20, 1),
    requestTimeoutMs: numberEnv(env, 'REQUEST_TIMEOUT_MS', 10_000, 1),
    latencyThreshold,
    errorRateLimit,
    threshold: parseThreshold(latencyThreshold, errorRateLimit),
    abortOnFail: env.ABORT_ON_FAIL !== 'false' && env.ABORT_ON_FAIL !== '0',
    summaryPath: env.SUMMARY_PATH || 'stackbench-k6-summary.json',
  };
}

/** Sub-metric names (k6 selector syntax) for one step, optionally one endpoint or one error kind. */
export const submetric = {
  duration: (step: number, name?: string) => `http_req_duration{step:${step}${name ? `,name:${name}` : ''}}`,
  errors: (step: number, name?: string) => `${METRICS.errors}{step:${step}${name ? `,name:${name}` : ''}}`,
  errorKind: (step: number, kind: string) => `${METRICS.errorKinds}{step:${step},kind:${kind}}`,
};

/** Trend statistics the summary needs (k6 prints these and hands them to handleSummary). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)'];

function seconds(s: number): string {
  // k6 durations accept fractions ("0.5s"); keep 3 decimals to avoid float noise.
  return `${Math.round(s * 1000) / 1000}s`;
}

/**
 * k6 options for a plan. Each step is one constant-vus scenario starting at its offset; the first `warmupSeconds` of
 * it are tagged `step:warmup` by the script (same VUs and connections, not recorded). `gracefulStop` is the next
 * step's warm-up, so an iteration finishing late can only overlap an unrecorded warm-up.
 */
export function buildOptions(plan: K6Plan): Options {
  const scenarios: Record<string, Scenario> = {};
  const thresholds: Record<string, K6Threshold[]> = {};
  const latency = plan.threshold.latency.map(toK6Expression);
  const errorRate = toK6ErrorRateExpression(plan.threshold.errorRate);
  const ALWAYS = { trend: 'max>=0', counter: 'count>=0', rate: 'rate>=0' };

  plan.steps.forEach((s, i) => {
    const next = plan.steps[i + 1];
    scenarios[`step_${s.step}`] = {
      executor: 'constant-vus',
      vus: s.users,
      duration: seconds(s.warmupSeconds + s.stepSeconds),
      startTime: seconds(s.offsetSeconds),
      gracefulStop: seconds(next ? next.warmupSeconds : 1),
      tags: { users: String(s.users) },
      env: {
        STACKBENCH_STEP: String(s.step),
        STACKBENCH_WARMUP_MS: String(Math.round(s.warmupSeconds * 1000)),
        STACKBENCH_STEP_MS: String(Math.round(s.stepSeconds * 1000)),
      },
    } as Scenario;
    // Evaluated for aborting once the whole step has been measured.
    const delayAbortEval = seconds(s.offsetSeconds + s.warmupSeconds + s.stepSeconds);
    const verdict = (threshold: string): K6Threshold =>
      plan.abortOnFail ? { threshold, abortOnFail: true, delayAbortEval } : threshold;
    thresholds[submetric.duration(s.step)] = latency.map(verdict);
    thresholds[submetric.errors(s.step)] = [verdict(errorRate)];
    for (const name of REQUEST_NAMES) {
      thresholds[submetric.duration(s.step, name)] = [ALWAYS.trend];
      thresholds[submetric.errors(s.step, name)] = [ALWAYS.rate];
    }
    for (const kind of ERROR_KINDS) thresholds[submetric.errorKind(s.step, kind)] = [ALWAYS.counter];
  });

  return {
    scenarios,
    thresholds,
    summaryTrendStats: SUMMARY_TREND_STATS,
    // Keep-alive per VU (the default) — one connection per virtual user, like the embedded driver.
    noConnectionReuse: false,
    discardResponseBodies: false,
  };
}
