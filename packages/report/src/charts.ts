/**
 * Chart specifications (what to draw) built from the analysis, and a dependency-free SVG renderer for them.
 * The HTML report feeds the same specifications to Chart.js, so the static and interactive charts agree.
 */
import { buildLabCharts } from './labs.js';
import { scaleOutCharts } from './scale-out.js';
import { fmtCount, fmtMs, fmtRps, MISSING } from './format.js';
import { stepLatency, type Analysis, type ComboSummary } from './model.js';

export interface SeriesPoint {
  x: number;
  y: number | null;
  passed: boolean;
  driverBound: boolean;
}

export interface Series {
  label: string;
  color: string;
  /** SVG/Canvas dash pattern; empty = solid. */
  dash: number[];
  marker: 'circle' | 'rect' | 'triangle' | 'rectRot';
  points: SeriesPoint[];
}

export interface LineChartSpec {
  kind: 'line';
  id: string;
  /** File name of the SVG beside README.md. */
  file: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** Unit shown in tooltips and ticks. */
  yUnit: 'ms' | 'req/s' | 'µs';
  yLog: boolean;
  /** Log-scale x axis (rows 1 ... 1000); default linear from 0. */
  xLog?: boolean;
  /** Legend heading (default: app / store / connection). */
  legendTitle?: string;
  series: Series[];
  threshold: { y: number; label: string } | null;
}

export interface BarSpec {
  label: string;
  value: number | null;
  color: string;
  /** Printed at the end of the bar, e.g. "120", "< 10", "120 †". */
  text: string;
}

export interface BarChartSpec {
  kind: 'bar';
  id: string;
  file: string;
  title: string;
  xLabel: string;
  bars: BarSpec[];
  footnote: string | null;
}

export type ChartSpec = LineChartSpec | BarChartSpec;

// Colour = app, dash = store, marker = connection strategy. No red: red is the threshold.
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#17becf', '#e377c2', '#7f7f7f', '#bcbd22', '#393b79'];
export const THRESHOLD_COLOR = '#d62728';
const DASHES: number[][] = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4]];
const MARKERS: Series['marker'][] = ['circle', 'rect', 'triangle', 'rectRot'];

function indexer(known: string[], all: string[]): (v: string) => number {
  const extra = all.filter((v) => !known.includes(v)).sort();
  return (v) => {
    const i = known.indexOf(v);
    return i >= 0 ? i : known.length + extra.indexOf(v);
  };
}

export interface Styler {
  color(c: ComboSummary): string;
  dash(c: ComboSummary): number[];
  marker(c: ComboSummary): Series['marker'];
}

export function styler(a: Analysis): Styler {
  const appIdx = indexer(a.order.app, [...new Set(a.combos.map((c) => c.app))]);
  const storeIdx = indexer(a.order.store, [...new Set(a.combos.map((c) => c.store))]);
  const conns = [...new Set(a.combos.map((c) => c.connLabel))].sort((x, y) => (x.startsWith('pool') ? -1 : 0) - (y.startsWith('pool') ? -1 : 0) || x.localeCompare(y));
  return {
    color: (c) => PALETTE[appIdx(c.app) % PALETTE.length]!,
    dash: (c) => DASHES[storeIdx(c.store) % DASHES.length]!,
    marker: (c) => MARKERS[Math.max(0, conns.indexOf(c.connLabel)) % MARKERS.length]!,
  };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-|-$/g, '');
}

