export * from './stores.js';
export * from './main.js';
