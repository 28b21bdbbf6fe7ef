import { runMain } from '@stackbench/server';
import { app } from './index.js';

await runMain(app);
