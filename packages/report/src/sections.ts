/**
 * The report's sections (header stamp, leaderboard, charts, attribution, per endpoint, repeats, not measured,
 * driver-bound steps, integrity, method) as a document model; README.md and report.html render the same ones.
 */
import { code, link, p, strong, type Block, type Cell, type Paragraph, type Section, type Table } from './doc.js';
import { costPhrase, fmtCount, fmtCpu, fmtDuration, fmtMiB, fmtMs, fmtPercent, fmtRatio, fmtRps, MISSING, ratio, text } from './format.js';
import {
  attribution,
  baselineFor,
  BASELINE,
  endpointLatency,
  endpointsIn,
  firstEndpointOver,
  isBaseline,
  type Analysis,
  type Attribution,
  type ComboSummary,
  type Dimension,
} from './model.js';
import type { ChartSpec } from './charts.js';

const BASELINE_LABEL = `${BASELINE.app} + ${BASELINE.store} + ${BASELINE.conn}`;

function withRatio(value: string, r: number | null, hasBaseline: boolean): string {
  if (value === MISSING || !hasBaseline) return value;
  return `${value} (${fmtRatio(r)})`;
}

function breakpointUsersText(c: ComboSummary): string {
  if (c.breakpoint) return fmtCount(c.breakpoint.users);
  if (c.belowUsers !== null) return `< ${fmtCount(c.belowUsers)}`;
  return MISSING;
}

// ---------------------------------------------------------------------------------------------------------------

