/**
 * From results.json to the figures the tables show: one summary per combination (app/store/conn/pool/runtime,
 * its repeats folded into the median one), tie-aware ranks, the baseline for each runtime, and the attribution
 * comparisons. Pure functions, no I/O: the Markdown, SVG and HTML renderers all read from here, so they can't disagree.
 *
 * Names, display order and the baseline come from the run itself (`environment.registry`), never from a list here:
 * a new app or store shows up in reports without touching this package.
 */
import { describeLatencyThreshold, type LatencyStat } from '@stackbench/loadtests';
import { ENDPOINTS, type Breakpoint, type Combo, type Latency, type Results, type Step } from './results.js';
import { compareVersions, median, ratio } from './format.js';

export interface ThresholdView {
  /** The statistic charts and per-endpoint tables use: the first latency condition's. */
  metric: LatencyStat;
  /** Its limit, ms, and how it compares ("<" or "<="). */
  ms: number;
  op: '<' | '<=';
  /** That condition alone, for what shows only its statistic (a chart's threshold line): "avg < 50 ms". */
  metricLabel: string;
  /** As recorded, e.g. "p95<100" or "avg<50,p99<=250". */
  raw: string;
  /** For people: "p95 < 100 ms", "avg < 50 ms and p99 ≤ 250 ms". */
  label: string;
}

export function thresholdView(results: Results): ThresholdView {
  const t = results.method.threshold;
  const first = t.latency[0]!;
  return { metric: first.stat, ms: first.limitMs, op: first.op, metricLabel: describeLatencyThreshold({ latency: [first] }), raw: t.text, label: describeLatencyThreshold(t) };
}

/** What a step's load is: users (closed model) or offered journeys per second (open model). */
export interface LoadUnit {
  model: 'closed' | 'open';
  /** Column and axis names: "users", "journeys/s". */
  short: string;
  /** "virtual users", "offered journeys per second". */
  long: string;
}

export function loadUnit(results: Results): LoadUnit {
  return results.method.model === 'open'
    ? { model: 'open', short: 'journeys/s', long: 'offered journeys per second' }
    : { model: 'closed', short: 'users', long: 'virtual users' };
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
  /** The median repeat among the measured ones (by breakpoint load, the lower middle for an even count). */
  rep: Combo | null;
  breakpoint: Breakpoint | null;
  /** Load of the first step when even that failed (the breakpoint is "below" it); else null. */
  belowLoad: number | null;
  /** The representative repeat's step at the breakpoint, and the first step that failed. */
  bpStep: Step | null;
  failStep: Step | null;
  /** App CPU % (of one core) during the breakpoint step. */
  appCpuPct: number | null;
  /** Peak RSS over the representative repeat. */
  peakRssMiB: number | null;
  /** Breakpoint load of every measured repeat (a failed first step counts as 0). */
  repeatLoads: number[];
  /** min..max of repeatLoads: two combinations whose ranges overlap are a tie. */
  range: { lo: number; hi: number } | null;
  repeatRps: number[];
  /** 1 + the combinations that beat this one in every repeat (their lowest breakpoint is above its highest). */
  rank: number | null;
  /** Another ranked combination shares this rank (repeat ranges overlap): printed as "=rank". */
  tied: boolean;
  /** The breakpoint step or the first failing step was driver-bound in the representative repeat. */
  driverBoundAtBreak: boolean;
  /** Repeats whose data check failed. */
  integrityProblems: { repeat: number; problems: string[] }[];
  /** Repeats that were not measured (failed / unverified). */
  notMeasured: Combo[];
}

