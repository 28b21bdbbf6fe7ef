/**
 * Scale-out (--instances, --lb): per stack, one plain process against N instances behind each balancer. Efficiency
 * is rps(N) / (N x rps(one process)) at the peak of each run; the balancer's own CPU per request comes from nginx's
 * process; requests per instance from each instance's own counter. Where the curve stops and why is said from the
 * machine's figures (cores shared with PostgreSQL and the load generator).
 */
import type { ChartSpec, Series } from './charts.js';
import { PALETTE } from './charts.js';
import { p, type Block, type Cell, type Paragraph, type Section, type Table } from './doc.js';
import { fmtCount, fmtRatio, fmtRps, MISSING, ratio } from './format.js';
import type { Analysis, ComboSummary } from './model.js';
import type { Step } from './results.js';

const peakStep = (c: ComboSummary): Step | undefined => [...(c.rep?.steps ?? [])].filter((s) => s.passed).sort((a, b) => b.rps - a.rps)[0] ?? [...(c.rep?.steps ?? [])].sort((a, b) => b.rps - a.rps)[0];
const stackOf = (c: ComboSummary) => [c.app, c.store, c.connLabel, c.runtime].join(' / ');
const instancesOf = (c: ComboSummary) => c.rep?.instances ?? c.entries[0]?.instances;

interface ScaleRow {
  c: ComboSummary;
  lb: string;
  count: number;
  peak: Step | undefined;
}

function rowsByStack(a: Analysis): Map<string, ScaleRow[]> {
  const out = new Map<string, ScaleRow[]>();
  for (const c of a.combos) {
    const inst = instancesOf(c);
    const row: ScaleRow = { c, lb: inst?.lb ?? 'direct', count: inst?.count ?? 1, peak: peakStep(c) };
    const key = stackOf(c);
    out.set(key, [...(out.get(key) ?? []), row]);
  }
  for (const rows of out.values()) rows.sort((x, y) => (x.lb === 'direct' ? -1 : 0) - (y.lb === 'direct' ? -1 : 0) || x.lb.localeCompare(y.lb) || x.count - y.count);
  return out;
}

