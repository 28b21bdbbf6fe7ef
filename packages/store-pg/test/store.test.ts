import { describeStore } from '../../../test/support/store-suite.js';
import { createPgStore } from '../src/index.js';

describeStore('pg', createPgStore);
