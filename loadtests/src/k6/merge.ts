/**
 * Merges the raw samples of several k6 runners of one stepped run (k6-operator pods, or any k6 processes started
 * with `--execution-segment`) into one judgement per step: what `stackbench k6 merge` prints and writes.
 *
 * Why raw samples: each runner sees only its share of the users, and percentiles cannot be combined (the p95 of
 * four p95s is no p95). k6's own JSON output (`k6 run --out json=FILE`, optionally FILE.gz) has one line per sample;
 * stepped.ts already writes every step's figures to metrics of their own (`sb_<step>_lat`, ... see plan.ts), so a
 * sample's metric name says its step and role, and the step's window marker (`sb_<step>_win`, one sample per VU)
 * carries the run's identity and the runner's execution segment as tags. Nothing else is needed, and nothing is
 * approximated: the merged percentiles are k6's own definition (linear interpolation between the closest ranks)
 * over all runners' samples, so merging a single runner's file reproduces that runner's summary exactly.
 *
 * Pure: lines in, figures out, no Node or k6 APIs (the command reads the files: packages/bench/src/commands/k6.ts).
 * Like the rest of src/k6 it type-checks as ES2017; the k6 script itself never imports it.
 */
import { ERROR_KINDS, evaluateStep, parseThreshold, summarizeSteps, type LatencyStat, type Threshold } from '../core/index.js';
import type { EndpointFigures, ErrorsByKind, Latency } from '../measurement.js';
import { RUN_TAG, SEGMENT_TAG, type K6RunIdentity } from './plan.js';
import type { K6Measurement, K6RunSummary, K6StepSummary } from './summary.js';

/** Bad input for a merge: one line for the user (the CLI prints it and exits 1). */
export class K6MergeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'K6MergeError';
  }
}

/** One runner's samples of one step. */
export interface RunnerStepSamples {
  /** Window markers seen: one per VU that entered the step, i.e. the runner's users for it (closed model). */
  vus: number;
  /** Start of the measured window on this runner, epoch ms. */
  windowStartMs: number;
  latency: number[];
  server: number[];
  endpointLatency: Record<string, number[]>;
  /** Requests without a latency (connection errors), per endpoint. */
  noResponse: Record<string, number>;
  endpointErrors: Record<string, number>;
  errorKinds: Record<string, number>;
  /** Open model: journeys k6 could not start in the measured scenario. */
  dropped: number;
}

/** Everything the merge needs from one runner's file. */
export interface RunnerSamples {
  label: string;
  identity: K6RunIdentity;
  /** The identity as the runner wrote it (runners of one run write the same text). */
  identityText: string;
  segment: string;
  /** First and last sample of any metric, epoch ms: the runner's run on the wall clock. */
  firstSampleMs: number;
  lastSampleMs: number;
  /** Keyed by step number. */
  steps: Record<string, RunnerStepSamples>;
}

/** `sb_<step>_<role>[_<name>]`: roles have no underscore, so the name (an endpoint or error kind) is the rest. */
const STEP_METRIC = /^sb_(\d+)_(lat|srv|noresp|errors|err|kind|win)(?:_(.+))?$/;
const MEASURED_SCENARIO = /^step_(\d+)$/;

interface PointEnvelope {
  type?: unknown;
  metric?: unknown;
  data?: { time?: unknown; value?: unknown; tags?: unknown } | null;
}

function emptyStep(): RunnerStepSamples {
  return { vus: 0, windowStartMs: Infinity, latency: [], server: [], endpointLatency: {}, noResponse: {}, endpointErrors: {}, errorKinds: {}, dropped: 0 };
}

function add(record: Record<string, number>, key: string, value: number): void {
  record[key] = (record[key] || 0) + value;
}

/**
 * Reads one runner's k6 JSON output line by line (`addLine`), keeping only stackbench's step metrics and the
 * measured scenarios' dropped iterations; `finish` says what the file holds or why it cannot be merged.
 */
export class K6JsonRunnerReader {
  private lineNumber = 0;
  private k6Lines = 0;
  private markers = 0;
  private identityText: string | null = null;
  private segment: string | null = null;
  private firstSampleMs = Infinity;
  private lastSampleMs = -Infinity;
  private readonly steps: Record<string, RunnerStepSamples> = {};

  constructor(readonly label: string) {}

