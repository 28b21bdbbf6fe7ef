/**
 * report.html: one self-contained file — the same sections as README.md plus interactive Chart.js charts, with the
 * Chart.js UMD bundle inlined and a Content-Security-Policy that forbids any network access.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { htmlEscape, renderHtmlSections, type Block, type Section } from './doc.js';
import { THRESHOLD_COLOR, type ChartSpec } from './charts.js';

/** Path of Chart.js's minified UMD bundle, resolved from this package. */
export function chartJsUmdPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('chart.js')), 'chart.umd.min.js');
}

/** The Chart.js UMD source, ready to inline (source-map comment dropped, `</script` defused). */
export function loadChartJs(path = chartJsUmdPath()): string {
  return readFileSync(path, 'utf8')
    .replace(/\n?\/\/# sourceMappingURL=.*$/m, '')
    .replace(/<\/script/gi, '<\\/script');
}

function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --zebra: #f6f8fa; --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
main { max-width: 1280px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 21px; margin: 40px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 26px 0 8px; }
p, li { max-width: 1000px; }
.sub { color: var(--muted); margin: 0 0 14px; }
nav { margin: 14px 0 8px; display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 14px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--zebra); padding: 1px 5px; border-radius: 4px; word-break: break-word; }
.table-wrap { overflow-x: auto; margin: 10px 0 14px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 5px 10px; vertical-align: top; }
th { background: var(--zebra); text-align: left; font-weight: 600; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.nowrap { white-space: nowrap; }
td.wrap { min-width: 220px; }
figure.chart { margin: 14px 0 22px; }
.canvas-box { position: relative; width: 100%; max-width: 1200px; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
`;

/** The browser-side script: builds one Chart per spec; charts end up in window.stackbenchCharts[id]. */
const INIT = `
(function () {
  var specs = JSON.parse(document.getElementById('stackbench-charts').textContent);
  var THRESHOLD = ${JSON.stringify(THRESHOLD_COLOR)};
  window.stackbenchCharts = {};
  function fmt(unit, v) {
    if (typeof v !== 'number' || !isFinite(v)) return '\\u2013';
    return unit === 'ms' ? v.toFixed(1) + ' ms' : unit === 'req/s' ? v.toFixed(1) + ' req/s' : unit === '\u00b5s' ? Math.round(v) + ' \u00b5s' : String(Math.round(v));
  }
  function logTick(v) {
    if (!(v > 0)) return '';
    var m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
    m = Math.round(m * 1000) / 1000;
    return (m === 1 || m === 2 || m === 5) ? String(v) : '';
  }
  // Prints each bar's text ("120", "< 10", "120 †") at its end.
  var barValues = {
    id: 'stackbenchBarValues',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx, ds = chart.data.datasets[0], meta = chart.getDatasetMeta(0);
      if (!ds || meta.hidden) return;
      ctx.save();
      ctx.font = '600 12px ' + Chart.defaults.font.family;
      ctx.fillStyle = '#222';
      ctx.textBaseline = 'middle';
      meta.data.forEach(function (bar, i) { ctx.fillText(ds.texts[i], bar.x + 6, bar.y); });
      ctx.restore();
    }
  };
  // Legend entries as line samples with the dataset's dash (the default takes the point's style, which has none).
  function lineLegend(chart) {
    var items = Chart.defaults.plugins.legend.labels.generateLabels(chart);
    items.forEach(function (it) {
      var ds = chart.data.datasets[it.datasetIndex];
      it.lineDash = ds.borderDash || [];
      it.strokeStyle = ds.borderColor;
      it.lineWidth = 2.5;
      it.pointStyle = 'line';
    });
    return items;
  }
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
  Chart.defaults.color = '#333';
  specs.forEach(function (s) {
    var canvas = document.getElementById('chart-' + s.id);
    if (!canvas) return;
    var box = canvas.parentNode;
    var cfg;
    if (s.kind === 'line') {
      box.style.height = Math.max(420, 90 + s.series.length * 22) + 'px';
      var maxX = 0;
      var datasets = s.series.map(function (se) {
        var data = se.points.filter(function (p) { return typeof p.y === 'number'; }).map(function (p) {
          if (p.x > maxX) maxX = p.x;
          return { x: p.x, y: p.y, passed: p.passed, driverBound: p.driverBound };
        });
        return {
          label: se.label, data: data, borderColor: se.color, backgroundColor: se.color, borderDash: se.dash,
          borderWidth: 2, pointStyle: se.marker, pointRadius: 4, pointHoverRadius: 7, tension: 0,
          pointBackgroundColor: function (ctx) { return ctx.raw && ctx.raw.passed === false ? '#ffffff' : se.color; }
        };
      });
      if (s.threshold) {
        datasets.push({
          label: 'threshold ' + s.threshold.label, data: [{ x: 0, y: s.threshold.y }, { x: maxX, y: s.threshold.y }],
          borderColor: THRESHOLD, backgroundColor: THRESHOLD, borderDash: [10, 5], borderWidth: 2,
          pointRadius: 0, pointHoverRadius: 0, pointHitRadius: 0, isThreshold: true
        });
      }
      cfg = {
        type: 'line',
        data: { datasets: datasets },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, parsing: true,
          interaction: { mode: 'nearest', intersect: false, axis: 'xy' },
          scales: {
            x: s.xLog ? { type: 'logarithmic', title: { display: true, text: s.xLabel }, ticks: { callback: logTick } } : { type: 'linear', min: 0, title: { display: true, text: s.xLabel } },
            y: s.yLog
              ? { type: 'logarithmic', title: { display: true, text: s.yLabel }, ticks: { callback: logTick } }
              : { type: 'linear', beginAtZero: true, title: { display: true, text: s.yLabel } }
          },
          plugins: {
            title: { display: true, text: s.title, font: { size: 16, weight: '600' } },
            legend: { position: 'right', labels: { usePointStyle: true, pointStyle: 'line', pointStyleWidth: 34, padding: 9, generateLabels: lineLegend } },
            tooltip: {
              filter: function (item) { return !item.dataset.isThreshold; },
              callbacks: {
                title: function (items) { return items.length ? items[0].parsed.x + ' ' + s.xLabel : ''; },
                label: function (ctx) {
                  var r = ctx.raw || {};
                  return ctx.dataset.label + ': ' + fmt(s.yUnit, ctx.parsed.y) + (r.passed === false ? ' (failed)' : '') + (r.driverBound ? ' (driver-bound)' : '');
                }
              }
            }
          }
        }
      };
    } else {
      box.style.height = Math.max(160, 90 + s.bars.length * 28) + 'px';
      cfg = {
        type: 'bar',
        data: {
          labels: s.bars.map(function (b) { return b.label; }),
          datasets: [{ label: 'breakpoint', data: s.bars.map(function (b) { return b.value === null ? 0 : b.value; }),
            backgroundColor: s.bars.map(function (b) { return b.color; }), texts: s.bars.map(function (b) { return b.text; }) }]
        },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false, indexAxis: 'y',
          layout: { padding: { right: 48 } },
          scales: { x: { beginAtZero: true, title: { display: true, text: s.xLabel } } },
          plugins: {
            title: { display: true, text: s.title, font: { size: 16, weight: '600' } },
            subtitle: { display: !!s.footnote, text: s.footnote || '', position: 'bottom' },
            legend: { display: false },
            tooltip: { callbacks: { label: function (ctx) { return 'breakpoint: ' + ctx.dataset.texts[ctx.dataIndex] + ' ' + s.xLabel; } } }
          }
        }
      };
    }
    if (s.kind === 'bar') cfg.plugins = [barValues];
    window.stackbenchCharts[s.id] = new Chart(canvas, cfg);
  });
})();
`;

export interface HtmlParts {
  title: string;
  subtitle: string;
  header: Block[];
  sections: Section[];
  charts: ChartSpec[];
  /** Chart.js UMD source to inline. */
  chartJs: string;
}

export function renderHtmlPage(parts: HtmlParts): string {
  const nav = parts.sections.map((s) => `<a href="#${htmlEscape(s.id)}">${htmlEscape(s.title)}</a>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<link rel="icon" href="data:,">
<title>${htmlEscape(parts.title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${htmlEscape(parts.title)}</h1>
<p class="sub">${htmlEscape(parts.subtitle)}</p>
${renderHtmlSections([{ id: 'run', title: 'Machine and method', blocks: parts.header }])}
<nav>${nav}</nav>
${renderHtmlSections(parts.sections)}
<footer>Generated by <code>stackbench report</code> from results.json. Self-contained: works offline; hover a point for its value, click a legend entry to hide or show a series.</footer>
</main>
<script>${parts.chartJs}</script>
<script type="application/json" id="stackbench-charts">${jsonForScript(parts.charts)}</script>
<script>${INIT}</script>
</body>
</html>
`;
}
