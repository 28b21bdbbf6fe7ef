/** @stackbench/loadtests: the engine-neutral load scenario, step planner and thresholds (shared by the embedded driver and k6). */
export * from './scenario.js';
export * from './plan.js';
export * from './threshold.js';