export interface Analysis {
  results: Results;
  threshold: ThresholdView;
  unit: LoadUnit;
  /** All combinations in display order (registry order of app, store, conn; newest runtime first). */
  combos: ComboSummary[];
  /** Combinations with at least one measured repeat, best first (median breakpoint, then rps). */
  ranked: ComboSummary[];
  runtimes: string[];
  /** The baseline summary per runtime (the registry's baseline app + store + conn), when present. */
  baselines: Map<string, ComboSummary>;
  baseline: { app: string; store: string; conn: string };
  /** The most repeats any combination has. */
  maxRepeats: number;
  /** Distinct pool sizes, for the header ("pool size 10"). */
  poolSizes: number[];
  /** Display order of apps, stores and connection strategies (the registry's, then unknown ones by name). */
  order: { app: string[]; store: string[]; conn: string[] };
}

function orderIndex(known: readonly string[], value: string): number {
  const i = known.indexOf(value);
  return i === -1 ? known.length : i;
}

/** A lab point or a scale-out size is its own combination (not a repeat of the same app/store/conn). */
export function comboKey(c: Pick<Combo, 'app' | 'store' | 'conn' | 'poolSize' | 'runtime' | 'lab' | 'instances'>): string {
  return [c.app, c.store, c.conn, c.poolSize ?? '-', c.runtime, c.lab?.point ?? '', c.instances ? `${c.instances.count}x${c.instances.lb}` : ''].join('|');
}

/** "2 x nginx" for a scale-out combination, "" for one plain process. */
export function instancesLabel(c: Pick<Combo, 'instances'>): string {
  return c.instances ? `${c.instances.count} x ${c.instances.lb}` : '';
}

export function stepLatency(step: Step | null | undefined, metric: keyof Latency): number | null {
  const v = step?.latencyMs?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Breakpoint load of a measured repeat; a measured repeat without a breakpoint counts as 0. */
function bpLoad(c: Combo): number {
  return c.breakpoint?.load ?? 0;
}

function pickRepresentative(measured: Combo[]): Combo | null {
  if (measured.length === 0) return null;
  const sorted = [...measured].sort((a, b) => bpLoad(a) - bpLoad(b) || (a.breakpoint?.rps ?? 0) - (b.breakpoint?.rps ?? 0) || a.repeat - b.repeat);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? null;
}

/** Two combinations are a tie when their repeat ranges overlap: the difference is inside the noise. */
export function rangesOverlap(a: ComboSummary, b: ComboSummary): boolean {
  return a.range !== null && b.range !== null && a.range.lo <= b.range.hi && b.range.lo <= a.range.hi;
}

/** Ranks that a difference inside the noise cannot change: 1 + the combinations better in every repeat. */
function assignRanks(ranked: ComboSummary[]): void {
  for (const c of ranked) c.rank = c.range ? 1 + ranked.filter((o) => o !== c && o.range && o.range.lo > c.range!.hi).length : null;
  for (const c of ranked) c.tied = c.rank !== null && ranked.some((o) => o !== c && o.rank === c.rank);
}

export function analyze(results: Results): Analysis {
  const threshold = thresholdView(results);
  const registry = results.environment.registry;
  const order = { app: registry.apps.map((a) => a.name), store: registry.stores.map((s) => s.name), conn: registry.conns };
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
    const bpStep = breakpoint ? (steps.find((s) => s.load === breakpoint.load && s.passed) ?? null) : null;
    const failStep = steps.find((s) => !s.passed && (breakpoint === null || s.load > breakpoint.load)) ?? null;
    const rssValues = steps.map((s) => s.app?.rssMiB).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const repeatLoads = measured.map(bpLoad);
    const peakRssMiB = rep?.appUsage?.peakRssMiB ?? (rssValues.length ? Math.max(...rssValues) : null);
    const cl = connLabel(first.conn, first.poolSize);
    const labelParts = [first.app, first.store, cl, ...(first.instances ? [instancesLabel(first)] : []), first.runtime, ...(first.lab ? [first.lab.point] : [])];
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
      belowLoad: rep && !breakpoint ? (steps[0]?.load ?? null) : null,
      bpStep,
      failStep,
      appCpuPct: bpStep?.app?.cpuPct ?? null,
      peakRssMiB: peakRssMiB ?? null,
      repeatLoads,
      range: repeatLoads.length ? { lo: Math.min(...repeatLoads), hi: Math.max(...repeatLoads) } : null,
      repeatRps: measured.map((m) => m.breakpoint?.rps ?? 0),
      rank: null,
      tied: false,
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
      orderIndex(order.app, a.app) - orderIndex(order.app, b.app) ||
      a.app.localeCompare(b.app) ||
      orderIndex(order.store, a.store) - orderIndex(order.store, b.store) ||
      a.store.localeCompare(b.store) ||
      orderIndex(order.conn, a.conn) - orderIndex(order.conn, b.conn) ||
      a.conn.localeCompare(b.conn) ||
      (a.poolSize ?? 0) - (b.poolSize ?? 0),
  );

  const ranked = combos
    .filter((c) => c.rep)
    .sort(
      (a, b) =>
        (b.breakpoint?.load ?? -1) - (a.breakpoint?.load ?? -1) ||
        (b.breakpoint?.rps ?? -1) - (a.breakpoint?.rps ?? -1) ||
        (a.breakpoint?.p95Ms ?? Infinity) - (b.breakpoint?.p95Ms ?? Infinity) ||
        combos.indexOf(a) - combos.indexOf(b),
    );
  assignRanks(ranked);
  // By rank first, so the # column never goes down and up again (a higher median can have the lower rank).
  ranked.sort((a, b) => (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER));

  const baseline = registry.baseline;
  const baselines = new Map<string, ComboSummary>();
  for (const rt of runtimes) {
    const candidates = combos.filter(
      (c) => c.runtime === rt && c.app === baseline.app && c.store === baseline.store && c.conn === baseline.conn && c.rep,
    );
    // Several pool sizes: the most common one wins (then the smallest).
    const best = candidates.sort((a, b) => (a.poolSize ?? 0) - (b.poolSize ?? 0))[0];
    if (best) baselines.set(rt, best);
  }

  return {
    results,
    threshold,
    unit: loadUnit(results),
    combos,
    ranked,
    runtimes,
    baselines,
    baseline,
    order,
    maxRepeats: Math.max(0, ...combos.map((c) => c.entries.length)),
    poolSizes: [...new Set((results.combos ?? []).map((c) => c.poolSize).filter((p): p is number => typeof p === 'number'))].sort((a, b) => a - b),
  };
}