  addLine(raw: string): void {
    this.lineNumber++;
    const line = raw.trim();
    if (line === '') return;
    if (line.charAt(0) !== '{' || line.charAt(line.length - 1) !== '}') throw this.notK6();
    // Most lines are k6's built-in metrics (http_req_*, iterations, vus, ...): only their time matters, so they are
    // not parsed. A line naming one of our metrics (or a tag that looks like one) is.
    if (line.indexOf('"sb_') === -1 && line.indexOf('"dropped_iterations"') === -1) {
      const at = line.indexOf('"time":"');
      if (at !== -1) this.seen(Date.parse(line.slice(at + 8, line.indexOf('"', at + 8))));
      else if (line.indexOf('"type":"Metric"') === -1) throw this.notK6();
      this.k6Lines++;
      return;
    }
    let envelope: PointEnvelope;
    try {
      envelope = JSON.parse(line) as PointEnvelope;
    } catch {
      throw this.notK6();
    }
    if (!envelope || typeof envelope.metric !== 'string' || (envelope.type !== 'Point' && envelope.type !== 'Metric')) throw this.notK6();
    this.k6Lines++;
    if (envelope.type === 'Metric') return;
    const data = envelope.data;
    const value = data ? data.value : undefined;
    const time = data && typeof data.time === 'string' ? Date.parse(data.time) : NaN;
    if (typeof value !== 'number' || !isFinite(time)) throw this.notK6();
    this.seen(time);
    const tags = data && data.tags && typeof data.tags === 'object' ? (data.tags as Record<string, unknown>) : {};
    if (envelope.metric === 'dropped_iterations') {
      const scenario = MEASURED_SCENARIO.exec(String(tags.scenario || ''));
      if (scenario) this.step(scenario[1]!).dropped += value;
      return;
    }
    const m = STEP_METRIC.exec(envelope.metric);
    if (!m) return;
    const step = this.step(m[1]!);
    const name = m[3];
    switch (m[2]) {
      case 'lat':
        if (name === undefined) step.latency.push(value);
        else (step.endpointLatency[name] || (step.endpointLatency[name] = [])).push(value);
        return;
      case 'srv':
        step.server.push(value);
        return;
      case 'noresp':
        if (name !== undefined) add(step.noResponse, name, value);
        return;
      case 'err':
        if (name !== undefined) add(step.endpointErrors, name, value);
        return;
      case 'kind':
        if (name !== undefined) add(step.errorKinds, name, value);
        return;
      case 'win':
        this.marker(step, value, tags);
        return;
      default:
        // sb_<step>_errors: the per-request Rate of standalone runs' thresholds, nothing the merge needs.
        return;
    }
  }

  finish(): RunnerSamples {
    if (this.k6Lines === 0) throw new K6MergeError(`${this.label} is empty: not a k6 JSON output (k6 run --out json=FILE)`);
    if (this.markers === 0) {
      throw new K6MergeError(`${this.label} holds no step of stackbench's stepped script (a k6 JSON output of loadtests/dist/k6/stepped.js is needed)`);
    }
    if (this.identityText === null || this.segment === null) {
      throw new K6MergeError(`${this.label} was written by a stepped.js without run identity tags: rebuild it (npm run build) and run again`);
    }
    let identity: K6RunIdentity;
    try {
      identity = JSON.parse(this.identityText) as K6RunIdentity;
    } catch {
      throw new K6MergeError(`${this.label}: unreadable ${RUN_TAG} tag`);
    }
    if (!identity || !Array.isArray(identity.steps) || !Array.isArray(identity.names)) throw new K6MergeError(`${this.label}: unreadable ${RUN_TAG} tag`);
    for (const key in this.steps) {
      if (this.steps[key]!.vus === 0) throw new K6MergeError(`${this.label} has samples of step ${key} but no window marker for it: not a complete k6 output of stepped.js`);
    }
    return {
      label: this.label,
      identity,
      identityText: this.identityText,
      segment: this.segment,
      firstSampleMs: this.firstSampleMs,
      lastSampleMs: this.lastSampleMs,
      steps: this.steps,
    };
  }

  private marker(step: RunnerStepSamples, windowStartMs: number, tags: Record<string, unknown>): void {
    this.markers++;
    step.vus++;
    step.windowStartMs = Math.min(step.windowStartMs, windowStartMs);
    const identity = tags[RUN_TAG];
    const segment = tags[SEGMENT_TAG];
    if (typeof identity !== 'string' || typeof segment !== 'string') return;
    if (this.identityText === null) {
      this.identityText = identity;
      this.segment = segment;
    } else if (this.identityText !== identity || this.segment !== segment) {
      throw new K6MergeError(`${this.label} mixes samples of two runs (line ${this.lineNumber}): one file per k6 process`);
    }
  }

