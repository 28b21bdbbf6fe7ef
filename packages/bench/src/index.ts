export * from './registry.js';
export { startAppProcess, freePort, type AppProcess, type AppProcessOptions } from './app-process.js';
export { main } from './cli.js';
