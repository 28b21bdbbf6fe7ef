/**
 * Latency and error-rate thresholds, and a step's verdict against them.
 *
 * Latency syntax: `<stat><op><value>[unit]`, several joined by commas (all must hold):
 *   stat  avg | p50 | med | p90 | p95 | p99 | max   (k6's `p(95)` spelling is accepted too)
 *   op    <  | <=
 *   value a positive number; unit ms (default) or s.       Examples: `p95<100`, `p99<=250ms`, `avg<0.05s,p99<200`
 * Error-rate limit: `<1%` style: `1%`, `0.5%`, `0.01` (a fraction), with an optional leading `<` or `<=`.
 * Defaults: `p95<100` and error rate < 1 %.
 */

export const LATENCY_STATS = ['avg', 'p50', 'p90', 'p95', 'p99', 'max'] as const;
export type LatencyStat = (typeof LATENCY_STATS)[number];
export type Comparison = '<' | '<=';

export interface LatencyCondition {
  stat: LatencyStat;
  op: Comparison;
  /** Milliseconds. */
  limitMs: number;
}

export interface ErrorRateLimit {
  op: Comparison;
  /** Fraction (0.01 = 1 %). */
  limit: number;
}

export interface Threshold {
  /** Normalized text of the latency conditions, e.g. `p95<100` or `avg<50,p99<=250`. */
  text: string;
  latency: LatencyCondition[];
  errorRate: ErrorRateLimit;
}

export const DEFAULT_LATENCY_THRESHOLD = 'p95<100';
export const DEFAULT_ERROR_RATE_LIMIT = '1%';

export class ThresholdParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThresholdParseError';
  }
}

const STAT_ALIASES: Record<string, LatencyStat> = {
  avg: 'avg',
  mean: 'avg',
  p50: 'p50',
  med: 'p50',
  median: 'p50',
  'p(50)': 'p50',
  p90: 'p90',
  'p(90)': 'p90',
  p95: 'p95',
  'p(95)': 'p95',
  p99: 'p99',
  'p(99)': 'p99',
  max: 'max',
};

const CONDITION_RE = /^([a-z]+|p\(\d+\)|p\d+)\s*(<=|<)\s*(\d+(?:\.\d+)?)\s*(ms|s)?$/;

export function parseLatencyCondition(text: string): LatencyCondition {
  const trimmed = text.trim().toLowerCase();
  const m = CONDITION_RE.exec(trimmed);
  if (!m) {
    throw new ThresholdParseError(
      `cannot parse latency threshold "${text}" (expected e.g. p95<100, p99<=250ms, avg<0.05s; stats: avg, p50, p90, p95, p99, max)`,
    );
  }
  const stat = STAT_ALIASES[m[1]!];
  if (!stat) throw new ThresholdParseError(`unknown latency statistic "${m[1]}" in "${text}" (known: avg, p50, p90, p95, p99, max)`);
  const value = Number(m[3]) * (m[4] === 's' ? 1000 : 1);
  if (!(value > 0)) throw new ThresholdParseError(`latency limit must be > 0 in "${text}"`);
  return { stat, op: m[2] as Comparison, limitMs: value };
}

export function parseLatencyThreshold(text: string = DEFAULT_LATENCY_THRESHOLD): LatencyCondition[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new ThresholdParseError(`empty latency threshold "${text}"`);
  return parts.map(parseLatencyCondition);
}

export function parseErrorRateLimit(text: string | number = DEFAULT_ERROR_RATE_LIMIT): ErrorRateLimit {
  if (typeof text === 'number') {
    if (!(text >= 0 && text <= 1)) throw new ThresholdParseError(`error-rate limit must be a fraction from 0 to 1, got ${text}`);
    return { op: '<', limit: text };
  }
  const m = /^(<=|<)?\s*(\d+(?:\.\d+)?)\s*(%)?$/.exec(text.trim().replace(/^(errors?|rate)\s*/i, ''));
  if (!m) throw new ThresholdParseError(`cannot parse error-rate limit "${text}" (expected e.g. 1%, <0.5%, 0.01)`);
  const limit = Number(m[2]) / (m[3] ? 100 : 1);
  if (!(limit >= 0 && limit <= 1)) throw new ThresholdParseError(`error-rate limit must be between 0 and 100 %, got "${text}"`);
  // `0%` only makes sense as "no errors at all".
  const op: Comparison = m[1] === '<=' || limit === 0 ? '<=' : '<';
  return { op, limit };
}

