import { describeStore } from '@stackbench/test-support/store-suite';
import { createPgStore } from '../src/index.js';

describeStore('pg', createPgStore);
