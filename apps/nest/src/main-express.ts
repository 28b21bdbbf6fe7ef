import { runMain } from '@stackbench/server';
import { nestExpress } from './index.js';

await runMain(nestExpress);
