/**
 * The report's sections (header stamp, leaderboard, charts, cost per request, attribution, per endpoint, repeats,
 * not measured, driver-bound steps, integrity, method) as a document model; README.md and report.html render the
 * same ones.
 */
import { labSections } from './labs.js';
import { scaleOutSection } from './scale-out.js';
import { DRIVER_BOUND_LIMITS } from '@stackbench/loadtests';
import { code, link, p, strong, type Block, type Cell, type Paragraph, type Section, type Table } from './doc.js';
import { costPhrase, fixed, fmtCount, fmtCpu, fmtDuration, fmtMiB, fmtMs, fmtPercent, fmtRatio, fmtRps, median, MISSING, ratio, text } from './format.js';
import {
  attribution,
  baselineFor,
  baselineLabel,
  DIMENSIONS,
  endpointLatency,
  endpointsIn,
  firstEndpointOver,
  isBaseline,
  type Analysis,
  type Attribution,
  type ComboSummary,
  type Dimension,
} from './model.js';
import type { Envelope } from './results.js';
import type { ChartSpec } from './charts.js';

/** Microseconds of CPU per request: integer. */
const fmtUs = (n: number | null | undefined): string => fixed(n, 0);

function withRatio(value: string, r: number | null, hasBaseline: boolean): string {
  if (value === MISSING || !hasBaseline) return value;
  return `${value} (${fmtRatio(r)})`;
}

export function breakpointText(c: ComboSummary): string {
  if (c.breakpoint) return fmtCount(c.breakpoint.load);
  if (c.belowLoad !== null) return `< ${fmtCount(c.belowLoad)}`;
  return MISSING;
}

/** min..max of the repeats' breakpoints; a repeat without one (0) prints as "< its first load", as the breakpoint does. */
function repeatRangeText(c: ComboSummary): string {
  if (!c.range) return MISSING;
  const below = c.measured.find((m) => !m.breakpoint)?.steps[0]?.load;
  const loadText = (u: number) => (u === 0 && below !== undefined ? `< ${fmtCount(below)}` : fmtCount(u));
  return c.range.lo === c.range.hi ? loadText(c.range.lo) : `${loadText(c.range.lo)}..${loadText(c.range.hi)}`;
}

function rankText(c: ComboSummary): string {
  return c.rank === null ? MISSING : `${c.tied ? '=' : ''}${c.rank}`;
}

/** "0.5 CPU / 512 MiB", "unlimited", "not applied (…)". */
function limitText(l: Envelope['app']): string {
  if (!l.applied) return `not applied${l.note ? ` (${l.note})` : ''}`;
  const parts = [l.cpus !== null ? `${fixed(l.cpus, 2).replace(/\.?0+$/, '')} CPU` : 'CPU unlimited', l.memoryMiB !== null ? `${fmtMiB(l.memoryMiB)} MiB` : 'memory unlimited'];
  return parts.join(' / ');
}

export function envelopeText(e: Envelope | undefined): string {
  if (!e || e.mechanism === 'none') return `none: app, PostgreSQL and load generator share the machine unconfined${e?.note ? ` (${e.note})` : ''}`;
  const period = e.periodUs ? `, ${fixed(e.periodUs / 1000, 0)} ms CPU period` : '';
  const instances = e.instances ? `; instances ${e.instances === 'each' ? 'get one budget each' : 'share the app budget'}` : '';
  return `app ${limitText(e.app)}, PostgreSQL ${limitText(e.db)} (${e.mechanism}${period}${instances})`;
}

/** App CPU of one core, and as a share of its envelope when it has a CPU quota: "48 (96 % of 0.5)". */
function appCpuText(a: Analysis, cpuPct: number | null): string {
  const quota = a.results.environment.envelope.app;
  if (cpuPct === null || !quota.applied || quota.cpus === null) return fmtCpu(cpuPct);
  return `${fmtCpu(cpuPct)} (${fmtCpu(cpuPct / quota.cpus)} % of ${fixed(quota.cpus, 2).replace(/\.?0+$/, '')})`;
}

// ---------------------------------------------------------------------------------------------------------------

