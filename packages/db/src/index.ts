export * from './admin.js';
export * from './embedded.js';
export * from './seed.js';
export * from './shutdown.js';
export { workspaceRoot } from '@stackbench/contract/workspace';
