export * from './stores.js';
export * from './main.js';
export * from './server-timing.js';
export * from './timeouts.js';
export * from './registry.js';
export * from './profiler.js';
export * from './instances.js';
