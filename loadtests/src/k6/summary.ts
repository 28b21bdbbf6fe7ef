/**
 * Turns k6's handleSummary data into stackbench's per-step figures: the shared StepMeasurement (../src/measurement.ts)
 * minus what only the orchestrator knows (k6's own CPU, sampled from /proc by the runner), plus the measured
 * window's start on the wall clock. Pure: no k6 imports, unit-tested with real and synthetic summary data.
 */
import { ERROR_KINDS, evaluateStep, summarizeSteps, type LatencyStat } from '../core/index.js';
import type { EndpointFigures, ErrorsByKind, Latency, StepMeasurement } from '../measurement.js';
import { stepMetrics, type K6Plan } from './plan.js';

export type K6Measurement = Omit<StepMeasurement, 'driver'>;

export interface K6StepSummary {
  step: number;
  /** Whether the step ran at all (k6 aborted the run before it otherwise). */
  ran: boolean;
  /** Start of the measured window, epoch ms (null when the step did not run). */
  windowStartMs: number | null;
  measurement: K6Measurement;
  /** The verdict with the same rules as the embedded driver's orchestrator (false when the step did not run). */
  passed: boolean;
  reasons: string[];
}

export interface K6RunSummary {
  engine: 'k6';
  baseUrl: string;
  profile: string;
  model: string;
  threshold: { latency: string; errorRate: string };
  productCount: number;
  thinkMs: number;
  testRunDurationMs: number;
  steps: K6StepSummary[];
  /** Largest load that passed below the first failing one; null if the first step failed. */
  breakpoint: number | null;
  firstFailing: number | null;
  capped: boolean;
}

interface MetricData {
  values?: Record<string, number>;
}

function metricsOf(data: unknown): Record<string, MetricData> {
  const m = (data as { metrics?: unknown } | null)?.metrics;
  return m && typeof m === 'object' ? (m as Record<string, MetricData>) : {};
}

function value(metric: MetricData | undefined, key: string): number {
  const v = metric && metric.values ? metric.values[key] : undefined;
  return typeof v === 'number' && isFinite(v) ? v : 0;
}

const round = (n: number, digits = 3) => Math.round(n * Math.pow(10, digits)) / Math.pow(10, digits);

function latency(metric: MetricData | undefined): Latency {
  const stat = (key: string) => round(value(metric, key));
  return { avg: stat('avg'), p50: metric && metric.values && 'p(50)' in metric.values ? stat('p(50)') : stat('med'), p90: stat('p(90)'), p95: stat('p(95)'), p99: stat('p(99)'), max: stat('max') };
}

export function summarize(data: unknown, plan: K6Plan): K6RunSummary {
  const metrics = metricsOf(data);
  const state = (data as { state?: { testRunDurationMs?: number } } | null)?.state;
  const runMs = state && typeof state.testRunDurationMs === 'number' ? state.testRunDurationMs : 0;
  const steps: K6StepSummary[] = plan.steps.map((s) => {
    const n = stepMetrics(s.step);
    const endpoints: Record<string, EndpointFigures> = {};
    let requests = 0;
    let errors = 0;
    const dropped = s.model === 'open' ? value(metrics[`dropped_iterations{scenario:${n.scenario}}`], 'count') : 0;
    for (const name of plan.names) {
      const lat = metrics[n.endpointLatency(name)];
      const epErrors = value(metrics[n.endpointErrors(name)], 'count') + (name === plan.names[0] ? dropped : 0);
      const epRequests = value(lat, 'count') + value(metrics[n.noResponse(name)], 'count') + (name === plan.names[0] ? dropped : 0);
      requests += epRequests;
      errors += epErrors;
      if (epRequests > 0) endpoints[name] = { requests: epRequests, errors: epErrors, latencyMs: latency(lat) };
    }
    const errorsByKind = {} as ErrorsByKind;
    for (const kind of ERROR_KINDS) errorsByKind[kind] = value(metrics[n.errorKind(kind)], 'count');
    errorsByKind.dropped += dropped;
    const measuredFrom = (s.offsetSeconds + s.warmupSeconds) * 1000;
    const seconds = runMs > 0 ? Math.max(0.001, Math.min(s.stepSeconds, (runMs - measuredFrom) / 1000)) : s.stepSeconds;
    const server = metrics[n.server];
    const measurement: K6Measurement = {
      model: s.model,
      load: s.load,
      seconds: round(seconds),
      requests,
      rps: round((requests - dropped) / seconds, 1),
      errors,
      errorRate: requests > 0 ? round(errors / requests, 6) : 0,
      errorsByKind,
      latencyMs: latency(metrics[n.latency]),
      serverMs: value(server, 'count') > 0 ? latency(server) : null,
      endpoints,
      maxRequestsReached: false,
      errorSamples: [],
    };
    const ran = requests > 0;
    const verdict = evaluateStep({ requests, errors, errorRate: measurement.errorRate, latencyMs: measurement.latencyMs as Record<LatencyStat, number> }, plan.threshold);
    const windowStart = value(metrics[n.windowStart], 'value');
    return {
      step: s.step,
      ran,
      windowStartMs: ran && windowStart > 0 ? windowStart : null,
      measurement,
      passed: ran && verdict.passed,
      reasons: ran ? verdict.reasons : ['step did not run'],
    };
  });
  const ranSteps = steps.filter((s) => s.ran);
  const outcome = summarizeSteps(
    ranSteps.map((s) => ({ load: s.measurement.load, passed: s.passed, phase: 'growth' as const })),
    plan.steps.length > 0 ? plan.steps[plan.steps.length - 1]!.load : undefined,
  );
  return {
    engine: 'k6',
    baseUrl: plan.baseUrl,
    profile: plan.profile,
    model: plan.model,
    threshold: { latency: plan.threshold.text, errorRate: plan.errorRateLimit },
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
  const unit = summary.model === 'open' ? 'rate/s' : ' users';
  const lines = [`stackbench k6 run against ${summary.baseUrl} (profile ${summary.profile}, ${summary.model} model, ${summary.threshold.latency}, errors < ${summary.threshold.errorRate})`];
  lines.push(`step  ${unit}  requests      rps    p50 ms    p95 ms    p99 ms  server p95  errors  verdict`);
  for (const s of summary.steps) {
    const m = s.measurement;
    if (!s.ran) {
      lines.push(`${pad(s.step, 4)}  ${pad(m.load, 6)}  (not run)`);
      continue;
    }
    const server = m.serverMs ? m.serverMs.p95.toFixed(2) : '-';
    lines.push(
      `${pad(s.step, 4)}  ${pad(m.load, 6)}  ${pad(m.requests, 8)}  ${pad(m.rps.toFixed(1), 7)}  ${pad(m.latencyMs.p50.toFixed(2), 8)}  ${pad(m.latencyMs.p95.toFixed(2), 8)}  ${pad(
        m.latencyMs.p99.toFixed(2),
        8,
      )}  ${pad(server, 10)}  ${pad(m.errors, 6)}  ${s.passed ? 'pass' : `FAIL ${s.reasons.join('; ')}`}`,
    );
  }
  const bp = summary.breakpoint;
  lines.push(`breakpoint: ${bp === null ? 'none (the first step failed)' : `${bp}${summary.model === 'open' ? ' journeys/s' : ' users'}${summary.capped ? ' (capped: every step passed)' : ''}`}`);
  return lines.join('\n') + '\n';
}

function pad(v: string | number, width: number): string {
  let s = String(v);
  while (s.length < width) s = ' ' + s;
  return s;
}
