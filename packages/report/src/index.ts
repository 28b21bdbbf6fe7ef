export * from './results.js';
export * from './schema.js';
export {
  readResults,
  writeReport,
  writeResultsIndex,
  renderResultsIndex,
  writeGeneratedFile,
  writeSummaryInto,
  renderReadme,
  renderHtml,
  renderSvgCharts,
  renderLeaderboard,
  renderLeaderboardTable,
  renderStamp,
  renderSummary,
  runKind,
  replaceMarkedSection,
  GENERATED_NOTE,
  type WriteReportOptions,
  type WriteReportResult,
  type SummaryOptions,
} from './report.js';
export { analyze, attribution, baselineLabel, isBaseline, thresholdView, loadUnit, type Analysis, type ComboSummary, type Attribution, type Dimension, type ThresholdView, type LoadUnit } from './model.js';
export { envelopeText } from './sections.js';
export { buildCharts, renderSvg, type ChartSpec, type LineChartSpec, type BarChartSpec } from './charts.js';
export { chartJsUmdPath, loadChartJs } from './html.js';
export * from './format.js';