/** The baseline to compare a combination with: same runtime, same pool size when the run has it. */
export function baselineFor(a: Analysis, c: ComboSummary): ComboSummary | null {
  const same = a.combos.find((b) => b.runtime === c.runtime && isBaseline(a, b) && b.rep && b.poolSize === c.poolSize);
  return same ?? a.baselines.get(c.runtime) ?? null;
}

export function isBaseline(a: Pick<Analysis, 'baseline'>, c: Pick<ComboSummary, 'app' | 'store' | 'conn'>): boolean {
  return c.app === a.baseline.app && c.store === a.baseline.store && c.conn === a.baseline.conn;
}

export function baselineLabel(a: Pick<Analysis, 'baseline'>): string {
  return `${a.baseline.app} + ${a.baseline.store} + ${a.baseline.conn}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Attribution: vary one dimension, hold the others, compare breakpoint loads with a reference value.

export type Dimension = 'store' | 'app' | 'conn' | 'runtime';
export const DIMENSIONS: readonly Dimension[] = ['store', 'app', 'conn', 'runtime'];

export interface AttributionCell {
  combo: ComboSummary;
  load: number | null;
  /** load ÷ the reference column's load in the same row. */
  ratio: number | null;
  /** The repeat ranges of this cell and the reference cell overlap: the difference is noise. */
  withinNoise: boolean;
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
  /** Per non-reference column: the median ratio over rows that have both, how many rows, and how many were noise. */
  summary: Map<string, { median: number | null; count: number; min: number | null; max: number | null; withinNoise: number }>;
}

function dimValue(c: ComboSummary, d: Dimension): string {
  return d === 'conn' ? c.connLabel : c[d];
}

function dimOrder(a: Analysis, d: Dimension): (x: string, y: string) => number {
  if (d === 'runtime') return compareVersions;
  const known = a.order[d];
  const base = (v: string) => (d === 'conn' ? v.replace(/\(.*$/, '') : v);
  return (x, y) => orderIndex(known, base(x)) - orderIndex(known, base(y)) || x.localeCompare(y, 'en', { numeric: true });
}

/** The reference column: the baseline's value (the oldest runtime for runtimes), else the first. */
function referenceOf(a: Analysis, d: Dimension, values: string[]): string | undefined {
  if (d === 'runtime') return values[0];
  const want = a.baseline[d];
  return values.find((v) => v === want || (d === 'conn' && v.startsWith(`${want}(`))) ?? values[0];
}

export function attribution(a: Analysis, dimension: Dimension): Attribution {
  const measured = a.combos.filter((c) => c.rep);
  // The fixed dimensions in the order the tables' group headers name them (app / store / conn / Node).
  const others = (['app', 'store', 'conn', 'runtime'] as const).filter((d) => d !== dimension);
  const columns = [...new Set(measured.map((c) => dimValue(c, dimension)))].sort(dimOrder(a, dimension));
  const reference = referenceOf(a, dimension, columns) ?? '';
  const ordered = [reference, ...columns.filter((c) => c !== reference)].filter((c) => c !== '');

  const rowsByGroup = new Map<string, AttributionRow>();
  for (const c of measured) {
    const group = others.map((d) => dimValue(c, d)).join(' / ');
    let row = rowsByGroup.get(group);
    if (!row) rowsByGroup.set(group, (row = { group, cells: new Map() }));
    row.cells.set(dimValue(c, dimension), { combo: c, load: c.breakpoint?.load ?? null, ratio: null, withinNoise: false });
  }
  const rows = [...rowsByGroup.values()].filter((r) => r.cells.size >= 2);
  for (const r of rows) {
    const ref = r.cells.get(reference);
    for (const cell of r.cells.values()) {
      cell.ratio = ratio(cell.load, ref?.load);
      cell.withinNoise = ref !== undefined && cell !== ref && rangesOverlap(cell.combo, ref.combo);
    }
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
    const cells = rows.map((r) => r.cells.get(col)).filter((c): c is AttributionCell => c !== undefined && typeof c.ratio === 'number' && Number.isFinite(c.ratio));
    const rs = cells.map((c) => c.ratio!);
    summary.set(col, {
      median: median(rs),
      count: rs.length,
      min: rs.length ? Math.min(...rs) : null,
      max: rs.length ? Math.max(...rs) : null,
      withinNoise: cells.filter((c) => c.withinNoise).length,
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
  const known = (ENDPOINTS as readonly string[]).filter((e) => seen.has(e));
  return [...known, ...[...seen].filter((e) => !known.includes(e)).sort()];
}

export function endpointLatency(step: Step | null | undefined, endpoint: string, metric: keyof Latency): number | null {
  const v = (step?.endpoints as Record<string, { latencyMs?: Latency } | undefined> | undefined)?.[endpoint]?.latencyMs?.[metric];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export interface FirstOver {
  endpoint: string;
  load: number;
  latencyMs: number;
}

/** The endpoint that went over the threshold's first condition at the lowest load (the worst one if several did at once). */
export function firstEndpointOver(a: Analysis, c: ComboSummary): FirstOver | null {
  const { metric, ms, op } = a.threshold;
  if (!Number.isFinite(ms)) return null;
  const over = (v: number) => (op === '<=' ? v > ms : v >= ms);
  for (const s of c.rep?.steps ?? []) {
    let worst: FirstOver | null = null;
    for (const e of Object.keys(s.endpoints ?? {})) {
      const v = endpointLatency(s, e, metric);
      if (v !== null && over(v) && (worst === null || v > worst.latencyMs)) worst = { endpoint: e, load: s.load, latencyMs: v };
    }
    if (worst) return worst;
  }
  return null;
}

