import { runMain } from '@stackbench/server';
import { nestFastify } from './index.js';

await runMain(nestFastify);