  private step(key: string): RunnerStepSamples {
    return this.steps[key] || (this.steps[key] = emptyStep());
  }

  private seen(ms: number): void {
    if (!isFinite(ms)) return;
    if (ms < this.firstSampleMs) this.firstSampleMs = ms;
    if (ms > this.lastSampleMs) this.lastSampleMs = ms;
  }

  private notK6(): K6MergeError {
    return new K6MergeError(`${this.label} is not a k6 JSON output (line ${this.lineNumber}); write one with k6 run --out json=FILE`);
  }
}

/** Reads a whole file's text (tests, small files); the CLI streams instead. */
export function readRunnerText(label: string, text: string): RunnerSamples {
  const reader = new K6JsonRunnerReader(label);
  for (const line of text.split('\n')) reader.addLine(line);
  return reader.finish();
}

// ---- percentiles ---------------------------------------------------------------------------------------------------

/** k6's percentile of a sorted list (metrics/sink.go, TrendSink.P): linear interpolation between the closest ranks. */
export function k6Percentile(sorted: ArrayLike<number>, fraction: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0]!;
  const i = fraction * (n - 1);
  const lower = sorted[Math.floor(i)]!;
  const upper = sorted[Math.ceil(i)]!;
  return lower + (upper - lower) * (i - Math.floor(i));
}

const round = (n: number, digits = 3) => Math.round(n * Math.pow(10, digits)) / Math.pow(10, digits);

