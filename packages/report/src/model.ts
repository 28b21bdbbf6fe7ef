/**
 * From results.json to the figures the tables show: one summary per combination (app/store/conn/pool/runtime,
 * its repeats folded into a representative one), the baseline for each runtime, and the attribution comparisons.
 * Pure functions, no I/O: the Markdown, SVG and HTML renderers all read from here, so they can't disagree.
 */
import { ENDPOINTS, type Breakpoint, type Combo, type Endpoint, type Latency, type Results, type Step } from './results.js';
import { compareVersions, median, ratio } from './format.js';

export const BASELINE = { app: 'node-http', store: 'pg', conn: 'pool' } as const;
export const KNOWN_APPS = ['node-http', 'express', 'fastify', 'nest-express', 'nest-fastify'];
export const KNOWN_STORES = ['pg', 'drizzle', 'typeorm'];
export const KNOWN_CONNS = ['pool', 'per-request'];

export interface Threshold {
  /** Which latency percentile the threshold is on, e.g. "p95". */
  metric: keyof Latency;
  ms: number;
  /** As written in results.json, e.g. "p95<100". */
  raw: string;
  /** For people: "p95 < 100 ms". */
  label: string;
}

/** "p95<100" → { metric: 'p95', ms: 100 }; an unreadable threshold falls back to p95 with ms NaN (no line drawn). */
export function parseThreshold(raw: string): Threshold {
  const m = /^\s*(avg|p50|p90|p95|p99|max)\s*<\s*(\d+(?:\.\d+)?)\s*(?:ms)?\s*$/.exec(raw ?? '');
  if (!m) return { metric: 'p95', ms: Number.NaN, raw, label: raw || 'threshold' };
  const metric = m[1] as keyof Latency;
  const ms = Number(m[2]);
  return { metric, ms, raw, label: `${metric} < ${ms} ms` };
}

export interface ComboSummary {
  /** Stable key: app|store|conn|poolSize|runtime. */
  key: string;
  app: string;
  store: string;
  conn: string;
  poolSize: number | null;
  runtime: string;
  /** conn, with the pool size when the run mixes pool sizes: "pool" or "pool(20)". */
  connLabel: string;
  /** "fastify / pg / pool / 24.11.0". */
  label: string;
  /** Every entry for this combination (all repeats, all statuses), by repeat. */
  entries: Combo[];
  /** Entries with status "measured". */
  measured: Combo[];
  /** The median repeat among the measured ones (by breakpoint users, the lower middle for an even count). */
  rep: Combo | null;
  breakpoint: Breakpoint | null;
  /** Users of the first step when even that failed (the breakpoint is "below" it); else null. */
  belowUsers: number | null;
  /** The representative repeat's step at the breakpoint, and the first step that failed. */
  bpStep: Step | null;
  failStep: Step | null;
  /** App CPU % during the breakpoint step. */
  appCpuPct: number | null;
  /** Peak RSS over the representative repeat. */
  peakRssMiB: number | null;
  /** Breakpoint users of every measured repeat (a failed first step counts as 0). */
  repeatUsers: number[];
  repeatRps: number[];
  /** The breakpoint step or the first failing step was driver-bound in the representative repeat. */
  driverBoundAtBreak: boolean;
  /** Repeats whose data check failed. */
  integrityProblems: { repeat: number; problems: string[] }[];
  /** Repeats that were not measured (failed / unverified). */
  notMeasured: Combo[];
}

export interface Analysis {
  results: Results;
  threshold: Threshold;
  /** All combinations in display order (app, store, conn, runtime as known orders, then as they appear). */
  combos: ComboSummary[];
  /** Combinations with at least one measured repeat, best first (breakpoint users, then rps). */
  ranked: ComboSummary[];
  runtimes: string[];
  /** The baseline summary per runtime (node-http + pg + pool), when present. */
  baselines: Map<string, ComboSummary>;
  /** The most repeats any combination has. */
  maxRepeats: number;
  /** Distinct pool sizes, for the header ("pool size 10"). */
  poolSizes: number[];
}

function orderIndex(known: readonly string[], value: string): number {
  const i = known.indexOf(value);
  return i === -1 ? known.length : i;
}

