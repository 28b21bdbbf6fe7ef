import { createDrizzleStore } from '../src/index.js';
import { describeStore } from '../../../test/support/store-suite.js';

describeStore('drizzle', createDrizzleStore);
