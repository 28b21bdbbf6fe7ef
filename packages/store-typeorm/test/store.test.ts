// The suite is shared with store-drizzle (one copy, so both ORM stores are held to the same tests).
import { describeStore } from '@stackbench/test-support/store-suite';
import { createTypeormStore } from '../src/index.js';

describeStore('typeorm', createTypeormStore);
// The tuned variant (store `typeorm-tuned`): the same suite, oversell test included.
describeStore('typeorm-tuned', (config) => createTypeormStore({ ...config, style: 'tuned' }));
