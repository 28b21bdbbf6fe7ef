import { createDrizzleStore } from '../src/index.js';
import { describeStore } from './store-suite.js';

describeStore('drizzle', createDrizzleStore);