export function parseThreshold(latency: string = DEFAULT_LATENCY_THRESHOLD, errorRate: string | number = DEFAULT_ERROR_RATE_LIMIT): Threshold {
  const conditions = parseLatencyThreshold(latency);
  return { text: conditions.map(formatLatencyCondition).join(','), latency: conditions, errorRate: parseErrorRateLimit(errorRate) };
}

export const DEFAULT_THRESHOLD: Threshold = parseThreshold();

export function formatLatencyCondition(c: LatencyCondition): string {
  return `${c.stat}${c.op}${c.limitMs}`;
}

export function formatThreshold(t: Pick<Threshold, 'latency' | 'errorRate'>): string {
  return `${t.latency.map(formatLatencyCondition).join(',')} errors${t.errorRate.op}${round(t.errorRate.limit * 100)}%`;
}

/** For people: `p95 < 100 ms`, `avg < 50 ms and p99 ≤ 250 ms`. */
export function describeLatencyThreshold(t: Pick<Threshold, 'latency'>): string {
  return t.latency.map((c) => `${c.stat} ${c.op === '<' ? '<' : '≤'} ${c.limitMs} ms`).join(' and ');
}

/** k6's threshold expression for a condition on a Trend in milliseconds, e.g. `p(95)<100`. */
export function toK6Expression(c: LatencyCondition): string {
  const stat = c.stat === 'avg' || c.stat === 'max' ? c.stat : c.stat === 'p50' ? 'med' : `p(${c.stat.slice(1)})`;
  return `${stat}${c.op}${c.limitMs}`;
}

/** k6's threshold expression for a Rate metric of errors, e.g. `rate<0.01`. */
export function toK6ErrorRateExpression(e: ErrorRateLimit): string {
  return `rate${e.op}${e.limit}`;
}

export interface StepFigures {
  requests: number;
  errors: number;
  /** errors / requests (0 when there were no requests). */
  errorRate: number;
  latencyMs: Record<LatencyStat, number>;
}

export interface Verdict {
  passed: boolean;
  /** Why the step failed (empty when it passed), e.g. `p95 112.4 ms is not < 100 ms`. */
  reasons: string[];
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function holds(value: number, op: Comparison, limit: number): boolean {
  return op === '<' ? value < limit : value <= limit;
}

/** A step's verdict: every latency condition holds, the error rate is within its limit, and something was measured. */
export function evaluateStep(figures: StepFigures, threshold: Pick<Threshold, 'latency' | 'errorRate'> = DEFAULT_THRESHOLD): Verdict {
  const reasons: string[] = [];
  if (figures.requests <= 0) {
    reasons.push('no requests completed');
    return { passed: false, reasons };
  }
  for (const c of threshold.latency) {
    const value = figures.latencyMs[c.stat];
    if (!(typeof value === 'number' && holds(value, c.op, c.limitMs))) {
      reasons.push(`${c.stat} ${round(value)} ms is not ${c.op} ${c.limitMs} ms`);
    }
  }
  const rate = figures.requests > 0 ? figures.errors / figures.requests : 0;
  if (!holds(rate, threshold.errorRate.op, threshold.errorRate.limit)) {
    reasons.push(
      `error rate ${round(rate * 100)} % (${figures.errors}/${figures.requests}) is not ${threshold.errorRate.op} ${round(threshold.errorRate.limit * 100)} %`,
    );
  }
  return { passed: reasons.length === 0, reasons };
}
