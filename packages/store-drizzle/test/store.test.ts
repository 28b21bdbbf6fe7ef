import { createDrizzleStore } from '../src/index.js';
import { describeStore } from '@stackbench/test-support/store-suite';

describeStore('drizzle', createDrizzleStore);