export function headerBlocks(a: Analysis): Block[] {
  const r = a.results;
  const e = r.environment;
  const m = r.method;
  const appRuntimes = a.runtimes.length ? a.runtimes.join(', ') : MISSING;
  const pool = a.poolSizes.length ? `; pool size ${a.poolSizes.join(', ')}` : '';
  const items: Paragraph[] = [
    [strong('Machine:'), ` ${text(e.cpuModel)}, ${fmtCount(e.cores)} cores, ${e.memoryGiB.toFixed(1)} GiB RAM, ${text(e.os)}`],
    [strong('Envelope:'), ` ${envelopeText(e.envelope)}`],
    [strong('CPU layout:'), ` ${text(e.cpuLayout)}`],
    [strong('Node:'), ` ${text(e.node)} (load engine); apps on ${appRuntimes}`, ' · ', strong('PostgreSQL:'), ` ${text(e.postgres)}`],
    [
      strong('Method:'),
      ` ${m.engine === 'k6' ? 'k6' : 'embedded Node driver'}, ${m.model} model (${a.unit.long}), profile ${text(m.profile)}${m.preset ? ` (preset ${m.preset})` : ''}, threshold ${a.threshold.label} and errors ${m.threshold.errorRate.op} ${fmtPercent(m.threshold.errorRate.limit, 1)}, think time ${fmtCount(m.thinkMs)} ms, ${fmtCount(m.stepSeconds)} s per step after ${fixed(m.warmupSeconds, 1)} s warm-up, ${fmtCount(m.repeats)} repeat${m.repeats === 1 ? '' : 's'}, cost read at ${fmtCount(m.costAt)} ${a.unit.short}${pool}`,
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
  const rows: Cell[][] = a.ranked.map((c) => {
    const base = baselineFor(a, c);
    const has = base !== null;
    const bp = c.breakpoint;
    const bb = base?.breakpoint ?? null;
    const cost = c.rep?.cost ?? null;
    const baseCost = base?.rep?.cost ?? null;
    const notes: string[] = [];
    if (isBaseline(a, c) && base === c) notes.push('baseline');
    if (!has) notes.push('no baseline in this run');
    if (c.belowLoad !== null) notes.push('over the threshold at the first step');
    if (c.driverBoundAtBreak) notes.push('driver-bound †');
    const failed = c.entries.length - c.measured.length;
    if (failed > 0) notes.push(`${failed} of ${c.entries.length} repeats not measured`);
    if (cost && !cost.exact) notes.push(`cost at ${fmtCount(cost.load)} ${a.unit.short}`);
    if (c.integrityProblems.length) notes.push('integrity check failed ‡');
    const range = c.range && c.measured.length > 1 ? repeatRangeText(c) : MISSING;
    return [
      rankText(c),
      { text: c.label, strong: isBaseline(a, c) },
      withRatio(breakpointText(c), ratio(bp?.load, bb?.load), has),
      range,
      withRatio(fmtRps(bp?.rps), ratio(bp?.rps, bb?.rps), has),
      fmtMs(bp?.p95Ms),
      fmtMs(bp?.serverP95Ms),
      withRatio(fmtUs(cost?.appCpuUsPerRequest), ratio(cost?.appCpuUsPerRequest, baseCost?.appCpuUsPerRequest), has),
      withRatio(fmtUs(cost?.dbCpuUsPerRequest), ratio(cost?.dbCpuUsPerRequest, baseCost?.dbCpuUsPerRequest), has),
      appCpuText(a, c.appCpuPct),
      fmtMiB(c.peakRssMiB),
      notes.join('; '),
    ];
  });
  return {
    id: 'leaderboard',
    headers: ['#', 'app / store / conn / Node', `Breakpoint ${a.unit.short}`, 'Repeats', 'RPS', 'p95 ms', 'Server p95 ms', 'App µs/req', 'DB µs/req', 'App CPU %', 'Peak RSS MiB', 'Notes'],
    align: ['right', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
    wrap: [false, false, false, false, false, false, false, false, false, false, false, true],
    rows,
  };
}

/** `reportLink`: where the driver-bound / integrity sections live ("" = this document, else e.g. "run/README.md"). */
export function leaderboardBlocks(a: Analysis, reportLink = ''): Block[] {
  if (a.ranked.length === 0) return [p('No combination was measured in this run.')];
  const m = a.results.method;
  const blocks: Block[] = [
    p(
      `Breakpoint: the most ${a.unit.long} whose step kept ${a.threshold.label} and errors ${m.threshold.errorRate.op} ${fmtPercent(m.threshold.errorRate.limit, 1)} (median repeat; `,
      'the other figures are from that step). ',
      strong('#'),
      ' counts only what beats a combination in every repeat: ',
      code('=2'),
      ' marks a tie, whose repeat ranges overlap — the difference is inside the noise. ',
      'Server p95 is the apps\' own time (Server-Timing); the gap to p95 is what the network and the load generator added. ',
      `App and DB µs/req are CPU microseconds per request at ${fmtCount(m.costAt)} ${a.unit.short} (below saturation; the steadiest figure). `,
      'In brackets: the ratio to ',
      strong(baselineLabel(a)),
      ' on the same Node version.',
    ),
    { kind: 'table', table: leaderboardTable(a) },
  ];
  const missing = a.runtimes.filter((rt) => !a.baselines.has(rt) && a.ranked.some((c) => c.runtime === rt));
  const notes: Paragraph[] = [];
  if (a.maxRepeats <= 1) notes.push(['One repeat: the ranks are not tested against noise (here one combination\'s breakpoint varied by ~20-30 % between runs). Run ', code('--profile full'), ' (3 repeats) before reading small differences.']);
  for (const rt of missing) notes.push([`Node ${rt}: no baseline in this run (${baselineLabel(a)} was not measured), so no ratios.`]);
  if (a.ranked.some((c) => c.driverBoundAtBreak)) notes.push(['† The load generator was the limit at or just past the breakpoint: the app may sustain more; see ', link('driver-bound steps', `${reportLink}#driver-bound-steps`), '.']);
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

export function attributionTable(a: Analysis, att: Attribution): Table {
  const rows: Cell[][] = att.rows.map((r) => [
    r.group,
    ...att.columns.map((col) => {
      const cell = r.cells.get(col);
      if (!cell) return MISSING;
      const load = breakpointText(cell.combo);
      if (col === att.reference) return `${load} (ref.)`;
      return `${load} (${fmtRatio(cell.ratio)}${cell.withinNoise ? ', noise' : ''})`;
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

/**
 * One sentence per compared value: "drizzle costs 57 % of breakpoint users vs pg (0.43x, median of 2 comparisons)",
 * or "within noise" when every comparison's repeat ranges overlap.
 */
export function attributionSentences(a: Analysis, att: Attribution): Paragraph[] {
  const out: Paragraph[] = [];
  for (const col of att.columns) {
    if (col === att.reference) continue;
    const s = att.summary.get(col);
    const ref = colName(att.dimension, att.reference);
    if (!s || s.count === 0) {
      out.push([strong(colName(att.dimension, col)), `: not comparable (no ${ref} counterpart with a breakpoint).`]);
      continue;
    }
    const range = s.count > 1 ? `, range ${fmtRatio(s.min)}..${fmtRatio(s.max)}` : '';
    const of = `median of ${s.count} comparison${s.count === 1 ? '' : 's'}${range}`;
    if (s.withinNoise === s.count) {
      const why = evidence(a, att, col);
      out.push([strong(colName(att.dimension, col)), ` vs ${ref}: within noise (${fmtRatio(s.median)}, ${of}; the repeat ranges overlap).${why ? ` ${why}` : ''}`]);
      continue;
    }
    const noise = s.withinNoise > 0 ? `; ${s.withinNoise} of ${s.count} within noise` : '';
    const why = evidence(a, att, col);
    out.push([strong(colName(att.dimension, col)), ` ${costPhrase(s.median)} of breakpoint ${a.unit.short} vs ${ref} (${fmtRatio(s.median)}, ${of}${noise}).${why ? ` ${why}` : ''}`]);
  }
  return out;
}

/** A category's share of app CPU in a combination's profile, or null. */
function profileShare(c: ComboSummary, category: string): number | null {
  return c.rep?.profile?.summary.categories.find((x) => x.category === category)?.percent ?? null;
}

/**
 * Why a column costs what it costs, from what the run measured beside the breakpoints: round trips per request (the
 * SQL census), where the app's CPU went (profiles), CPU per request of the app and of PostgreSQL (cost). One
 * sentence, written from the first row of the comparison that has the evidence; null when the run has none.
 */
export function evidence(a: Analysis, att: Attribution, col: string): string | null {
  const pairs = att.rows.map((r) => ({ c: r.cells.get(col)?.combo, ref: r.cells.get(att.reference)?.combo })).filter((p): p is { c: ComboSummary; ref: ComboSummary } => Boolean(p.c && p.ref));
  const parts: string[] = [];
  if (att.dimension === 'store') {
    const withSql = pairs.find((p) => p.c.rep?.sql && p.ref.rep?.sql);
    if (withSql) {
      const differs = Object.keys(withSql.c.rep!.sql!).filter((e) => withSql.c.rep!.sql![e]!.roundTrips !== withSql.ref.rep!.sql![e]?.roundTrips);
      for (const e of differs) parts.push(`its ${e} takes ${fixed(withSql.c.rep!.sql![e]!.roundTrips, 1).replace(/\.0$/, '')} round trips per request where ${att.reference} takes ${fixed(withSql.ref.rep!.sql![e]!.roundTrips, 1).replace(/\.0$/, '')}`);
    }
    const withProfile = pairs.find((p) => profileShare(p.c, 'orm') !== null);
    if (withProfile) parts.push(`the ORM takes ${fixed(profileShare(withProfile.c, 'orm'), 0)} % of the app's CPU and the pg driver ${fixed(profileShare(withProfile.c, 'pg-driver'), 0)} % (${withProfile.ref.store}: pg driver ${fixed(profileShare(withProfile.ref, 'pg-driver'), 0)} %)`);
  } else if (att.dimension === 'app') {
    const withProfile = pairs.find((p) => profileShare(p.c, 'framework') !== null);
    if (withProfile) parts.push(`the framework takes ${fixed(profileShare(withProfile.c, 'framework'), 0)} % of the app's CPU and validation ${fixed(profileShare(withProfile.c, 'validation'), 0)} % (${att.reference}: ${fixed(profileShare(withProfile.ref, 'framework') ?? 0, 0)} % and ${fixed(profileShare(withProfile.ref, 'validation') ?? 0, 0)} %)`);
  }
  const withCost = pairs.find((p) => p.c.rep?.cost && p.ref.rep?.cost);
  if (withCost) {
    const c = withCost.c.rep!.cost!;
    const r = withCost.ref.rep!.cost!;
    if (att.dimension === 'conn' && c.dbCpuUsPerRequest !== null && r.dbCpuUsPerRequest !== null) {
      parts.push(`PostgreSQL spends ${fixed(c.dbCpuUsPerRequest, 0)} µs of CPU per request against ${fixed(r.dbCpuUsPerRequest, 0)} µs (setting up and authenticating a connection lands there)`);
    } else if (c.appCpuUsPerRequest !== null && r.appCpuUsPerRequest !== null) {
      parts.push(`the app spends ${fixed(c.appCpuUsPerRequest, 0)} µs of CPU per request against ${fixed(r.appCpuUsPerRequest, 0)} µs`);
    }
  }
  if (parts.length === 0) return null;
  const first = parts[0]!;
  return `Why: ${first.charAt(0).toUpperCase()}${first.slice(1)}${parts.length > 1 ? `; ${parts.slice(1).join('; ')}` : ''}.`;
}

export function attributionBlocks(a: Analysis): Block[] {
  const blocks: Block[] = [
    p(
      `Each table varies one thing and holds the rest: cells are breakpoint ${a.unit.short} and, in brackets, the ratio to the reference column in the same row `,
      '("noise" when the two repeat ranges overlap). A cost of 20 % means the breakpoint is 20 % lower.',
    ),
  ];
  for (const d of DIMENSIONS) {
    const att = attribution(a, d);
    blocks.push({ kind: 'h3', text: DIM_TEXT[d].title });
    if (att.rows.length === 0) {
      blocks.push(p(`Not in this run: no two measured combinations differ only by ${DIM_TEXT[d].what}.`));
      continue;
    }
    blocks.push({ kind: 'table', table: attributionTable(a, att) }, { kind: 'list', items: attributionSentences(a, att) });
  }
  return blocks;
}

/** The attribution as sentences only (for summaries): one list per compared dimension. */
export function attributionSummaryBlocks(a: Analysis): Block[] {
  const items: Paragraph[] = [];
  for (const d of DIMENSIONS) {
    const att = attribution(a, d);
    if (att.rows.length === 0) continue;
    for (const s of attributionSentences(a, att)) items.push([`${DIM_TEXT[d].title.replace(/:.*$/, '')}: `, ...s]);
  }
  if (items.length === 0) return [p('No two measured combinations differ by only one thing in this run.')];
  return [{ kind: 'list', items }];
}

// ---------------------------------------------------------------------------------------------------------------

export function costTable(a: Analysis): Table {
  const rows: Cell[][] = a.ranked.map((c) => {
    const cost = c.rep?.cost ?? null;
    const app = cost?.appCpuUsPerRequest ?? null;
    const db = cost?.dbCpuUsPerRequest ?? null;
    const total = app !== null && db !== null ? app + db : null;
    return [
      c.label,
      cost ? `${fmtCount(cost.load)}${cost.exact ? '' : ' *'}` : MISSING,
      fmtRps(cost?.rps),
      fmtUs(app),
      fmtUs(db),
      fmtUs(total),
      total !== null && total > 0 && db !== null ? fmtPercent(db / total) : MISSING,
    ];
  });
  return {
    id: 'cost',
    headers: ['app / store / conn / Node', a.unit.short, 'RPS', 'App CPU µs/req', 'PostgreSQL CPU µs/req', 'Total µs/req', 'In PostgreSQL'],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  };
}

export function costBlocks(a: Analysis): Block[] {
  if (a.ranked.every((c) => !c.rep?.cost)) return [p('No cost figures in this run.')];
  const blocks: Block[] = [
    p(
      `CPU time per completed request at ${fmtCount(a.results.method.costAt)} ${a.unit.short}, the same load for every combination and below their breakpoints: `,
      'the app process (all its threads) and PostgreSQL (every backend, those of closed per-request connections included). ',
      'It moves least with noise, and it shows where the work lands: authentication of a new connection is PostgreSQL CPU.',
    ),
    { kind: 'table', table: costTable(a) },
  ];
  if (a.ranked.some((c) => c.rep?.cost && !c.rep.cost.exact)) blocks.push(p('* that step failed the threshold: the figures are from the highest passing step below it.'));
  return blocks;
}

// ---------------------------------------------------------------------------------------------------------------

/** Round trips per request per endpoint (and statements, transactions), one row per combination with a census. */
export function sqlTable(a: Analysis): Table | null {
  const combos = a.ranked.filter((c) => c.rep?.sql);
  if (combos.length === 0) return null;
  const endpoints = [...new Set(combos.flatMap((c) => Object.keys(c.rep!.sql!)))];
  const n = (v: number | undefined) => (v === undefined ? MISSING : fixed(v, 2).replace(/\.?0+$/, ''));
  return {
    id: 'sql',
    headers: ['app / store / conn / Node', ...endpoints.map((e) => `${e}: round trips / statements / transactions`)],
    align: ['left', ...endpoints.map(() => 'right' as const)],
    rows: combos.map((c) => [c.label, ...endpoints.map((e) => { const x = c.rep!.sql![e]; return x ? `${n(x.roundTrips)} / ${n(x.statements)} / ${n(x.transactions)}` : MISSING; })]),
  };
}

/** "order: drizzle, typeorm send 5 round trips per request where pg sends 1": the stacks that send more. */
export function sqlFindings(a: Analysis): Paragraph[] {
  const combos = a.ranked.filter((c) => c.rep?.sql);
  const out: Paragraph[] = [];
  const endpoints = [...new Set(combos.flatMap((c) => Object.keys(c.rep!.sql!)))];
  for (const e of endpoints) {
    const trips = combos.map((c) => ({ c, v: c.rep!.sql![e]?.roundTrips })).filter((x): x is { c: ComboSummary; v: number } => x.v !== undefined);
    if (trips.length < 2) continue;
    const least = Math.min(...trips.map((t) => t.v));
    const more = trips.filter((t) => t.v > least);
    if (more.length === 0) continue;
    const byValue = new Map<number, string[]>();
    for (const t of more) byValue.set(t.v, [...new Set([...(byValue.get(t.v) ?? []), t.c.store])]);
    const fewest = [...new Set(trips.filter((t) => t.v === least).map((t) => t.c.store))];
    const said = [...byValue].map(([v, stores]) => `${stores.join(', ')} send${stores.length === 1 ? 's' : ''} ${fixed(v, 1).replace(/\.0$/, '')}`).join('; ');
    out.push([strong(e), `: ${said} round trips per request, where ${fewest.join(', ')} send${fewest.length === 1 ? 's' : ''} ${fixed(least, 1).replace(/\.0$/, '')}.`]);
  }
  return out;
}

export function sqlBlocks(a: Analysis): Block[] {
  const t = sqlTable(a);
  if (!t) return [p('No SQL census in this run (pg_stat_statements was not available).')];
  const findings = sqlFindings(a);
  return [
    p(
      'What PostgreSQL executed per HTTP request, counted by pg_stat_statements while each endpoint was called alone after verification: ',
      'round trips are the statements the app sent (BEGIN and COMMIT included), statements also count what PostgreSQL ran inside them (its foreign-key checks).',
    ),
    { kind: 'table', table: t },
    ...(findings.length ? [{ kind: 'list', items: findings } as Block] : [p('Every stack sends the same number of round trips for every endpoint.')]),
  ];
}

/** Where the app's CPU went during the profiled step: the main categories' shares, and the links. */
export function profileTable(a: Analysis): Table | null {
  const combos = a.ranked.filter((c) => c.rep?.profile);
  if (combos.length === 0) return null;
  const categories = ['framework', 'validation', 'orm', 'pg-driver', 'node-http', 'app', 'gc', 'node-other', 'program', 'other'];
  return {
    id: 'profiles',
    headers: ['app / store / conn / Node', a.unit.short, ...categories.map((c) => `${c} %`), 'top product', 'flame graph'],
    align: ['left', 'right', ...categories.map(() => 'right' as const), 'left', 'left'],
    rows: combos.map((c) => {
      const pr = c.rep!.profile!;
      const share = (cat: string) => pr.summary.categories.find((x) => x.category === cat)?.percent ?? null;
      const top = pr.summary.owners.filter((o) => o.owner !== 'V8' && o.owner !== 'Node.js')[0];
      return [c.label, fmtCount(pr.load), ...categories.map((cat) => fixed(share(cat), 0)), top ? `${top.owner} ${fixed(top.percent, 0)} %` : MISSING, pr.flameGraph];
    }),
  };
}

export function profileBlocks(a: Analysis): Block[] {
  const t = profileTable(a);
  if (!t) return [p('No CPU profile in this run (run with ', code('--cpu-prof'), ').')];
  const overhead = a.ranked.map((c) => c.rep?.profile).filter((x) => x && x.unprofiledRps).map((x) => x!.step.rps / x!.unprofiledRps!);
  return [
    p(
      'Self time of the app process during one extra, profiled step (after the plan: the planned steps ran without the profiler), grouped by where the code lives, in % of busy CPU. ',
      'The flame graphs (SVG, beside this report) and the raw .cpuprofile files open in a browser, Chrome DevTools or speedscope.',
    ),
    { kind: 'table', table: t },
    ...(overhead.length ? [p(`The profiler's own cost: the profiled steps served ${fixed((median(overhead) ?? 0) * 100, 0)} % of the rps of the same load unprofiled (median).`)] : []),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// The Django-vs-FastAPI article's own method (`--preset article`), beside its published figures.

/** The article's figures, as published (../shared/background.md, item 5): 1 vCPU / 512 MiB app, Locust, 100 ms average. */
export const ARTICLE_FIGURES = [
  { stack: 'Django, a new connection per request (CONN_MAX_AGE=0)', users: '20', rps: '–', note: 'crossed 100 ms past 20 users; PostgreSQL CPU at 40 % against < 20 %' },
  { stack: 'Django, persistent connections (60 s)', users: '60', rps: '~100', note: 'matched FastAPI' },
  { stack: 'FastAPI', users: '60', rps: '~100', note: '~160 ms at 70 users, failed at 80' },
] as const;

/** One sentence per measured row: what agrees with the article and what does not, from the data. */
export function articleSentence(a: Analysis, c: ComboSummary): string {
  const bp = c.breakpoint;
  const steps = c.rep?.steps ?? [];
  const at80 = steps.find((s) => s.load === 80);
  const parts: string[] = [];
  if (!bp) return `over ${a.threshold.label} from the first step (${fmtCount(c.belowLoad)} users).`;
  if (at80?.passed) parts.push(`holds every step the article ran (80 users at ${fmtMs(at80.latencyMs.avg)} ms average)`);
  else parts.push(`breaks inside the article's range`);
  parts.push(`its line falls at ${fmtCount(bp.load)} users, ${fixed(bp.load / 60, 1)} times the article's FastAPI`);
  if (c.conn !== 'pool') {
    const pooled = a.ranked.find((o) => o.app === c.app && o.store === c.store && o.conn === 'pool' && o.runtime === c.runtime);
    if (pooled?.breakpoint) {
      const r = bp.load / pooled.breakpoint.load;
      parts.push(`${fixed(r, 2)}x of the pooled breakpoint (${fmtCount(pooled.breakpoint.load)}): ${r < 0.8 ? 'the article\'s direction (20 vs 60 users, 0.33x) holds' : 'the article\'s gap (0.33x) does not appear here'}`);
      const db = c.rep?.cost?.dbCpuUsPerRequest;
      const pdb = pooled.rep?.cost?.dbCpuUsPerRequest;
      if (db != null && pdb != null) parts.push(`PostgreSQL spends ${fixed(db, 0)} µs of CPU per request against ${fixed(pdb, 0)} µs pooled`);
    }
  }
  const usage = c.bpStep?.app;
  const quota = a.results.environment.envelope.app.cpus;
  if (usage && quota) parts.push(`at the line the app uses ${fixed(usage.cpuPct / quota, 0)} % of its ${fixed(quota, 2).replace(/\.?0+$/, '')} CPU`);
  const first = parts.join('; ');
  return `${first.charAt(0).toUpperCase()}${first.slice(1)}.`;
}

export function articleTable(a: Analysis): Table {
  const rows: Cell[][] = [
    ...ARTICLE_FIGURES.map((f) => [{ text: `${f.stack} (the article)`, strong: false }, f.users, f.rps, '100 (the line)', f.note]),
    ...a.ranked.map((c) => [c.label, breakpointText(c), fmtRps(c.breakpoint?.rps), fmtMs(c.breakpoint?.avgMs), articleSentence(a, c)]),
  ];
  return {
    id: 'article',
    headers: ['stack', 'users at the line', 'RPS there', 'avg ms there', 'what agrees, what does not'],
    align: ['left', 'right', 'right', 'right', 'left'],
    wrap: [false, false, false, false, true],
    rows,
  };
}

export function articleBlocks(a: Analysis): Block[] {
  const m = a.results.method;
  return [
    p(
      `The article's method as far as this machine allows: users with ${fmtCount(m.thinkMs)} ms of think time between requests (the article's ~100 RPS at 60 users is 0.6 s per request per user, minus its ~0.1 s response), `,
      `users stepped 40, 50, 60, 70, 80 then onwards, the line at ${a.threshold.label}, ${fmtCount(m.stepSeconds)} s per step (the article: ~5 min), a fresh database per combination. `,
      `Envelope: ${envelopeText(a.results.environment.envelope)} (the article: app 1 vCPU / 512 MiB, PostgreSQL 2 vCPU / 1 GiB). `,
      'The article ran Python; these rows are Node.js: the comparison is of shape (where the line falls, what a connection per request costs), not of absolute numbers.',
    ),
    { kind: 'table', table: articleTable(a) },
  ];
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
      breakpointText(c),
      ...values.map((v) => ({ text: fmtMs(v), strong: v !== null && v === worst && values.filter((x) => x !== null).length > 1 })),
      first ? `${first.endpoint} at ${fmtCount(first.load)} ${a.unit.short} (${fmtMs(first.latencyMs)} ms)` : 'none in the steps run',
    ];
  });
  return {
    id: 'endpoints',
    headers: ['app / store / conn / Node', a.unit.short, ...eps.map((e) => `${e} ${metric} ms`), `First over ${a.threshold.metricLabel}`],
    align: ['left', 'right', ...eps.map(() => 'right' as const), 'left'],
    rows,
  };
}

export function endpointBlocks(a: Analysis): Block[] {
  if (a.ranked.length === 0 || endpointsIn(a).length === 0) return [p('No per-endpoint figures in this run.')];
  return [
    p(
      `${a.threshold.metric} per endpoint at the breakpoint step (the slowest in bold), and the request that crossed ${a.threshold.metricLabel} at the lowest load: the one that breaks first.`,
    ),
    { kind: 'table', table: endpointTable(a) },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

export function repeatsTable(a: Analysis): Table {
  const rows: Cell[][] = a.ranked.map((c) => {
    const lo = c.range?.lo ?? 0;
    const hi = c.range?.hi ?? 0;
    const rps = c.measured.map((m) => m.breakpoint?.rps).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const med = c.breakpoint?.load ?? 0;
    return [
      c.label,
      `${c.measured.length} of ${c.entries.length}`,
      `${breakpointText(c)} (#${c.rep?.repeat ?? MISSING})`,
      repeatRangeText(c),
      med > 0 ? fmtPercent((hi - lo) / med) : MISSING,
      fmtRps(c.breakpoint?.rps),
      rps.length ? `${fmtRps(Math.min(...rps))}..${fmtRps(Math.max(...rps))}` : MISSING,
    ];
  });
  return {
    id: 'repeats',
    headers: ['app / store / conn / Node', 'Measured', `Median ${a.unit.short} (repeat)`, `${a.unit.short} min..max`, 'Spread', 'Median RPS', 'RPS min..max'],
    align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows,
  };
}

export function repeatsBlocks(a: Analysis): Block[] {
  return [
    p(
      'Each combination ran several times, interleaved; the tables use the median repeat (by breakpoint, the lower middle for an even count). ',
      'Spread = (max − min) ÷ median: differences smaller than the spread are noise, and the ranks treat overlapping ranges as ties.',
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
    if (c.belowLoad !== null && c.rep) {
      const first = c.rep.steps[0];
      rows.push([
        c.label,
        c.measured.map((m) => m.repeat).join(', '),
        'measured, no breakpoint',
        `already over ${a.threshold.label} at the first step (${fmtCount(first?.load)} ${a.unit.short}: ${a.threshold.metric} ${fmtMs(first?.latencyMs?.[a.threshold.metric])} ms, errors ${fmtPercent(first?.errorRate, 1)})`,
      ]);
    }
  }
  return { id: 'not-measured', headers: ['app / store / conn / Node', 'Repeat', 'Status', 'Reason'], align: ['left', 'right', 'left', 'left'], wrap: [false, false, false, true], rows };
}

export function notMeasuredBlocks(a: Analysis): Block[] {
  const t = notMeasuredTable(a);
  if (t.rows.length === 0) return [p('Every combination was verified and measured in every repeat.')];
  return [p('Unverified combinations failed ', code('stackbench verify'), ' and were not loaded; failed ones broke during the run.'), { kind: 'table', table: t }];
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
          fmtCount(s.load),
          s.passed ? 'passed' : 'failed',
          fmtCpu(s.driver.cpuPct),
          s.driverBoundReasons.join('; ') || MISSING,
          c.breakpoint && e === c.rep && (s.load === c.breakpoint.load || s === c.failStep) ? 'yes' : '',
        ]);
      }
    }
  }
  return {
    id: 'driver-bound',
    headers: ['app / store / conn / Node', 'Repeat', a.unit.short, 'Step', 'Generator CPU %', 'Why', 'At the breakpoint'],
    align: ['left', 'right', 'right', 'left', 'right', 'left', 'left'],
    wrap: [false, false, false, false, false, true, false],
    rows,
  };
}

export function driverBoundBlocks(a: Analysis): Block[] {
  const t = driverBoundTable(a);
  if (t.rows.length === 0) return [p('No step was driver-bound: the load generator kept up in every step.')];
  return [
    p(
      `In these steps the load generator itself was the limit (its CPU at ≥ ${DRIVER_BOUND_LIMITS.cpuShareOfCapacity * 100} % of what it could use, or its event loop ≥ ${DRIVER_BOUND_LIMITS.eventLoopDelayP99Ms} ms late), `,
      'so the latencies include the generator: treat them as a lower bound of what the app can do.',
    ),
    { kind: 'table', table: t },
  ];
}

// ---------------------------------------------------------------------------------------------------------------

export function integrityBlocks(a: Analysis): Block[] {
  const entries = a.combos.flatMap((c) => c.entries.filter((e) => e.status === 'measured'));
  const checked = entries.filter((e) => e.integrity);
  if (checked.length === 0) return [p('No data check in this run.')];
  const unchecked = entries.length - checked.length;
  const bad = a.combos.flatMap((c) => c.integrityProblems.map((ip) => ({ c, ...ip })));
  const blocks: Block[] = [];
  if (bad.length === 0) blocks.push(p(`All ${checked.length} checked runs passed the data check (stock, sold and orders consistent).`));
  else {
    blocks.push(
      p(`${bad.length} of ${checked.length} checked runs failed the data check: their figures may come from a broken implementation.`),
      { kind: 'list', items: bad.map((b) => [strong(b.c.label), `, repeat ${b.repeat}: ${b.problems.join('; ')}`]) },
    );
  }
  if (unchecked > 0) blocks.push(p(`${unchecked} measured run${unchecked === 1 ? '' : 's'} could not be audited (see their notes).`));
  return blocks;
}

export function methodBlocks(a: Analysis): Block[] {
  const m = a.results.method;
  const load = a.unit.model === 'open' ? 'The offered arrival rate of journeys (list → product → order → view order) is stepped up' : 'Virtual users (each waits for its response before the next request) are stepped up';
  return [
    {
      kind: 'list',
      items: [
        [
          `${load}; each step has ${fixed(m.warmupSeconds, 1)} s of unrecorded warm-up, then a measured window of ${fmtCount(m.stepSeconds)} s. `,
          `A request counts when its response completes inside the window; RPS = those ÷ the window. A step passes when ${a.threshold.label} and errors stay ${m.threshold.errorRate.op} ${fmtPercent(m.threshold.errorRate.limit, 1)}. `,
          'The breakpoint is the highest passing load below the first failing one.',
        ],
        ['Latency runs from handing the request to the connection until its last byte was read, connection set-up included when it happens; both load engines use this definition.'],
        ['Ratios divide a figure by the same figure of ', strong(baselineLabel(a)), ' on the same Node version; attribution tables divide by the reference column of the same row.'],
        ['App CPU % is of one core (200 = two full cores) during the breakpoint step, and of its envelope quota in brackets; peak RSS is over the whole run of that combination.'],
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
  if (a.results.method.lab) {
    const profiled = a.combos.some((c) => c.rep?.profile);
    return [
      ...labSections(a, charts),
      ...(profiled ? [{ id: 'profiles', title: 'Where the time goes', blocks: profileBlocks(a) }] : []),
      { id: 'not-measured', title: 'Not measured', blocks: notMeasuredBlocks(a) },
      { id: 'driver-bound-steps', title: 'Driver-bound steps', blocks: driverBoundBlocks(a) },
      { id: 'data-integrity', title: 'Data integrity', blocks: integrityBlocks(a) },
      { id: 'method', title: 'How to read this', blocks: methodBlocks(a) },
    ];
  }
  const sections: Section[] = [
    { id: 'leaderboard', title: 'Leaderboard', blocks: [...leaderboardBlocks(a), ...chartBlocks(charts, 'bar')] },
    { id: 'charts', title: 'Latency and throughput vs load', blocks: chartBlocks(charts.filter((c) => c.id !== 'scale-out'), 'line') },
    { id: 'cost', title: 'Cost per request', blocks: costBlocks(a) },
    { id: 'attribution', title: 'Where the cost comes from', blocks: attributionBlocks(a) },
    { id: 'sql', title: 'Queries per request', blocks: sqlBlocks(a) },
    { id: 'profiles', title: 'Where the time goes', blocks: profileBlocks(a) },
    { id: 'endpoints', title: 'Per endpoint at the breakpoint', blocks: endpointBlocks(a) },
  ];
  const scale = scaleOutSection(a, charts);
  if (scale) sections.splice(1, 0, scale);
  if (a.results.method.preset === 'article') sections.splice(1, 0, { id: 'article', title: 'The article\'s method, side by side', blocks: articleBlocks(a) });
  if (a.maxRepeats > 1) sections.push({ id: 'repeats', title: 'Repeats', blocks: repeatsBlocks(a) });
  sections.push(
    { id: 'not-measured', title: 'Not measured', blocks: notMeasuredBlocks(a) },
    { id: 'driver-bound-steps', title: 'Driver-bound steps', blocks: driverBoundBlocks(a) },
    { id: 'data-integrity', title: 'Data integrity', blocks: integrityBlocks(a) },
    { id: 'method', title: 'How to read this', blocks: methodBlocks(a) },
  );
  const chartsAt = sections.findIndex((x) => x.id === 'charts');
  if (sections[chartsAt]!.blocks.length === 0) sections.splice(chartsAt, 1);
  return sections;
}