export function comboKey(c: Pick<Combo, 'app' | 'store' | 'conn' | 'poolSize' | 'runtime'>): string {
  return [c.app, c.store, c.conn, c.poolSize ?? '-', c.runtime].join('|');
}

function latencyOf(step: Step | null | undefined, metric: keyof Latency): number | null {
  const v = step?.latencyMs?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function stepLatency(step: Step | null | undefined, metric: keyof Latency): number | null {
  return latencyOf(step, metric);
}

/** Breakpoint users of a measured repeat; a measured repeat without a breakpoint counts as 0. */
function bpUsers(c: Combo): number {
  return c.breakpoint?.users ?? 0;
}

function pickRepresentative(measured: Combo[]): Combo | null {
  if (measured.length === 0) return null;
  const sorted = [...measured].sort((a, b) => bpUsers(a) - bpUsers(b) || (a.breakpoint?.rps ?? 0) - (b.breakpoint?.rps ?? 0) || a.repeat - b.repeat);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
}

export function analyze(results: Results): Analysis {
  const threshold = parseThreshold(results.method?.threshold ?? '');
  const groups = new Map<string, Combo[]>();
  for (const c of results.combos ?? []) {
    const k = comboKey(c);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(c);
  }

  // Show the pool size in labels only when one conn is used with several sizes.
  const sizesByConn = new Map<string, Set<string>>();
  for (const c of results.combos ?? []) {
    let s = sizesByConn.get(c.conn);
    if (!s) sizesByConn.set(c.conn, (s = new Set()));
    s.add(String(c.poolSize));
  }
  const connLabel = (conn: string, poolSize: number | null) =>
    (sizesByConn.get(conn)?.size ?? 0) > 1 && poolSize !== null ? `${conn}(${poolSize})` : conn;

  const runtimes = [...new Set((results.combos ?? []).map((c) => c.runtime))].sort(compareVersions);

  const combos: ComboSummary[] = [];
  for (const [key, entries] of groups) {
    entries.sort((a, b) => a.repeat - b.repeat);
    const first = entries[0]!;
    const measured = entries.filter((e) => e.status === 'measured');
    const rep = pickRepresentative(measured);
    const steps = rep?.steps ?? [];
    const breakpoint = rep?.breakpoint ?? null;
    const bpStep = breakpoint ? (steps.find((s) => s.users === breakpoint.users) ?? null) : null;
    const failStep = steps.find((s) => !s.passed && (breakpoint === null || s.users > breakpoint.users)) ?? null;
    const rssValues = steps.map((s) => s.app?.rssMiB).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const peakRssMiB = rep?.appUsage?.peakRssMiB ?? (rssValues.length ? Math.max(...rssValues) : null);
    const cl = connLabel(first.conn, first.poolSize);
    const labelParts = [first.app, first.store, cl, first.runtime];
    combos.push({
      key,
      app: first.app,
      store: first.store,
      conn: first.conn,
      poolSize: first.poolSize ?? null,
      runtime: first.runtime,
      connLabel: cl,
      label: labelParts.join(' / '),
      entries,
      measured,
      rep,
      breakpoint,
      belowUsers: rep && !breakpoint ? (steps[0]?.users ?? null) : null,
      bpStep,
      failStep,
      appCpuPct: bpStep?.app?.cpuPct ?? null,
      peakRssMiB: peakRssMiB ?? null,
      repeatUsers: measured.map(bpUsers),
      repeatRps: measured.map((m) => m.breakpoint?.rps ?? 0),
      driverBoundAtBreak: Boolean(bpStep?.driverBound || failStep?.driverBound),
      integrityProblems: entries
        .filter((e) => e.integrity && !e.integrity.ok)
        .map((e) => ({ repeat: e.repeat, problems: e.integrity?.problems?.length ? e.integrity.problems : ['integrity check failed (no details)'] })),
      notMeasured: entries.filter((e) => e.status !== 'measured'),
    });
  }

  combos.sort(
    (a, b) =>
      compareVersions(b.runtime, a.runtime) ||
      orderIndex(KNOWN_APPS, a.app) - orderIndex(KNOWN_APPS, b.app) ||
      a.app.localeCompare(b.app) ||
      orderIndex(KNOWN_STORES, a.store) - orderIndex(KNOWN_STORES, b.store) ||
      a.store.localeCompare(b.store) ||
      orderIndex(KNOWN_CONNS, a.conn) - orderIndex(KNOWN_CONNS, b.conn) ||
      a.conn.localeCompare(b.conn) ||
      (a.poolSize ?? 0) - (b.poolSize ?? 0),
  );

  const ranked = combos
    .filter((c) => c.rep)
    .sort(
      (a, b) =>
        (b.breakpoint?.users ?? -1) - (a.breakpoint?.users ?? -1) ||
        (b.breakpoint?.rps ?? -1) - (a.breakpoint?.rps ?? -1) ||
        (a.breakpoint?.p95Ms ?? Infinity) - (b.breakpoint?.p95Ms ?? Infinity) ||
        combos.indexOf(a) - combos.indexOf(b),
    );

  const baselines = new Map<string, ComboSummary>();
  for (const rt of runtimes) {
    const candidates = combos.filter(
      (c) => c.runtime === rt && c.app === BASELINE.app && c.store === BASELINE.store && c.conn === BASELINE.conn && c.rep,
    );
    // Several pool sizes: the most common one wins (then the smallest).
    const best = candidates.sort((a, b) => (a.poolSize ?? 0) - (b.poolSize ?? 0))[0];
    if (best) baselines.set(rt, best);
  }

  return {
    results,
    threshold,
    combos,
    ranked,
    runtimes,
    baselines,
    maxRepeats: Math.max(0, ...combos.map((c) => c.entries.length)),
    poolSizes: [...new Set((results.combos ?? []).map((c) => c.poolSize).filter((p): p is number => typeof p === 'number'))].sort((a, b) => a - b),
  };
}

/** The baseline to compare a combination with: same runtime, same pool size when the run has it. */
export function baselineFor(a: Analysis, c: ComboSummary): ComboSummary | null {
  const same = a.combos.find(
    (b) => b.runtime === c.runtime && b.app === BASELINE.app && b.store === BASELINE.store && b.conn === BASELINE.conn && b.rep && b.poolSize === c.poolSize,
  );
  return same ?? a.baselines.get(c.runtime) ?? null;
}

export function isBaseline(c: ComboSummary): boolean {
  return c.app === BASELINE.app && c.store === BASELINE.store && c.conn === BASELINE.conn;
}

// ---------------------------------------------------------------------------------------------------------------
// Attribution: vary one dimension, hold the others, compare breakpoint users with a reference value.

export type Dimension = 'store' | 'app' | 'conn' | 'runtime';

export interface AttributionCell {
  combo: ComboSummary;
  users: number | null;
  /** users ÷ the reference column's users in the same row. */
  ratio: number | null;
}

export interface AttributionRow {
  /** The fixed dimensions, e.g. "fastify / pool / 24.11.0". */
  group: string;
  cells: Map<string, AttributionCell>;
}

export interface Attribution {
  dimension: Dimension;
  reference: string;
  /** Column values, reference first. */
  columns: string[];
  rows: AttributionRow[];
  /** Per non-reference column: the median ratio over rows that have both, and how many rows that was. */
  summary: Map<string, { median: number | null; count: number; min: number | null; max: number | null }>;
}

function dimValue(c: ComboSummary, d: Dimension): string {
  return d === 'conn' ? c.connLabel : c[d];
}

const DIM_ORDER: Record<Dimension, (a: string, b: string) => number> = {
  app: (a, b) => orderIndex(KNOWN_APPS, a) - orderIndex(KNOWN_APPS, b) || a.localeCompare(b),
  store: (a, b) => orderIndex(KNOWN_STORES, a) - orderIndex(KNOWN_STORES, b) || a.localeCompare(b),
  conn: (a, b) =>
    orderIndex(KNOWN_CONNS, a.replace(/\(.*$/, '')) - orderIndex(KNOWN_CONNS, b.replace(/\(.*$/, '')) || a.localeCompare(b, 'en', { numeric: true }),
  runtime: compareVersions,
};

const DEFAULT_REFERENCE: Record<Dimension, (values: string[]) => string | undefined> = {
  store: (v) => (v.includes('pg') ? 'pg' : v[0]),
  app: (v) => (v.includes('node-http') ? 'node-http' : v[0]),
  conn: (v) => v.find((x) => x === 'pool' || x.startsWith('pool(')) ?? v[0],
  runtime: (v) => v[0], // the oldest
};

export function attribution(a: Analysis, dimension: Dimension): Attribution {
  const measured = a.combos.filter((c) => c.rep);
  const others = (['app', 'store', 'conn', 'runtime'] as Dimension[]).filter((d) => d !== dimension);
  const columns = [...new Set(measured.map((c) => dimValue(c, dimension)))].sort(DIM_ORDER[dimension]);
  const reference = DEFAULT_REFERENCE[dimension](columns) ?? '';
  const ordered = [reference, ...columns.filter((c) => c !== reference)].filter((c) => c !== '');

  const rowsByGroup = new Map<string, AttributionRow>();
  for (const c of measured) {
    const group = others.map((d) => dimValue(c, d)).join(' / ');
    let row = rowsByGroup.get(group);
    if (!row) rowsByGroup.set(group, (row = { group, cells: new Map() }));
    row.cells.set(dimValue(c, dimension), { combo: c, users: c.breakpoint?.users ?? null, ratio: null });
  }
  const rows = [...rowsByGroup.values()].filter((r) => r.cells.size >= 2);
  for (const r of rows) {
    const ref = r.cells.get(reference);
    for (const cell of r.cells.values()) cell.ratio = ratio(cell.users, ref?.users);
  }
  // Row order: as the combos are ordered.
  rows.sort((x, y) => {
    const ix = Math.min(...[...x.cells.values()].map((c) => a.combos.indexOf(c.combo)));
    const iy = Math.min(...[...y.cells.values()].map((c) => a.combos.indexOf(c.combo)));
    return ix - iy;
  });

  const summary: Attribution['summary'] = new Map();
  for (const col of ordered) {
    if (col === reference) continue;
    const rs = rows.map((r) => r.cells.get(col)?.ratio).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    summary.set(col, {
      median: median(rs),
      count: rs.length,
      min: rs.length ? Math.min(...rs) : null,
      max: rs.length ? Math.max(...rs) : null,
    });
  }
  return { dimension, reference, columns: ordered, rows, summary };
}

// ---------------------------------------------------------------------------------------------------------------
// Per endpoint.

/** Endpoints present anywhere in the run, in contract order (unknown names after, alphabetically). */
export function endpointsIn(a: Analysis): string[] {
  const seen = new Set<string>();
  for (const c of a.combos) for (const s of c.rep?.steps ?? []) for (const e of Object.keys(s.endpoints ?? {})) seen.add(e);
  const known = ENDPOINTS.filter((e) => seen.has(e)) as string[];
  return [...known, ...[...seen].filter((e) => !known.includes(e)).sort()];
}

export function endpointLatency(step: Step | null | undefined, endpoint: string, metric: keyof Latency): number | null {
  const v = (step?.endpoints as Record<string, { latencyMs?: Latency } | undefined> | undefined)?.[endpoint]?.latencyMs?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export interface FirstOver {
  endpoint: string;
  users: number;
  latencyMs: number;
}

/** The endpoint that went over the threshold at the lowest load (the worst one if several did at once). */
export function firstEndpointOver(a: Analysis, c: ComboSummary): FirstOver | null {
  const { metric, ms } = a.threshold;
  if (!Number.isFinite(ms)) return null;
  for (const s of c.rep?.steps ?? []) {
    let worst: FirstOver | null = null;
    for (const e of Object.keys(s.endpoints ?? {})) {
      const v = endpointLatency(s, e, metric);
      if (v !== null && v >= ms && (worst === null || v > worst.latencyMs)) worst = { endpoint: e, users: s.users, latencyMs: v };
    }
    if (worst) return worst;
  }
  return null;
}

export type EndpointName = Endpoint;
