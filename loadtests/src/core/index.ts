/**
 * The engine-neutral core: the user journey, the step planner and the thresholds. Plain ECMAScript 2017 (plus
 * generators) with no Node or k6 APIs, because the k6 script bundles it (see ../../k6/ and scripts/build-k6.mjs).
 */
export * from './scenario.js';
export * from './plan.js';
export * from './threshold.js';
export * from './driver-bound.js';
export * from './journeys.js';