/** Every chart of the report: the breakpoint bars, then latency and rps vs load per runtime. */
export function buildCharts(a: Analysis): ChartSpec[] {
  if (a.results.method.lab) return buildLabCharts(a);
  const st = styler(a);
  const charts: ChartSpec[] = [];
  const metric = a.threshold.metric;
  const thresholdOk = Number.isFinite(a.threshold.ms);
  const unit = a.unit;
  const axis = unit.model === 'open' ? 'rate' : 'users';

  charts.push({
    kind: 'bar',
    id: 'breakpoints',
    file: 'breakpoints.svg',
    title: `Breakpoint: most ${unit.long} with ${a.threshold.label}`,
    xLabel: unit.long,
    bars: a.ranked.map((c) => ({
      label: c.label,
      value: c.breakpoint?.load ?? null,
      color: st.color(c),
      text: (c.breakpoint ? fmtCount(c.breakpoint.load) : c.belowLoad !== null ? `< ${fmtCount(c.belowLoad)}` : MISSING) + (c.tied ? ' (tie)' : '') + (c.driverBoundAtBreak ? ' †' : ''),
    })),
    footnote: a.ranked.some((c) => c.driverBoundAtBreak) ? '† the load generator was the limit at the breakpoint: the app may do better' : null,
  });

  const multi = a.runtimes.length > 1;
  for (const rt of a.runtimes) {
    const combos = a.combos.filter((c) => c.runtime === rt && c.rep && (c.rep.steps?.length ?? 0) > 0);
    if (combos.length === 0) continue;
    const suffix = multi ? `-node-${slug(rt)}` : '';
    const on = multi ? ` — Node ${rt}` : '';
    const label = (c: ComboSummary) => [c.app, c.store, c.connLabel].join(' / ');
    const series = (y: (s: NonNullable<ComboSummary['rep']>['steps'][number]) => number | null): Series[] =>
      combos.map((c) => ({
        label: label(c),
        color: st.color(c),
        dash: st.dash(c),
        marker: st.marker(c),
        points: (c.rep?.steps ?? [])
          .filter((s) => Number.isFinite(s.load))
          .map((s) => ({ x: s.load, y: y(s), passed: Boolean(s.passed), driverBound: Boolean(s.driverBound) })),
      }));
    charts.push({
      kind: 'line',
      id: `latency${suffix}`,
      file: `${metric}-vs-${axis}${suffix}.svg`,
      title: `${metric} latency vs ${unit.long}${on}`,
      xLabel: unit.long,
      yLabel: `${metric} latency (ms, log scale)`,
      yUnit: 'ms',
      yLog: true,
      series: series((s) => stepLatency(s, metric)),
      // The line is the first condition's limit only: labelled with that condition, not the whole threshold.
      threshold: thresholdOk ? { y: a.threshold.ms, label: a.threshold.metricLabel } : null,
    });
    charts.push({
      kind: 'line',
      id: `rps${suffix}`,
      file: `rps-vs-${axis}${suffix}.svg`,
      title: `Throughput vs ${unit.long}${on}`,
      xLabel: unit.long,
      yLabel: 'requests per second',
      yUnit: 'req/s',
      yLog: false,
      series: series((s) => (typeof s.rps === 'number' && Number.isFinite(s.rps) ? s.rps : null)),
      threshold: null,
    });
  }
  charts.push(...scaleOutCharts(a));
  return charts;
}

// ---------------------------------------------------------------------------------------------------------------
// SVG

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function n(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0';
}

function niceStep(range: number, target: number): number {
  if (!(range > 0)) return 1;
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export function linearTicks(max: number, target = 8): { max: number; ticks: number[] } {
  const top = max > 0 ? max : 1;
  const step = niceStep(top, target);
  const niceMax = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= niceMax + step / 2; v += step) ticks.push(Math.round(v * 1e6) / 1e6);
  return { max: niceMax, ticks };
}

/** Log-scale bounds snapped to 1-2-5 values just around [min, max], and the 1-2-5 ticks between them. */
export function logTicks(min: number, max: number): { min: number; max: number; ticks: number[] } {
  const lo0 = min > 0 && Number.isFinite(min) ? min : 1;
  const hi0 = max > lo0 && Number.isFinite(max) ? max : lo0 * 10;
  const steps: number[] = [];
  for (let d = 10 ** (Math.floor(Math.log10(lo0)) - 1); d <= 10 ** (Math.ceil(Math.log10(hi0)) + 1); d *= 10) {
    for (const m of [1, 2, 5]) steps.push(Math.round(d * m * 1e6) / 1e6);
  }
  const lo = [...steps].reverse().find((v) => v <= lo0 * 1.0001) ?? steps[0]!;
  const hi = steps.find((v) => v >= hi0 * 0.9999) ?? steps[steps.length - 1]!;
  return { min: lo, max: hi, ticks: steps.filter((v) => v >= lo && v <= hi) };
}

function tickLabel(v: number): string {
  return v >= 10000 ? `${Math.round(v / 1000)}k` : v >= 1 ? String(Math.round(v * 10) / 10) : String(v);
}

function markerSvg(m: Series['marker'], x: number, y: number, color: string, hollow: boolean, r = 4): string {
  const fill = hollow ? '#ffffff' : color;
  const common = `fill="${fill}" stroke="${color}" stroke-width="1.5"`;
  switch (m) {
    case 'rect':
      return `<rect x="${n(x - r)}" y="${n(y - r)}" width="${n(2 * r)}" height="${n(2 * r)}" ${common}/>`;
    case 'triangle':
      return `<path d="M${n(x)},${n(y - r - 1)} L${n(x + r + 1)},${n(y + r)} L${n(x - r - 1)},${n(y + r)} Z" ${common}/>`;
    case 'rectRot':
      return `<path d="M${n(x)},${n(y - r - 1)} L${n(x + r + 1)},${n(y)} L${n(x)},${n(y + r + 1)} L${n(x - r - 1)},${n(y)} Z" ${common}/>`;
    default:
      return `<circle cx="${n(x)}" cy="${n(y)}" r="${n(r)}" ${common}/>`;
  }
}