export function scaleOutTable(a: Analysis): Table {
  const rows: Cell[][] = [];
  for (const [stack, list] of rowsByStack(a)) {
    const direct = list.find((r) => r.lb === 'direct');
    for (const r of list) {
      const shares = instancesOf(r.c)?.requestsPerInstance;
      const total = shares?.reduce((n, x) => n + x, 0) ?? 0;
      rows.push([
        stack,
        r.lb === 'direct' ? '1 process' : `${r.count} x ${r.lb}`,
        r.c.breakpoint ? fmtCount(r.c.breakpoint.load) : r.c.rep ? `< ${fmtCount(r.c.rep.steps[0]?.load)}` : MISSING,
        fmtRps(r.peak?.rps),
        r.lb === 'direct' ? '1.00x' : fmtRatio(ratio(r.peak?.rps, direct?.peak ? direct.peak.rps * r.count : null)),
        shares && total > 0 ? shares.map((x) => `${Math.round((x / total) * 100)} %`).join(' / ') : MISSING,
        r.peak?.app ? fmtCount(r.peak.app.cpuPct) : MISSING,
        r.peak?.db ? fmtCount(r.peak.db.cpuPct) : MISSING,
        r.peak ? fmtCount(r.peak.driver.cpuPct) : MISSING,
        fmtCount(instancesOf(r.c)?.balancerCpuUsPerRequest),
      ]);
    }
  }
  return {
    id: 'scale-out',
    headers: ['app / store / conn / Node', 'instances', 'Breakpoint', 'Peak RPS', 'Efficiency', 'Requests per instance', 'App CPU %', 'DB CPU %', 'Generator CPU %', 'nginx µs/req'],
    align: ['left', 'left', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right'],
    rows,
  };
}

function findings(a: Analysis): Paragraph[] {
  const out: Paragraph[] = [];
  const cores = a.results.environment.cores;
  for (const [stack, list] of rowsByStack(a)) {
    const direct = list.find((r) => r.lb === 'direct');
    if (!direct?.peak) continue;
    for (const lb of [...new Set(list.filter((r) => r.lb !== 'direct').map((r) => r.lb))]) {
      const line = list.filter((r) => r.lb === lb && r.peak);
      const best = [...line].sort((x, y) => y.peak!.rps - x.peak!.rps)[0];
      if (!best) continue;
      const top = line[line.length - 1]!;
      const busy = top.peak!.app && top.peak!.db ? top.peak!.app.cpuPct + top.peak!.db.cpuPct + top.peak!.driver.cpuPct : null;
      const used = busy === null ? '' : ` (app, PostgreSQL and load generator together at ${fmtCount(busy)} % CPU of the ${cores * 100} % that ${cores} cores give)`;
      out.push([
        `${stack}, ${lb}: ${line.map((r) => `${r.count} → ${fmtRatio(ratio(r.peak!.rps, direct.peak!.rps))}`).join(', ')} of one process's peak (${fmtRps(direct.peak.rps)} rps). `,
        best.count < top.count
          ? `It stops growing at ${best.count} instance${best.count === 1 ? '' : 's'}: at ${top.count}${used}, extra instances compete with the database and the load generator for the same cores rather than add capacity.`
          : `Still growing at ${top.count}${used}.`,
      ]);
    }
  }
  return out;
}

export function scaleOutCharts(a: Analysis): ChartSpec[] {
  const series: Series[] = [];
  let i = 0;
  for (const [stack, list] of rowsByStack(a)) {
    const direct = list.find((r) => r.lb === 'direct');
    for (const lb of [...new Set(list.filter((r) => r.lb !== 'direct').map((r) => r.lb))]) {
      const pts = list.filter((r) => r.lb === lb).map((r) => ({ x: r.count, y: r.peak?.rps ?? null, passed: true, driverBound: r.peak?.driverBound ?? false }));
      series.push({ label: `${stack.split(' / ').slice(0, 2).join(' / ')} ${lb}`, color: PALETTE[i % PALETTE.length]!, dash: lb === 'nginx' ? [8, 4] : [], marker: lb === 'nginx' ? 'rect' : 'circle', points: pts });
      if (direct?.peak && lb === [...new Set(list.filter((r) => r.lb !== 'direct').map((r) => r.lb))][0]) {
        const counts = [...new Set(list.map((r) => r.count))].sort((x, y) => x - y);
        series.push({ label: `${stack.split(' / ').slice(0, 2).join(' / ')} ideal (N x one process)`, color: PALETTE[i % PALETTE.length]!, dash: [2, 3], marker: 'triangle', points: counts.map((n) => ({ x: n, y: direct.peak!.rps * n, passed: true, driverBound: false })) });
      }
    }
    i++;
  }
  if (series.length === 0) return [];
  return [{ kind: 'line', id: 'scale-out', file: 'scale-out.svg', title: 'Peak throughput vs instances', xLabel: 'instances', yLabel: 'peak requests per second', yUnit: 'req/s', yLog: false, legendTitle: 'stack / balancer', series, threshold: null }];
}

export function scaleOutSection(a: Analysis, charts: ChartSpec[]): Section | null {
  if (!a.combos.some((c) => instancesOf(c))) return null;
  const budget = a.results.environment.envelope?.instances;
  const blocks: Block[] = [
    p(
      'Each combination as one plain process, then as N instances behind each balancer: node:cluster workers sharing the port, or N processes behind nginx (least_conn, upstream keep-alive). ',
      `Efficiency = peak RPS of N instances / (N x the plain process's peak RPS); the source articles saw 2.5-2.8x for 3 instances behind nginx (0.83-0.93). `,
      budget ? `Envelope: ${budget === 'each' ? 'every instance gets the app budget (the app cgroup holds N budgets)' : 'all instances share one app budget'}. ` : '',
      'Requests per instance are each instance\'s own count (verification and load together).',
    ),
    { kind: 'table', table: scaleOutTable(a) },
  ];
  const f = findings(a);
  if (f.length) blocks.push({ kind: 'list', items: f });
  blocks.push(...charts.filter((c) => c.id === 'scale-out').map((c) => ({ kind: 'chart', chartId: c.id, svgFile: c.file, alt: c.title }) as Block));
  return { id: 'scale-out', title: 'Scale-out', blocks };
}
