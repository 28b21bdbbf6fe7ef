// The suite is shared with store-drizzle (one copy, so both ORM stores are held to the same tests).
import { describeStore } from '../../../test/support/store-suite.js';
import { createTypeormStore } from '../src/index.js';

describeStore('typeorm', createTypeormStore);
