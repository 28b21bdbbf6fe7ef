/**
 * The k6 side of a stepped run, as pure functions (no k6 imports, so vitest can test them): read the plan from
 * __ENV, build k6 `options`, and name the metrics the script writes and the summary reads back.
 *
 * Lean by design (k6's CPU per request is part of what a run measures; see the README's k6 section): every step
 * has its OWN untagged metrics (`sb_<step>_lat`, `sb_<step>_lat_<endpoint>`, ...), so no sample is matched against
 * tag filters; response bodies are discarded except where the journey reads them; system tags are trimmed. Only a
 * standalone multi-step run (ABORT_ON_FAIL, the default outside stackbench) adds a per-request error Rate and
 * per-step thresholds with `abortOnFail` + `delayAbortEval`, because k6 evaluates thresholds over the whole run, not
 * per stage (k6 issues 1136, 2379); `stackbench bench --driver k6` runs one step per k6 process and judges it itself.
 * Several runners of one test (k6-operator, execution segments) must not abort on their own thresholds either: each
 * sees only its share of the users, so ABORT_ON_FAIL=false, `--out json=FILE`, and `stackbench k6 merge` decides.
 */
import type { Options, Scenario, Threshold as K6Threshold } from 'k6/options';
import { DEFAULT_PRODUCT_COUNT, isLoopbackHost, LOOPBACK_RULE, rawHttpHost } from '@stackbench/contract';
import {
  DEFAULT_ERROR_RATE_LIMIT,
  DEFAULT_LATENCY_THRESHOLD,
  DEFAULT_PROFILE,
  ERROR_KINDS,
  fixedSchedule,
  isProfileName,
  LOAD_MODELS,
  parseThreshold,
  COMMERCE,
  journeyNames,
  validateSpec,
  type ScenarioSpec,
  resolveProfile,
  toK6ErrorRateExpression,
  toK6Expression,
  type LoadModel,
  type ProfileName,
  type ProfileOverrides,
  type Threshold,
} from '../core/index.js';

export interface K6Step {
  /** 1-based. */
  step: number;
  model: LoadModel;
  /** Virtual users (closed) or journeys per second (open). */
  load: number;
  /** Seconds from the start of the test to the start of this step's warm-up. */
  offsetSeconds: number;
  warmupSeconds: number;
  stepSeconds: number;
}

export interface K6Plan {
  baseUrl: string;
  /** What each VU does (SCENARIO, JSON; default the commerce journey) and the endpoint names it reports under. */
  scenario: ScenarioSpec;
  names: string[];
  profile: ProfileName;
  model: LoadModel;
  steps: K6Step[];
  productCount: number;
  thinkMs: number;
  pageSize: number;
  requestTimeoutMs: number;
  /** Open model: VUs k6 may use per step (journeys in flight). */
  maxInFlight: number;
  threshold: Threshold;
  errorRateLimit: string;
  abortOnFail: boolean;
  summaryPath: string;
}

/** Names of one step's metrics. */
export function stepMetrics(step: number) {
  const p = `sb_${step}_`;
  return {
    latency: `${p}lat`,
    endpointLatency: (name: string) => `${p}lat_${name}`,
    server: `${p}srv`,
    /** Requests without a latency (connection errors), per endpoint. */
    noResponse: (name: string) => `${p}noresp_${name}`,
    endpointErrors: (name: string) => `${p}err_${name}`,
    errorKind: (kind: string) => `${p}kind_${kind}`,
    /** Gauge: the measured window's start, epoch ms. */
    windowStart: `${p}win`,
    /** Rate, standalone runs only: one sample per request, true on error. */
    errorRate: `${p}errors`,
    scenario: `step_${step}`,
    warmupScenario: `step_${step}_warmup`,
  };
}

