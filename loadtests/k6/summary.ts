/**
 * Turns k6's handleSummary data into stackbench's per-step figures — the same shape as the embedded driver's
 * StepMeasurement as far as k6's summary allows (no driver self-measurement, no created-order list).
 * Pure: no k6 imports, unit-tested with synthetic summary data.
 */
import {
  ERROR_KINDS,
  REQUEST_NAMES,
  evaluateStep,
  summarizeSteps,
  type ErrorKind,
  type LatencyStat,
} from '../src/index.js';
import { submetric, type K6Plan } from './plan.js';

export interface K6LatencySummary {
  avg: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export interface K6StepSummary {
  step: number;
  users: number;
  /** Measured seconds of the step (shorter when the run was aborted during it). */
  seconds: number;
  requests: number;
  rps: number;
  errors: number;
  errorRate: number;
  errorsByKind: Record<ErrorKind, number>;
  latencyMs: K6LatencySummary;
  endpoints: Record<string, { requests: number; errors: number; latencyMs: K6LatencySummary }>;
  /** Whether the step ran at all (k6 aborted the run before it otherwise). */
  ran: boolean;
  /** k6's per-step threshold verdict (latency and error rate); false when the step did not run. */
  passed: boolean;
  /** Why the step failed, recomputed from the figures with the same rules as the embedded driver. */
  reasons: string[];
}

export interface K6RunSummary {
  engine: 'k6';
  baseUrl: string;
  profile: string;
  threshold: { latency: string; errorRate: string };
  productCount: number;
  thinkMs: number;
  testRunDurationMs: number;
  steps: K6StepSummary[];
  /** Largest user count that passed below the first failing one; null if the first step failed. */
  breakpoint: number | null;
  firstFailing: number | null;
  capped: boolean;
}

interface MetricData {
  values?: Record<string, number>;
  thresholds?: Record<string, { ok?: boolean }>;
}

function metricsOf(data: unknown): Record<string, MetricData> {
  const m = (data as { metrics?: unknown } | null)?.metrics;
  return m && typeof m === 'object' ? (m as Record<string, MetricData>) : {};
}

function value(metric: MetricData | undefined, key: string): number {
  const v = metric && metric.values ? metric.values[key] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function latency(metric: MetricData | undefined): K6LatencySummary {
  return {
    avg: value(metric, 'avg'),
    p50: metric && metric.values && 'p(50)' in metric.values ? value(metric, 'p(50)') : value(metric, 'med'),
    p90: value(metric, 'p(90)'),
    p95: value(metric, 'p(95)'),
    p99: value(metric, 'p(99)'),
    max: value(metric, 'max'),
  };
}

/** Requests and errors from the stackbench_errors Rate: passes = errors, passes + fails = requests. */
function counts(metric: MetricData | undefined): { requests: number; errors: number } {
  const errors = value(metric, 'passes');
  return { requests: errors + value(metric, 'fails'), errors };
}

function thresholdsOk(metric: MetricData | undefined): boolean {
  if (!metric || !metric.thresholds) return true;
  return Object.keys(metric.thresholds).every((k) => metric.thresholds![k]!.ok !== false);
}

function round(n: number, digits = 3): number {
  const f = Math.pow(10, digits);
  return Math.round(n * f) / f;
}

export function summarize(data: unknown, plan: K6Plan): K6RunSummary {
  const metrics = metricsOf(data);
  const state = (data as { state?: { testRunDurationMs?: number } } | null)?.state;
  const runMs = state && typeof state.testRunDurationMs === 'number' ? state.testRunDurationMs : 0;
  const steps: K6StepSummary[] = plan.steps.map((s) => {
    const duration = metrics[submetric.duration(s.step)];
    const errorsMetric = metrics[submetric.errors(s.step)];
    const { requests, errors } = counts(errorsMetric);
    const measuredFrom = (s.offsetSeconds + s.warmupSeconds) * 1000;
    const seconds = runMs > 0 ? Math.max(0, Math.min(s.stepSeconds, (runMs - measuredFrom) / 1000)) : s.stepSeconds;
    const errorsByKind = {} as Record<ErrorKind, number>;
    for (const kind of ERROR_KINDS) errorsByKind[kind] = value(metrics[submetric.errorKind(s.step, kind)], 'count');
    const endpoints: K6StepSummary['endpoints'] = {};
    for (const name of REQUEST_NAMES) {
      const c = counts(metrics[submetric.errors(s.step, name)]);
      endpoints[name] = { requests: c.requests, errors: c.errors, latencyMs: latency(metrics[submetric.duration(s.step, name)]) };
    }
    const latencyMs = latency(duration);
    const ran = requests > 0;
    const verdict = evaluateStep(
      { requests, errors, errorRate: requests > 0 ? errors / requests : 0, latencyMs: latencyMs as Record<LatencyStat, number> },
      plan.threshold,
    );
    return {
      step: s.step,
      users: s.users,
      seconds: round(seconds),
      requests,
      rps: seconds > 0 ? round(requests / seconds, 1) : 0,
      errors,
      errorRate: requests > 0 ? round(errors / requests, 6) : 0,
      errorsByKind,
      latencyMs,
      endpoints,
      ran,
      passed: ran && thresholdsOk(duration) && thresholdsOk(errorsMetric),
      reasons: ran ? verdict.reasons : ['step did not run'],
    };
  });
  const ranSteps = steps.filter((s) => s.ran);
  const outcome = summarizeSteps(
    ranSteps.map((s) => ({ users: s.users, passed: s.passed, phase: 'growth' as const })),
    plan.steps.length > 0 ? plan.steps[plan.steps.length - 1]!.users : undefined,
  );
  return {
    engine: 'k6',
    baseUrl: plan.baseUrl,
    profile: plan.profile,
    threshold: { latency: plan.latencyThreshold, errorRate: plan.errorRateLimit },
    productCount: plan.productCount,
    thinkMs: plan.thinkMs,
    testRunDurationMs: runMs,
    steps,
    breakpoint: outcome.breakpoint,
    firstFailing: outcome.firstFailing,
    capped: outcome.capped,
  };
}

/** A short plain-text table for k6's stdout (replaces k6's own end-of-test summary). */
export function renderText(summary: K6RunSummary): string {
  const lines = [`stackbench k6 run against ${summary.baseUrl} (profile ${summary.profile}, ${summary.threshold.latency}, errors < ${summary.threshold.errorRate})`];
  lines.push('step  users  requests      rps    p50 ms    p95 ms    p99 ms  errors  verdict');
  for (const s of summary.steps) {
    if (!s.ran) {
      lines.push(`${pad(s.step, 4)}  ${pad(s.users, 5)}  (not run)`);
      continue;
    }
    lines.push(
      `${pad(s.step, 4)}  ${pad(s.users, 5)}  ${pad(s.requests, 8)}  ${pad(s.rps.toFixed(1), 7)}  ${pad(s.latencyMs.p50.toFixed(2), 8)}  ${pad(
        s.latencyMs.p95.toFixed(2),
        8,
      )}  ${pad(s.latencyMs.p99.toFixed(2), 8)}  ${pad(s.errors, 6)}  ${s.passed ? 'pass' : `FAIL ${s.reasons.join('; ')}`}`,
    );
  }
  lines.push(`breakpoint: ${summary.breakpoint === null ? 'none (the first step failed)' : `${summary.breakpoint} users${summary.capped ? ' (capped: every step passed)' : ''}`}`);
  return lines.join('\n') + '\n';
}

function pad(v: string | number, width: number): string {
  let s = String(v);
  while (s.length < width) s = ' ' + s;
  return s;
}
