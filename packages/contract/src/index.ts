export * from './types.js';
export * from './errors.js';
export * from './validation.js';
export * from './schemas.js';
export * from './routes.js';
export * from './seed.js';
