/**
 * @stackbench/loadtests: the load side of stackbench, in one home.
 * - core/: the user journey, the step planner, the thresholds and the driver-bound rule (engine-neutral, ES2017,
 *   bundled into the k6 script);
 * - measurement.ts: what a step measures (one definition; the results.json schema is built from it);
 * - engines/: the embedded Node driver and the k6 runner behind one LoadEngine interface;
 * - k6/: the k6 script's pure parts (options, summary) and the merge of several runners' outputs; ../k6/stepped.ts
 *   is the script itself;
 * - usage.ts: CPU and memory of the processes beside the load, on the wall clock.
 */
export * from './core/index.js';
export * from './measurement.js';
export * from './usage.js';
export * from './engines/engine.js';
export { nodeEngine, runNodeStep } from './engines/node-driver.js';
export { findK6Script, k6Args, k6Engine, k6Processors, k6StepEnv, stepRunFromK6Summary, K6_SCRIPT, type K6EngineOptions } from './engines/k6-runner.js';
export { LatencyHistogram } from './engines/histogram.js';
export { summarize as summarizeK6, renderText as renderK6Text, type K6RunSummary, type K6StepSummary } from './k6/summary.js';
export { planFromEnv as k6PlanFromEnv, buildOptions as k6Options, stepMetrics as k6StepMetrics, type K6Plan, type K6RunIdentity } from './k6/plan.js';
export {
  K6JsonRunnerReader,
  K6MergeError,
  mergeRunners as mergeK6Runners,
  readRunnerText as readK6RunnerText,
  renderMergedText as renderMergedK6Text,
  type MergedK6Run,
  type MergedK6Step,
  type RunnerSamples as K6RunnerSamples,
} from './k6/merge.js';
