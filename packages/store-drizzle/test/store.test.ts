import { createDrizzleStore } from '../src/index.js';
import { describeStore } from '@stackbench/test-support/store-suite';

describeStore('drizzle', createDrizzleStore);
// The tuned variant (store `drizzle-tuned`): the same suite, oversell test included.
describeStore('drizzle-tuned', (config) => createDrizzleStore({ ...config, style: 'tuned' }));