export function headerBlocks(a: Analysis): Block[] {
  const r = a.results;
  const e = r.environment ?? ({} as Analysis['results']['environment']);
  const m = r.method ?? ({} as Analysis['results']['method']);
  const appRuntimes = a.runtimes.length ? a.runtimes.join(', ') : MISSING;
  const pool = a.poolSizes.length ? `; pool size ${a.poolSizes.join(', ')}` : '';
  const items: Paragraph[] = [
    [strong('Machine:'), ` ${text(e.cpuModel)}, ${fmtCount(e.cores)} cores, ${typeof e.memoryGiB === 'number' ? e.memoryGiB.toFixed(1) : MISSING} GiB RAM, ${text(e.os)}`],
    [strong('CPU layout:'), ` ${text(e.cpuLayout)}`],
    [strong('Node:'), ` ${text(e.node)} (driver); apps on ${appRuntimes}`, ' · ', strong('PostgreSQL:'), ` ${text(e.postgres)}`],
    [
      strong('Method:'),
      ` ${text(m.driver)} driver, profile ${text(m.profile)}, threshold ${a.threshold.label}, max error rate ${fmtPercent(m.maxErrorRate, 1)}, think time ${fmtCount(m.thinkMs)} ms, ${fmtCount(m.stepSeconds)} s per step after ${fmtCount(m.warmupSeconds)} s warm-up, ${fmtCount(m.repeats)} repeat${m.repeats === 1 ? '' : 's'}${pool}`,
    ],
    [strong('Run:'), ` ${text(r.runId)}, ${text(r.startedAt)} → ${text(r.finishedAt)} (${fmtDuration(r.startedAt, r.finishedAt)}), git ${text(e.gitSha)}`],
    [strong('Command:'), ' ', code(text(r.command))],
  ];
  const pkgs = Object.entries(e.packages ?? {}).sort(([x], [y]) => x.localeCompare(y));
  const blocks: Block[] = [{ kind: 'list', items }];
  if (pkgs.length) {
    blocks.push({
      kind: 'details',
      summary: `Package versions (${pkgs.length})`,
      blocks: [{ kind: 'table', table: { id: 'packages', headers: ['Package', 'Version'], align: ['left', 'left'], rows: pkgs.map(([k, v]) => [k, text(v)]) } }],
    });
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------------------------

export function leaderboardTable(a: Analysis): Table {
  const rows: Cell[][] = a.ranked.map((c, i) => {
    const base = baselineFor(a, c);
    const has = base !== null;
    const bp = c.breakpoint;
    const bb = base?.breakpoint ?? null;
    const notes: string[] = [];
    if (isBaseline(c) && base === c) notes.push('baseline');
    if (!has) notes.push('no baseline in this run');
    if (c.belowUsers !== null) notes.push('over the threshold at the first step');
    if (c.driverBoundAtBreak) notes.push('driver-bound †');
    const failed = c.entries.length - c.measured.length;
    if (failed > 0) notes.push(`${failed} of ${c.entries.length} repeats not measured`);
    if (c.measured.length > 1) {
      const lo = Math.min(...c.repeatUsers);
      const hi = Math.max(...c.repeatUsers);
      if (lo !== hi) notes.push(`repeats ${fmtCount(lo)}..${fmtCount(hi)} users`);
    }
    if (c.integrityProblems.length) notes.push('integrity check failed ‡');
    return [
      String(i + 1),
      { text: c.label, strong: isBaseline(c) },
      withRatio(breakpointUsersText(c), ratio(bp?.users, bb?.users), has),
      withRatio(fmtRps(bp?.rps), ratio(bp?.rps, bb?.rps), has),
      withRatio(fmtMs(bp?.p95Ms), ratio(bp?.p95Ms, bb?.p95Ms), has),
      withRatio(fmtMs(bp?.p99Ms), ratio(bp?.p99Ms, bb?.p99Ms), has),
      withRatio(fmtCpu(c.appCpuPct), ratio(c.appCpuPct, base?.appCpuPct), has),
      withRatio(fmtMiB(c.peakRssMiB), ratio(c.peakRssMiB, base?.peakRssMiB), has),
      notes.join('; '),
    ];
  });
  return {
    id: 'leaderboard',
    headers: ['#', 'app / store / conn / Node', 'Breakpoint users', 'RPS', 'p95 ms', 'p99 ms', 'App CPU %', 'Peak RSS MiB', 'Notes'],
    align: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
    wrap: [false, false, false, false, false, false, false, false, true],
    rows,
  };
}

/** `reportLink`: where the driver-bound / integrity sections live ("" = this document, else e.g. "run/README.md"). */
export function leaderboardBlocks(a: Analysis, reportLink = ''): Block[] {
  if (a.ranked.length === 0) return [p('No combination was measured in this run.')];
  const blocks: Block[] = [
    p(
      `Each combination's breakpoint: the most virtual users whose step kept ${a.threshold.label} and errors ≤ ${fmtPercent(a.results.method?.maxErrorRate, 1)}; `,
      'the other figures are from that step (median repeat). In brackets: the ratio to the ',
      strong(BASELINE_LABEL),
      ' baseline on the same Node version (above 1.00x: more users or rps, but also more latency, CPU or memory).',
    ),
    { kind: 'table', table: leaderboardTable(a) },
  ];
  const missing = a.runtimes.filter((rt) => !a.baselines.has(rt) && a.ranked.some((c) => c.runtime === rt));
  const notes: Paragraph[] = [];
  for (const rt of missing) notes.push([`Node ${rt}: no baseline in this run (${BASELINE_LABEL} was not measured), so no ratios.`]);
  if (a.ranked.some((c) => c.driverBoundAtBreak)) notes.push(['† The load driver was saturated at or just past the breakpoint: the app may sustain more; see ', link('driver-bound steps', `${reportLink}#driver-bound-steps`), '.']);
  if (a.ranked.some((c) => c.integrityProblems.length)) notes.push(['‡ The post-run data check found problems: see ', link('data integrity', `${reportLink}#data-integrity`), '.']);
  if (notes.length) blocks.push({ kind: 'list', items: notes });
  return blocks;
}

// ---------------------------------------------------------------------------------------------------------------

const DIM_TEXT: Record<Dimension, { title: string; what: string; groupHeader: string }> = {
  store: { title: 'Stores: the same app across stores', what: 'store', groupHeader: 'app / conn / Node' },
  app: { title: 'Apps: the same store across apps', what: 'app', groupHeader: 'store / conn / Node' },
  conn: { title: 'Connections: pool vs per-request', what: 'connection strategy', groupHeader: 'app / store / Node' },
  runtime: { title: 'Runtimes: the same app / store / conn across Node versions', what: 'Node version', groupHeader: 'app / store / conn' },
};

function colName(d: Dimension, v: string): string {
  return d === 'runtime' ? `Node ${v}` : v;
}

export function attributionTable(att: Attribution): Table {
  const rows: Cell[][] = att.rows.map((r) => [
    r.group,
    ...att.columns.map((col) => {
      const cell = r.cells.get(col);
      if (!cell) return MISSING;
      const users = cell.combo.breakpoint ? fmtCount(cell.users) : cell.combo.belowUsers !== null ? `< ${fmtCount(cell.combo.belowUsers)}` : MISSING;
      return col === att.reference ? `${users} (${cell.ratio !== null ? fmtRatio(cell.ratio) : 'ref.'})` : `${users} (${fmtRatio(cell.ratio)})`;
    }),
  ]);
  rows.push([
    { text: `median ratio to ${colName(att.dimension, att.reference)}`, strong: true },
    ...att.columns.map((col) => (col === att.reference ? { text: '1.00x', strong: true } : { text: fmtRatio(att.summary.get(col)?.median), strong: true })),
  ]);
  return {
    id: `attribution-${att.dimension}`,
    headers: [DIM_TEXT[att.dimension].groupHeader, ...att.columns.map((c) => colName(att.dimension, c))],
    align: ['left', ...att.columns.map(() => 'right' as const)],
    rows,
  };
}

/** One sentence per compared value: "drizzle costs 17 % of breakpoint users vs pg (median of 1 comparison)". */
export function attributionSentences(att: Attribution): Paragraph[] {
  const out: Paragraph[] = [];
  for (const col of att.columns) {
    if (col === att.reference) continue;
    const s = att.summary.get(col);
    if (!s || s.count === 0) {
      out.push([strong(colName(att.dimension, col)), `: not comparable (no ${colName(att.dimension, att.reference)} counterpart with a breakpoint).`]);
      continue;
    }
    const range = s.count > 1 ? `, range ${fmtRatio(s.min)}..${fmtRatio(s.max)}` : '';
    out.push([
      strong(colName(att.dimension, col)),
      ` ${costPhrase(s.median)} of breakpoint users vs ${colName(att.dimension, att.reference)} (${fmtRatio(s.median)}, median of ${s.count} comparison${s.count === 1 ? '' : 's'}${range}).`,
    ]);
  }
  return out;
}

export function attributionBlocks(a: Analysis): Block[] {
  const blocks: Block[] = [
    p(
      'Each table varies one thing and holds the rest: cells are breakpoint users and, in brackets, the ratio to the reference column in the same row. ',
      'A cost of 20 % means the breakpoint is 20 % lower.',
    ),
  ];
  for (const d of ['store', 'app', 'conn', 'runtime'] as Dimension[]) {
    const att = attribution(a, d);
    blocks.push({ kind: 'h3', text: DIM_TEXT[d].title });
    if (att.rows.length === 0) {
      blocks.push(p(`Not in this run: no two measured combinations differ only by ${DIM_TEXT[d].what}.`));
      continue;
    }
    blocks.push({ kind: 'table', table: attributionTable(att) }, { kind: 'list', items: attributionSentences(att) });
  }
  return blocks;
}

/** The attribution as sentences only (for summaries): one list per compared dimension. */
export function attributionSummaryBlocks(a: Analysis): Block[] {
  const items: Paragraph[] = [];
  for (const d of ['store', 'app', 'conn', 'runtime'] as Dimension[]) {
    const att = attribution(a, d);
    if (att.rows.length === 0) continue;
    for (const s of attributionSentences(att)) items.push([`${DIM_TEXT[d].title.replace(/:.*$/, '')}: `, ...s]);
  }
  if (items.length === 0) return [p('No two measured combinations differ by only one thing in this run.')];
  return [{ kind: 'list', items }];
}

// ---------------------------------------------------------------------------------------------------------------

export function endpointTable(a: Analysis): Table {
  const metric = a.threshold.metric;
  const eps = endpointsIn(a);
  const rows: Cell[][] = a.ranked.map((c) => {
    const step = c.bpStep;
    const values = eps.map((e) => endpointLatency(step, e, metric));
    const worst = Math.max(...values.filter((v): v is number => v !== null));
    const first = firstEndpointOver(a, c);
    return [
      c.label,
      breakpointUsersText(c),
      ...values.map((v) => ({ text: fmtMs(v), strong: v !== null && v === worst && values.filter((x) => x !== null).length > 1 })),
      first ? `${first.endpoint} at ${fmtCount(first.users)} users (${fmtMs(first.latencyMs)} ms)` : 'none in the steps run',
    ];
  });
  return {
    id: 'endpoints',
    headers: ['app / store / conn / Node', 'Users', ...eps.map((e) => `${e} ${metric} ms`), `First over ${a.threshold.label}`],
    align: ['left', 'right', ...eps.map(() => 'right' as const), 'left'],
    rows,
  };
}

export function endpointBlocks(a: Analysis): Block[] {
  if (a.ranked.length === 0 || endpointsIn(a).length === 0) return [p('No per-endpoint figures in this run.')];
  return [
    p(
      `${a.threshold.metric} per endpoint at the breakpoint step (the slowest in bold), and the request that crossed ${a.threshold.label} at the lowest load: the one that breaks first.`,
    ),
    { kind: 'table', table: endpointTable(a) },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

export function repeatsTable(a: Analysis): Table {
  const rows: Cell[][] = a.ranked.map((c) => {
    const usersText = (u: number) => (u === 0 && c.belowUsers !== null ? `< ${fmtCount(c.belowUsers)}` : fmtCount(u));
    const lo = Math.min(...c.repeatUsers);
    const hi = Math.max(...c.repeatUsers);
    const rps = c.measured.map((m) => m.breakpoint?.rps).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const med = c.breakpoint?.users ?? 0;
    return [
      c.label,
      `${c.measured.length} of ${c.entries.length}`,
      `${breakpointUsersText(c)} (#${c.rep?.repeat ?? MISSING})`,
      lo === hi ? usersText(lo) : `${usersText(lo)}..${usersText(hi)}`,
      med > 0 ? fmtPercent((hi - lo) / med) : MISSING,
      fmtRps(c.breakpoint?.rps),
      rps.length ? `${fmtRps(Math.min(...rps))}..${fmtRps(Math.max(...rps))}` : MISSING,
    ];
  });
  return {
    id: 'repeats',
    headers: ['app / store / conn / Node', 'Measured', 'Median users (repeat)', 'Users min..max', 'Spread', 'Median RPS', 'RPS min..max'],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  };
}

export function repeatsBlocks(a: Analysis): Block[] {
  return [
    p(
      'Each combination ran several times; the tables use the median repeat (by breakpoint users, the lower middle for an even count). ',
      'Spread = (max − min) ÷ median: differences smaller than the spread are noise.',
    ),
    { kind: 'table', table: repeatsTable(a) },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

export function notMeasuredTable(a: Analysis): Table {
  const rows: Cell[][] = [];
  for (const c of a.combos) {
    const groups = new Map<string, { status: string; reason: string; repeats: number[] }>();
    for (const e of c.notMeasured) {
      const reason = text(e.reason);
      const k = `${e.status}\u0000${reason}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { status: e.status, reason, repeats: [] }));
      g.repeats.push(e.repeat);
    }
    for (const g of groups.values()) rows.push([c.label, g.repeats.join(', '), g.status, g.reason]);
    if (c.belowUsers !== null && c.rep) {
      const first = c.rep.steps[0];
      rows.push([
        c.label,
        c.measured.map((m) => m.repeat).join(', '),
        'measured, no breakpoint',
        `already over ${a.threshold.label} at the first step (${fmtCount(first?.users)} users: ${a.threshold.metric} ${fmtMs(first?.latencyMs?.[a.threshold.metric])} ms, errors ${fmtPercent(first?.errorRate, 1)})`,
      ]);
    }
  }
  return { id: 'not-measured', headers: ['app / store / conn / Node', 'Repeat', 'Status', 'Reason'], align: ['left', 'right', 'left', 'left'], wrap: [false, false, false, true], rows };
}

export function notMeasuredBlocks(a: Analysis): Block[] {
  const t = notMeasuredTable(a);
  if (t.rows.length === 0) return [p('Every combination was verified and measured in every repeat.')];
  return [
    p('Unverified combinations failed ', code('stackbench verify'), ' and were not loaded; failed ones broke during the run.'),
    { kind: 'table', table: t },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

export function driverBoundTable(a: Analysis): Table {
  const rows: Cell[][] = [];
  for (const c of a.combos) {
    for (const e of c.measured) {
      for (const s of e.steps ?? []) {
        if (!s.driverBound) continue;
        rows.push([
          c.label,
          String(e.repeat),
          fmtCount(s.users),
          s.passed ? 'passed' : 'failed',
          fmtMs(s.driver?.eventLoopDelayP99Ms),
          fmtCpu(s.driver?.cpuPct),
          c.breakpoint && e === c.rep && (s.users === c.breakpoint.users || s === c.failStep) ? 'yes' : '',
        ]);
      }
    }
  }
  return {
    id: 'driver-bound',
    headers: ['app / store / conn / Node', 'Repeat', 'Users', 'Step', 'Driver event-loop p99 ms', 'Driver CPU %', 'At the breakpoint'],
    align: ['left', 'right', 'right', 'left', 'right', 'right', 'left'],
    rows,
  };
}

export function driverBoundBlocks(a: Analysis): Block[] {
  const t = driverBoundTable(a);
  if (t.rows.length === 0) return [p('No step was driver-bound: the load generator kept up in every step.')];
  return [
    p('In these steps the load driver itself was saturated (event-loop lag or a full core), so latencies include the driver: treat them as a lower bound of what the app can do.'),
    { kind: 'table', table: t },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

export function integrityBlocks(a: Analysis): Block[] {
  const checked = a.combos.flatMap((c) => c.entries.filter((e) => e.integrity));
  if (checked.length === 0) return [p('No data check in this run.')];
  const bad = a.combos.flatMap((c) => c.integrityProblems.map((ip) => ({ c, ...ip })));
  if (bad.length === 0) return [p(`All ${checked.length} checked runs passed the data check (stock, sold and orders consistent).`)];
  return [
    p(`${bad.length} of ${checked.length} checked runs failed the data check: their figures may come from a broken implementation.`),
    { kind: 'list', items: bad.map((b) => [strong(b.c.label), `, repeat ${b.repeat}: ${b.problems.join('; ')}`]) },
  ];
}

export function methodBlocks(a: Analysis): Block[] {
  const m = a.results.method;
  return [
    {
      kind: 'list',
      items: [
        [
          `Virtual users are stepped up; each step runs ${fmtCount(m?.stepSeconds)} s. A step passes when ${a.threshold.label} and the error rate stays ≤ ${fmtPercent(m?.maxErrorRate, 1)}. `,
          'The breakpoint is the last passing step.',
        ],
        ['Ratios divide a figure by the same figure of ', strong(BASELINE_LABEL), ' on the same Node version; attribution tables divide by the reference column of the same row.'],
        ['App CPU % is of one core (200 = two full cores), during the breakpoint step; peak RSS is over the whole run of that combination.'],
        ['Missing figures print as ', code(MISSING), '. Generated from results.json by ', code('stackbench report'), ': do not edit by hand.'],
      ],
    },
  ];
}

function chartBlocks(charts: ChartSpec[], kinds: 'bar' | 'line'): Block[] {
  return charts.filter((c) => c.kind === kinds).map((c) => ({ kind: 'chart', chartId: c.id, svgFile: c.file, alt: c.title }) as Block);
}

/** All sections of the full report, in order. */
export function reportSections(a: Analysis, charts: ChartSpec[]): Section[] {
  const sections: Section[] = [
    { id: 'leaderboard', title: 'Leaderboard', blocks: [...leaderboardBlocks(a), ...chartBlocks(charts, 'bar')] },
    { id: 'charts', title: 'Latency and throughput vs load', blocks: chartBlocks(charts, 'line') },
    { id: 'attribution', title: 'Where the cost comes from', blocks: attributionBlocks(a) },
    { id: 'endpoints', title: 'Per endpoint at the breakpoint', blocks: endpointBlocks(a) },
  ];
  if (a.maxRepeats > 1) sections.push({ id: 'repeats', title: 'Repeats', blocks: repeatsBlocks(a) });
  sections.push(
    { id: 'not-measured', title: 'Not measured', blocks: notMeasuredBlocks(a) },
    { id: 'driver-bound-steps', title: 'Driver-bound steps', blocks: driverBoundBlocks(a) },
    { id: 'data-integrity', title: 'Data integrity', blocks: integrityBlocks(a) },
    { id: 'method', title: 'How to read this', blocks: methodBlocks(a) },
  );
  if (sections[1]!.blocks.length === 0) sections.splice(1, 1);
  return sections;
}