function numberEnv(env: Record<string, string | undefined>, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

/** Same rule as the embedded driver and the CLI: only loopback targets, plain http, host as written. */
export function assertLoopbackBaseUrl(raw: string): string {
  if (!/^http:\/\/[^/?#]+\/?$/i.test(raw)) throw new Error(`BASE_URL must look like http://127.0.0.1:3000, got "${raw}"`);
  const host = rawHttpHost(raw);
  if (host === undefined) throw new Error(`BASE_URL must look like http://127.0.0.1:3000, got "${raw}"`);
  if (!isLoopbackHost(host)) throw new Error(`refusing ${host}: ${LOOPBACK_RULE}`);
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
 *   BASE_URL (http://127.0.0.1:3000), PROFILE (smoke|quick|full, default quick), MODEL (closed|open, default
 *   closed), STEPS (explicit loads, e.g. "1,2,4,8": users, or journeys/s with MODEL=open), STEP_SECONDS,
 *   WARMUP_SECONDS, INITIAL_WARMUP_SECONDS, MAX_LOAD, PRODUCT_COUNT (10000), THINK_MS (0), PAGE_SIZE (20),
 *   REQUEST_TIMEOUT_MS (10000), SCENARIO (a scenario spec as JSON, default the commerce journey), MAX_IN_FLIGHT (open: VUs per step, default from rate x timeout), THRESHOLD
 *   (p95<100), ERROR_RATE (1%), ABORT_ON_FAIL (true), SUMMARY_PATH (stackbench-k6-summary.json),
 *   ALLOW_REMOTE_TARGET (0).
 */
export function planFromEnv(env: Record<string, string | undefined>): K6Plan {
  const profileName = env.PROFILE || DEFAULT_PROFILE;
  if (!isProfileName(profileName)) throw new Error(`PROFILE must be smoke, quick or full, got "${profileName}"`);
  const model = (env.MODEL || 'closed') as LoadModel;
  if (LOAD_MODELS.indexOf(model) === -1) throw new Error(`MODEL must be closed or open, got "${env.MODEL}"`);
  const overrides: ProfileOverrides = {};
  if (env.STEP_SECONDS) overrides.stepSeconds = numberEnv(env, 'STEP_SECONDS', 0, 0.001);
  if (env.WARMUP_SECONDS) overrides.warmupSeconds = numberEnv(env, 'WARMUP_SECONDS', 0, 0);
  if (env.INITIAL_WARMUP_SECONDS) overrides.initialWarmupSeconds = numberEnv(env, 'INITIAL_WARMUP_SECONDS', 0, 0);
  const growth: { max?: number; steps?: number[] } = {};
  if (env.MAX_LOAD) growth.max = numberEnv(env, 'MAX_LOAD', 0, 1);
  if (env.STEPS) {
    growth.steps = env.STEPS.split(',').map((s) => {
      const n = Number(s.trim());
      if (!(n > 0) || Math.floor(n) !== n) throw new Error(`STEPS must be a comma-separated list of positive integers, got "${env.STEPS}"`);
      return n;
    });
  }
  overrides[model] = growth;
  const profile = resolveProfile(profileName, overrides);

  const steps: K6Step[] = [];
  let offset = 0;
  for (const s of fixedSchedule(profile, model)) {
    steps.push({ step: s.index + 1, model, load: s.load, offsetSeconds: offset, warmupSeconds: s.warmupSeconds, stepSeconds: s.stepSeconds });
    offset += s.warmupSeconds + s.stepSeconds;
  }

  // k6 refuses constant-vus and constant-arrival-rate scenarios under 1 s: closed steps run one for warm-up + window,
  // open steps one for the window. Say so before k6 does.
  for (const s of steps) {
    const constantSeconds = model === 'closed' ? s.warmupSeconds + s.stepSeconds : s.stepSeconds;
    if (constantSeconds < 1) {
      throw new Error(`${model === 'closed' ? 'warm-up + STEP_SECONDS' : 'STEP_SECONDS'} must be >= 1 (k6 runs no constant scenario shorter than 1 s), step ${s.step} has ${constantSeconds}`);
    }
  }
  const requestTimeoutMs = numberEnv(env, 'REQUEST_TIMEOUT_MS', 10_000, 1);
  let scenario: ScenarioSpec = COMMERCE;
  if (env.SCENARIO) {
    try {
      scenario = validateSpec(JSON.parse(env.SCENARIO) as ScenarioSpec);
    } catch (err) {
      throw new Error(`SCENARIO must be a scenario spec as JSON: ${(err as Error).message}`);
    }
  }
  const maxLoad = steps.length ? steps[steps.length - 1]!.load : 1;
  const errorRateLimit = env.ERROR_RATE || DEFAULT_ERROR_RATE_LIMIT;
  return {
    baseUrl: targetBaseUrl(env.BASE_URL || 'http://127.0.0.1:3000', env.ALLOW_REMOTE_TARGET === '1'),
    scenario,
    names: journeyNames(scenario),
    profile: profileName,
    model,
    steps,
    productCount: numberEnv(env, 'PRODUCT_COUNT', DEFAULT_PRODUCT_COUNT, 1),
    thinkMs: numberEnv(env, 'THINK_MS', 0, 0),
    pageSize: numberEnv(env, 'PAGE_SIZE', 20, 1),
    requestTimeoutMs,
    maxInFlight: numberEnv(env, 'MAX_IN_FLIGHT', Math.min(2000, Math.max(64, Math.ceil(maxLoad * (requestTimeoutMs / 1000)))), 1),
    threshold: parseThreshold(env.THRESHOLD || DEFAULT_LATENCY_THRESHOLD, errorRateLimit),
    errorRateLimit,
    abortOnFail: env.ABORT_ON_FAIL !== 'false' && env.ABORT_ON_FAIL !== '0',
    summaryPath: env.SUMMARY_PATH || 'stackbench-k6-summary.json',
  };
}

/** Trend statistics the summary needs (k6 hands these to handleSummary). */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(50)', 'p(90)', 'p(95)', 'p(99)', 'count'];

/** Tags k6 attaches to every sample by itself: trimmed (no `url`, whose random `after` makes a tag set per request). */
export const SYSTEM_TAGS = ['status', 'method', 'name', 'scenario', 'error_code', 'expected_response'];

function seconds(s: number): string {
  // k6 durations accept fractions ("0.5s"); keep 3 decimals to avoid float noise.
  return `${Math.round(s * 1000) / 1000}s`;
}

/**
 * k6 options for a plan. Closed model: one constant-vus scenario per step whose first `warmupSeconds` are not
 * recorded (same VUs and connections). Open model: a warm-up scenario at the step's rate (ramping-arrival-rate held
 * constant), then the measured constant-arrival-rate one (k6 drops an iteration it cannot start on time:
 * `dropped_iterations`, counted as `dropped` errors). Each scenario tells its VUs where the measured window lies
 * (STACKBENCH_WINDOW_OFFSET_MS from the scenario's start).
 */
export function buildOptions(plan: K6Plan): Options {
  const scenarios: Record<string, Scenario> = {};
  const thresholds: Record<string, K6Threshold[]> = {};
  const envFor = (s: K6Step, windowOffsetMs: number) => ({
    STACKBENCH_STEP: String(s.step),
    STACKBENCH_WINDOW_OFFSET_MS: String(windowOffsetMs),
    STACKBENCH_STEP_MS: String(Math.round(s.stepSeconds * 1000)),
  });

  plan.steps.forEach((s, i) => {
    const names = stepMetrics(s.step);
    const next = plan.steps[i + 1];
    const gracefulStop = seconds(next ? next.warmupSeconds : 1);
    const warmupMs = Math.round(s.warmupSeconds * 1000);
    if (s.model === 'closed') {
      scenarios[names.scenario] = {
        executor: 'constant-vus',
        vus: s.load,
        duration: seconds(s.warmupSeconds + s.stepSeconds),
        startTime: seconds(s.offsetSeconds),
        gracefulStop,
        env: envFor(s, warmupMs),
      } as Scenario;
    } else {
      const vus = { preAllocatedVUs: Math.min(plan.maxInFlight, Math.max(1, Math.ceil(s.load / 10))), maxVUs: plan.maxInFlight };
      // k6 refuses constant-* scenarios shorter than 1 s, and the profiles warm up for 0.5 s: the warm-up is a
      // ramping-arrival-rate held at the step's rate (stages have no minimum length), i.e. the same arrivals.
      if (s.warmupSeconds > 0) {
        scenarios[names.warmupScenario] = {
          executor: 'ramping-arrival-rate',
          startRate: s.load,
          timeUnit: '1s',
          stages: [{ duration: seconds(s.warmupSeconds), target: s.load }],
          startTime: seconds(s.offsetSeconds),
          ...vus,
          gracefulStop,
          env: envFor(s, warmupMs),
        } as Scenario;
      }
      scenarios[names.scenario] = {
        executor: 'constant-arrival-rate',
        rate: s.load,
        timeUnit: '1s',
        duration: seconds(s.stepSeconds),
        startTime: seconds(s.offsetSeconds + s.warmupSeconds),
        ...vus,
        gracefulStop,
        env: envFor(s, 0),
      } as Scenario;
      thresholds[`dropped_iterations{scenario:${names.scenario}}`] = ['count>=0'];
    }
    if (plan.abortOnFail) {
      const delayAbortEval = seconds(s.offsetSeconds + s.warmupSeconds + s.stepSeconds);
      const verdict = (threshold: string): K6Threshold => ({ threshold, abortOnFail: true, delayAbortEval });
      thresholds[names.latency] = plan.threshold.latency.map(toK6Expression).map(verdict);
      thresholds[names.errorRate] = [verdict(toK6ErrorRateExpression(plan.threshold.errorRate))];
    }
  });

  return {
    scenarios,
    thresholds,
    summaryTrendStats: SUMMARY_TREND_STATS,
    systemTags: SYSTEM_TAGS,
    // Keep-alive per VU (the default): one connection per virtual user, like the embedded driver.
    noConnectionReuse: false,
    // Bodies only where the journey reads them (those requests ask for responseType 'text').
    discardResponseBodies: true,
  } as Options;
}

/**
 * What every runner of one distributed run shares: the script tags each step's window marker (`sb_<step>_win`, one
 * sample per VU and step) with it, so that `stackbench k6 merge` can refuse files of different plans and knows the
 * steps, loads, windows and threshold without the runners' environment.
 */
export interface K6RunIdentity {
  model: LoadModel;
  profile: ProfileName;
  baseUrl: string;
  names: string[];
  productCount: number;
  thinkMs: number;
  threshold: string;
  errorRate: string;
  steps: Array<{ step: number; load: number; warmupSeconds: number; stepSeconds: number }>;
}

/** Tag of the window marker: the run identity as JSON. */
export const RUN_TAG = 'sb_run';
/** Tag of the window marker: this runner's k6 execution segment (`0:1/4`; `0:1` when k6 runs alone). */
export const SEGMENT_TAG = 'sb_segment';

export function runIdentity(plan: K6Plan): K6RunIdentity {
  return {
    model: plan.model,
    profile: plan.profile,
    baseUrl: plan.baseUrl,
    names: plan.names.slice(),
    productCount: plan.productCount,
    thinkMs: plan.thinkMs,
    threshold: plan.threshold.text,
    errorRate: plan.errorRateLimit,
    steps: plan.steps.map((s) => ({ step: s.step, load: s.load, warmupSeconds: s.warmupSeconds, stepSeconds: s.stepSeconds })),
  };
}

/** Every metric name of a plan's steps, for the script to create in its init context. */
export function allStepMetricNames(plan: K6Plan) {
  return plan.steps.map((s) => {
    const n = stepMetrics(s.step);
    return {
      step: s.step,
      latency: n.latency,
      endpointLatency: plan.names.map((name) => ({ name, metric: n.endpointLatency(name) })),
      server: n.server,
      noResponse: plan.names.map((name) => ({ name, metric: n.noResponse(name) })),
      endpointErrors: plan.names.map((name) => ({ name, metric: n.endpointErrors(name) })),
      errorKinds: ERROR_KINDS.map((kind) => ({ kind, metric: n.errorKind(kind) })),
      windowStart: n.windowStart,
      errorRate: n.errorRate,
    };
  });
}