/** Latency figures of raw samples, rounded like the single-runner summary (summary.ts). */
export function latencyOf(samples: number[]): Latency {
  if (samples.length === 0) return { avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return {
    avg: round(sum / samples.length),
    p50: round(k6Percentile(sorted, 0.5)),
    p90: round(k6Percentile(sorted, 0.9)),
    p95: round(k6Percentile(sorted, 0.95)),
    p99: round(k6Percentile(sorted, 0.99)),
    max: round(sorted[sorted.length - 1]!),
  };
}

// ---- execution segments --------------------------------------------------------------------------------------------

interface Fraction {
  n: number;
  d: number;
}

function fraction(text: string, label: string): Fraction {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(text.trim());
  if (!m || (m[2] !== undefined && Number(m[2]) === 0)) throw new K6MergeError(`${label}: unreadable execution segment "${text}"`);
  return { n: Number(m[1]), d: m[2] === undefined ? 1 : Number(m[2]) };
}

/** a - b as a sign: fractions k6 prints are small (n/d with d <= runners' common denominator), so products are exact. */
function compare(a: Fraction, b: Fraction): number {
  return a.n * b.d - b.n * a.d;
}

interface Segment {
  label: string;
  text: string;
  from: Fraction;
  to: Fraction;
}

function segmentOf(runner: RunnerSamples): Segment {
  const parts = runner.segment.split(':');
  if (parts.length !== 2) throw new K6MergeError(`${runner.label}: unreadable execution segment "${runner.segment}"`);
  const from = fraction(parts[0]!, runner.label);
  const to = fraction(parts[1]!, runner.label);
  if (compare(from, to) >= 0 || compare(to, { n: 1, d: 1 }) > 0) throw new K6MergeError(`${runner.label}: unreadable execution segment "${runner.segment}"`);
  return { label: runner.label, text: runner.segment, from, to };
}

/**
 * The runners' segments must tile 0:1: a gap is a missing runner file (its users' share would vanish from every
 * step), an overlap is a file given twice or runners of different splits.
 */
function checkSegments(runners: RunnerSamples[]): void {
  const segments = runners.map(segmentOf).sort((a, b) => compare(a.from, b.from) || compare(a.to, b.to));
  let covered: Fraction = { n: 0, d: 1 };
  let previous: Segment | null = null;
  for (const s of segments) {
    const order = compare(s.from, covered);
    if (order < 0) {
      throw new K6MergeError(`${previous ? previous.label : '?'} and ${s.label} ran overlapping execution segments (${previous ? previous.text : '?'} and ${s.text}): the same runner's file twice, or runners of different runs`);
    }
    if (order > 0) throw new K6MergeError(`no runner file covers the execution segment ${text(covered)}:${text(s.from)}: a runner's file is missing`);
    covered = s.to;
    previous = s;
  }
  if (compare(covered, { n: 1, d: 1 }) !== 0) throw new K6MergeError(`no runner file covers the execution segment ${text(covered)}:1: a runner's file is missing`);
}

function text(f: Fraction): string {
  return f.d === 1 ? String(f.n) : `${f.n}/${f.d}`;
}

// ---- the merge -----------------------------------------------------------------------------------------------------

/** One runner's share of a merged step. */
export interface MergedStepRunner {
  file: string;
  segment: string;
  /** VUs that entered the step on this runner (closed model: its users). */
  vus: number;
  requests: number;
  rps: number;
  windowStartMs: number;
  seconds: number;
}

export interface MergedK6Step extends K6StepSummary {
  /** The runners that ran the step (a runner whose share of a small step is 0 users has none). */
  runners: MergedStepRunner[];
  /** Latest minus earliest window start over those runners, ms (how well their windows line up). */
  windowSpreadMs: number | null;
}

/** The single-runner summary's shape (summary.ts), judged over all runners, plus who contributed what. */
export interface MergedK6Run extends Omit<K6RunSummary, 'steps'> {
  merged: { runners: Array<{ file: string; segment: string; steps: number }> };
  steps: MergedK6Step[];
}

export interface MergeOptions {
  /** Latency threshold (`p95<100`); default: the one the runners ran with. */
  threshold?: string;
  /** Error-rate limit (`1%`); default: the runners'. */
  errorRate?: string;
}

const PLAN_FIELDS: Array<keyof K6RunIdentity> = ['model', 'steps', 'baseUrl', 'names', 'profile', 'productCount', 'thinkMs', 'threshold', 'errorRate'];

function describeField(identity: K6RunIdentity, field: keyof K6RunIdentity): string {
  if (field === 'steps') return identity.steps.map((s) => `${s.load}@${s.warmupSeconds}+${s.stepSeconds}s`).join(',');
  const v = identity[field];
  return Array.isArray(v) ? v.join(',') : String(v);
}

function checkSamePlan(runners: RunnerSamples[]): void {
  const first = runners[0]!;
  for (const r of runners.slice(1)) {
    if (r.identityText === first.identityText) continue;
    for (const field of PLAN_FIELDS) {
      const a = describeField(first.identity, field);
      const b = describeField(r.identity, field);
      if (a !== b) throw new K6MergeError(`${first.label} and ${r.label} ran different plans (${field}: ${a} vs ${b})`);
    }
    throw new K6MergeError(`${first.label} and ${r.label} ran different plans`);
  }
}

/** Each step's measured window as seconds from the start of the run (the plan's offsets, as buildOptions sets them). */
function windowOffsets(identity: K6RunIdentity): Array<{ from: number; to: number }> {
  let offset = 0;
  return identity.steps.map((s) => {
    const window = { from: offset + s.warmupSeconds, to: offset + s.warmupSeconds + s.stepSeconds };
    offset += s.warmupSeconds + s.stepSeconds;
    return window;
  });
}

/**
 * With several runners, each step needs every runner's share. A runner that stopped before a step's end (k6
 * interrupted, or its own thresholds aborted it on its share's verdict) leaves the others' samples of that step
 * without its counterpart: refuse rather than judge a step with part of its load missing. (One runner alone may have
 * stopped early: its remaining steps simply did not run, as in its own summary.)
 */
function checkRunnersFinished(runners: RunnerSamples[]): void {
  if (runners.length < 2) return;
  const identity = runners[0]!.identity;
  const windows = windowOffsets(identity);
  for (const r of runners) {
    // The runner's own start, from any step it has a window marker of.
    const i = identity.steps.findIndex((s) => r.steps[String(s.step)] !== undefined);
    const startMs = r.steps[String(identity.steps[i]!.step)]!.windowStartMs - windows[i]!.from * 1000;
    identity.steps.forEach((s, j) => {
      const ranByOthers = runners.some((other) => other !== r && other.steps[String(s.step)] !== undefined);
      // k6 writes its `vus` gauge every second while it runs: a last sample more than a second before the window's
      // end means the runner was gone before then.
      if (ranByOthers && r.lastSampleMs < startMs + windows[j]!.to * 1000 - 1000) {
        throw new K6MergeError(
          `${r.label} stopped before the end of step ${s.step} while other runners ran it (interrupted, or aborted by its own thresholds): run the runners with ABORT_ON_FAIL=false`,
        );
      }
    });
  }
}

function sumRecords(records: Array<Record<string, number>>, key: string): number {
  let total = 0;
  for (const r of records) total += r[key] || 0;
  return total;
}

function concat(lists: number[][]): number[] {
  const out: number[] = [];
  for (const list of lists) for (let i = 0; i < list.length; i++) out.push(list[i]!);
  return out;
}

/** Merges the runners' samples step by step and judges each step; throws K6MergeError on files that do not belong together. */
export function mergeRunners(runners: RunnerSamples[], options: MergeOptions = {}): MergedK6Run {
  if (runners.length === 0) throw new K6MergeError('no runner files to merge');
  checkSamePlan(runners);
  checkSegments(runners);
  checkRunnersFinished(runners);
  const identity = runners[0]!.identity;
  const errorRateLimit = options.errorRate || identity.errorRate;
  const threshold: Threshold = parseThreshold(options.threshold || identity.threshold, errorRateLimit);
  const names = identity.names;

  const steps: MergedK6Step[] = identity.steps.map((planned) => {
    const key = String(planned.step);
    const ran = runners.filter((r) => r.steps[key] !== undefined).map((r) => ({ runner: r, samples: r.steps[key]! }));
    const users = ran.reduce((n, x) => n + x.samples.vus, 0);
    // Every VU of a closed step enters it once, so the runners' users must add up to the plan's: a shortfall means a
    // runner stopped early (its own thresholds aborted it?) and its share of the step is missing.
    if (identity.model === 'closed' && ran.length > 0 && users !== planned.load) {
      throw new K6MergeError(
        `step ${planned.step}: the runners' users add up to ${users}, the plan has ${planned.load} (a runner stopped early or its file is missing; run the runners with ABORT_ON_FAIL=false)`,
      );
    }
    const starts = ran.map((x) => x.samples.windowStartMs);
    const spread = ran.length > 0 ? Math.max.apply(null, starts) - Math.min.apply(null, starts) : null;
    if (spread !== null && spread >= planned.stepSeconds * 1000) {
      throw new K6MergeError(`step ${planned.step}: the runners' measured windows start ${round(spread / 1000, 1)} s apart, longer than the step: files of different runs?`);
    }

    const all = ran.map((x) => x.samples);
    const dropped = all.reduce((n, s) => n + s.dropped, 0);
    const endpoints: Record<string, EndpointFigures> = {};
    let requests = 0;
    let errors = 0;
    for (const name of names) {
      // Dropped journeys count as failed first requests, as in the single-runner summary.
      const extra = name === names[0] ? dropped : 0;
      const latencies = concat(all.map((s) => s.endpointLatency[name] || []));
      const epRequests = latencies.length + sumRecords(all.map((s) => s.noResponse), name) + extra;
      const epErrors = sumRecords(all.map((s) => s.endpointErrors), name) + extra;
      requests += epRequests;
      errors += epErrors;
      if (epRequests > 0) endpoints[name] = { requests: epRequests, errors: epErrors, latencyMs: latencyOf(latencies) };
    }
    const errorsByKind = {} as ErrorsByKind;
    for (const kind of ERROR_KINDS) errorsByKind[kind] = sumRecords(all.map((s) => s.errorKinds), kind);
    errorsByKind.dropped += dropped;

    // rps adds up the runners' rates over their own windows (the same plan offsets on every runner's clock).
    const stepRunners: MergedStepRunner[] = [];
    let rps = 0;
    let seconds = planned.stepSeconds;
    for (const { runner, samples } of ran) {
      let runnerRequests = samples.dropped;
      for (const name of names) runnerRequests += (samples.endpointLatency[name] || []).length + (samples.noResponse[name] || 0);
      // k6 writes its `vus` gauge every second while it runs, so a runner whose last sample is more than a second
      // before the window's end stopped inside the window (interrupted, or aborted by its own thresholds) and
      // measured only part of it.
      const windowEndMs = samples.windowStartMs + planned.stepSeconds * 1000;
      const stoppedEarly = runner.lastSampleMs < windowEndMs - 1000;
      const runnerSeconds = stoppedEarly ? Math.max(0.001, (runner.lastSampleMs - samples.windowStartMs) / 1000) : planned.stepSeconds;
      const runnerRps = (runnerRequests - samples.dropped) / runnerSeconds;
      rps += runnerRps;
      seconds = Math.min(seconds, runnerSeconds);
      stepRunners.push({
        file: runner.label,
        segment: runner.segment,
        vus: samples.vus,
        requests: runnerRequests,
        rps: round(runnerRps, 1),
        windowStartMs: samples.windowStartMs,
        seconds: round(runnerSeconds),
      });
    }

    const server = concat(all.map((s) => s.server));
    const measurement: K6Measurement = {
      model: identity.model,
      load: identity.model === 'closed' && ran.length > 0 ? users : planned.load,
      seconds: round(seconds),
      requests,
      rps: round(rps, 1),
      errors,
      errorRate: requests > 0 ? round(errors / requests, 6) : 0,
      errorsByKind,
      latencyMs: latencyOf(concat(all.map((s) => s.latency))),
      serverMs: server.length > 0 ? latencyOf(server) : null,
      endpoints,
      maxRequestsReached: false,
      errorSamples: [],
    };
    const didRun = requests > 0;
    const verdict = evaluateStep({ requests, errors, errorRate: measurement.errorRate, latencyMs: measurement.latencyMs as Record<LatencyStat, number> }, threshold);
    return {
      step: planned.step,
      ran: didRun,
      windowStartMs: ran.length > 0 ? Math.min.apply(null, starts) : null,
      measurement,
      passed: didRun && verdict.passed,
      reasons: didRun ? verdict.reasons : ['step did not run'],
      runners: stepRunners,
      windowSpreadMs: spread,
    };
  });

  const outcome = summarizeSteps(
    steps.filter((s) => s.ran).map((s) => ({ load: s.measurement.load, passed: s.passed, phase: 'growth' as const })),
    identity.steps.length > 0 ? identity.steps[identity.steps.length - 1]!.load : undefined,
  );
  let runMs = 0;
  for (const r of runners) runMs = Math.max(runMs, r.lastSampleMs - r.firstSampleMs);
  return {
    engine: 'k6',
    baseUrl: identity.baseUrl,
    profile: identity.profile,
    model: identity.model,
    threshold: { latency: threshold.text, errorRate: errorRateLimit },
    productCount: identity.productCount,
    thinkMs: identity.thinkMs,
    testRunDurationMs: Math.round(runMs),
    steps,
    breakpoint: outcome.breakpoint,
    firstFailing: outcome.firstFailing,
    capped: outcome.capped,
    merged: {
      runners: runners.map((r) => ({ file: r.label, segment: r.segment, steps: Object.keys(r.steps).length })),
    },
  };
}

/** The merged table for a terminal. */
export function renderMergedText(run: MergedK6Run): string {
  const unit = run.model === 'open' ? 'rate/s' : ' users';
  const lines = [
    `stackbench k6 merge of ${run.merged.runners.length} runner file${run.merged.runners.length === 1 ? '' : 's'}: ${run.baseUrl} (profile ${run.profile}, ${run.model} model, ${run.threshold.latency}, errors < ${run.threshold.errorRate})`,
  ];
  lines.push(`step  ${unit}  runners  requests      rps    p50 ms    p95 ms    p99 ms    max ms  errors  verdict`);
  for (const s of run.steps) {
    const m = s.measurement;
    if (!s.ran) {
      lines.push(`${pad(s.step, 4)}  ${pad(m.load, 6)}  (not run)`);
      continue;
    }
    lines.push(
      [
        pad(s.step, 4),
        pad(m.load, 6),
        pad(s.runners.length, 7),
        pad(m.requests, 8),
        pad(m.rps.toFixed(1), 8),
        pad(m.latencyMs.p50.toFixed(2), 8),
        pad(m.latencyMs.p95.toFixed(2), 8),
        pad(m.latencyMs.p99.toFixed(2), 8),
        pad(m.latencyMs.max.toFixed(2), 8),
        pad(m.errors, 6),
        s.passed ? 'pass' : `FAIL ${s.reasons.join('; ')}`,
      ].join('  '),
    );
  }
  const bp = run.breakpoint;
  lines.push(`breakpoint: ${bp === null ? 'none (the first step failed)' : `${bp}${run.model === 'open' ? ' journeys/s' : ' users'}${run.capped ? ' (capped: every step passed)' : ''}`}`);
  for (const s of run.steps) {
    // Runners that start apart measure the same step at different times: for that part of a window the app served
    // another step's load. The k6-operator starts its paused runners together; k6 processes started by hand may not.
    if (s.windowSpreadMs !== null && s.windowSpreadMs > s.measurement.seconds * 100) {
      lines.push(
        `note: step ${s.step}: the runners' windows start ${s.windowSpreadMs} ms apart (> 10 % of the window): start the runners together (k6 run --paused on each, then resume them all)`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

function pad(v: string | number, width: number): string {
  let s = String(v);
  while (s.length < width) s = ' ' + s;
  return s;
}