export function renderLineSvg(c: LineChartSpec): string {
  const W = 980;
  const legendW = 300;
  const left = 72;
  const right = legendW + 24;
  const top = 52;
  const bottom = 58;
  const rowH = 20;
  const legendRows = c.series.length + (c.threshold ? 1 : 0) + 3;
  const H = Math.max(440, top + legendRows * rowH + 30);
  const pw = W - left - right;
  const ph = H - top - bottom;

  const pts = c.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p.x).filter(Number.isFinite);
  const ys = pts.map((p) => p.y).filter((v): v is number => v !== null && Number.isFinite(v) && (!c.yLog || v > 0));
  const xt = c.xLog ? logTicks(Math.min(...xs), Math.max(...xs)) : { min: 0, ...linearTicks(Math.max(1, ...xs)) };
  let yMap: (v: number) => number;
  let yTicks: number[];
  if (c.yLog) {
    const lt = logTicks(Math.min(...ys, c.threshold?.y ?? Infinity), Math.max(...ys, c.threshold?.y ?? 0));
    yTicks = lt.ticks;
    const l0 = Math.log10(lt.min);
    const l1 = Math.log10(lt.max);
    yMap = (v) => top + ph - ((Math.log10(Math.max(v, lt.min)) - l0) / (l1 - l0)) * ph;
  } else {
    const lt = linearTicks(Math.max(1, ...ys, c.threshold?.y ?? 0));
    yTicks = lt.ticks;
    yMap = (v) => top + ph - (v / lt.max) * ph;
  }
  const xMap = c.xLog
    ? (v: number) => left + ((Math.log10(Math.max(v, xt.min)) - Math.log10(xt.min)) / (Math.log10(xt.max) - Math.log10(xt.min) || 1)) * pw
    : (v: number) => left + (v / xt.max) * pw;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${esc(FONT)}" font-size="12" role="img" aria-labelledby="title-${esc(c.id)}">`,
    `<title id="title-${esc(c.id)}">${esc(c.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${left}" y="30" font-size="17" font-weight="600" fill="#111">${esc(c.title)}</text>`,
  );
  // Grid and ticks
  for (const t of yTicks) {
    const y = yMap(t);
    const major = !c.yLog || Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9;
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${n(y)}" y2="${n(y)}" stroke="${major ? '#d0d0d0' : '#ececec'}"/>`);
    out.push(`<text x="${left - 8}" y="${n(y + 4)}" text-anchor="end" fill="#444">${esc(tickLabel(t))}</text>`);
  }
  for (const t of xt.ticks) {
    const x = xMap(t);
    out.push(`<line x1="${n(x)}" x2="${n(x)}" y1="${top}" y2="${top + ph}" stroke="#ececec"/>`);
    out.push(`<text x="${n(x)}" y="${top + ph + 18}" text-anchor="middle" fill="#444">${esc(tickLabel(t))}</text>`);
  }
  out.push(`<rect x="${left}" y="${top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  out.push(`<text x="${left + pw / 2}" y="${H - 14}" text-anchor="middle" fill="#222" font-size="13">${esc(c.xLabel)}</text>`);
  out.push(
    `<text transform="translate(18 ${n(top + ph / 2)}) rotate(-90)" text-anchor="middle" fill="#222" font-size="13">${esc(c.yLabel)}</text>`,
  );

  // Threshold
  if (c.threshold) {
    const y = yMap(c.threshold.y);
    out.push(`<line x1="${left}" x2="${left + pw}" y1="${n(y)}" y2="${n(y)}" stroke="${THRESHOLD_COLOR}" stroke-width="2" stroke-dasharray="10 5"/>`);
    out.push(
      `<text x="${left + 8}" y="${n(y - 7)}" fill="${THRESHOLD_COLOR}" font-weight="600" stroke="#ffffff" stroke-width="4" paint-order="stroke">${esc(c.threshold.label)}</text>`,
    );
  }

  // Series
  for (const s of c.series) {
    const valid = s.points.filter((p) => p.y !== null && Number.isFinite(p.y) && (!c.yLog || p.y > 0));
    if (valid.length > 1) {
      const d = valid.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(xMap(p.x))},${n(yMap(p.y!))}`).join(' ');
      out.push(
        `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash.length ? ` stroke-dasharray="${s.dash.join(' ')}"` : ''} stroke-linejoin="round"/>`,
      );
    }
    for (const p of valid) {
      const x = xMap(p.x);
      const y = yMap(p.y!);
      if (p.driverBound) out.push(`<circle cx="${n(x)}" cy="${n(y)}" r="8" fill="none" stroke="#333" stroke-width="1" stroke-dasharray="2 2"/>`);
      out.push(markerSvg(s.marker, x, y, s.color, !p.passed));
    }
  }

  // Legend
  const lx = W - legendW;
  let ly = top + 6;
  out.push(`<text x="${lx}" y="${ly}" font-weight="600" fill="#222" font-size="13">${esc(c.legendTitle ?? 'app / store / connection')}</text>`);
  ly += rowH;
  for (const s of c.series) {
    out.push(
      `<line x1="${lx}" x2="${lx + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash.length ? ` stroke-dasharray="${s.dash.join(' ')}"` : ''}/>`,
      markerSvg(s.marker, lx + 16, ly - 4, s.color, false),
      `<text x="${lx + 40}" y="${ly}" fill="#222">${esc(s.label)}</text>`,
    );
    ly += rowH;
  }
  if (c.threshold) {
    out.push(
      `<line x1="${lx}" x2="${lx + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${THRESHOLD_COLOR}" stroke-width="2" stroke-dasharray="10 5"/>`,
      `<text x="${lx + 40}" y="${ly}" fill="${THRESHOLD_COLOR}">threshold ${esc(c.threshold.label)}</text>`,
    );
    ly += rowH;
  }
  ly += 6;
  if (pts.some((p) => !p.passed)) {
    out.push(markerSvg('circle', lx + 16, ly - 4, '#555', true), `<text x="${lx + 40}" y="${ly}" fill="#555">hollow: step failed the threshold</text>`);
    ly += rowH;
  }
  if (pts.some((p) => p.driverBound)) {
    out.push(
      `<circle cx="${lx + 16}" cy="${ly - 4}" r="8" fill="none" stroke="#333" stroke-dasharray="2 2"/>`,
      `<text x="${lx + 40}" y="${ly}" fill="#555">ringed: load driver saturated</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function renderBarSvg(c: BarChartSpec): string {
  const W = 980;
  const labelW = 330;
  const left = labelW + 16;
  const right = 90;
  const top = 52;
  const rowH = 26;
  const bottom = c.footnote ? 70 : 50;
  const H = top + Math.max(1, c.bars.length) * rowH + bottom;
  const pw = W - left - right;
  const xt = linearTicks(Math.max(1, ...c.bars.map((b) => b.value ?? 0)));
  const xMap = (v: number) => left + (v / xt.max) * pw;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${esc(FONT)}" font-size="12" role="img" aria-labelledby="title-${esc(c.id)}">`,
    `<title id="title-${esc(c.id)}">${esc(c.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="16" y="30" font-size="17" font-weight="600" fill="#111">${esc(c.title)}</text>`,
  ];
  const plotBottom = top + c.bars.length * rowH;
  for (const t of xt.ticks) {
    const x = xMap(t);
    out.push(`<line x1="${n(x)}" x2="${n(x)}" y1="${top - 4}" y2="${plotBottom}" stroke="#ececec"/>`);
    out.push(`<text x="${n(x)}" y="${plotBottom + 18}" text-anchor="middle" fill="#444">${esc(tickLabel(t))}</text>`);
  }
  out.push(`<text x="${left + pw / 2}" y="${plotBottom + 38}" text-anchor="middle" fill="#222" font-size="13">${esc(c.xLabel)}</text>`);
  c.bars.forEach((b, i) => {
    const y = top + i * rowH;
    out.push(`<text x="${labelW}" y="${y + rowH / 2 + 4}" text-anchor="end" fill="#222" font-size="13">${esc(b.label)}</text>`);
    const w = b.value !== null && b.value > 0 ? xMap(b.value) - left : 0;
    if (w > 0) out.push(`<rect x="${left}" y="${y + 4}" width="${n(w)}" height="${rowH - 8}" fill="${b.color}" rx="2"/>`);
    out.push(`<text x="${n(left + w + 6)}" y="${y + rowH / 2 + 4}" fill="#222" font-weight="600">${esc(b.text)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${left}" y1="${top - 4}" y2="${plotBottom}" stroke="#888"/>`);
  if (c.footnote) out.push(`<text x="16" y="${H - 12}" fill="#555">${esc(c.footnote)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function renderSvg(c: ChartSpec): string {
  return c.kind === 'line' ? renderLineSvg(c) : renderBarSvg(c);
}

/** Tooltip-style text for a value, used by the HTML charts' data too. */
export function fmtValue(unit: 'ms' | 'req/s', v: number | null): string {
  return unit === 'ms' ? `${fmtMs(v)} ms` : `${fmtRps(v)} req/s`;
}
