import { ensureDatabase, resetDatabase } from '@stackbench/db';
const server = 'postgres://stackbench:stackbench@127.0.0.1:54329/stackbench';
const url = await ensureDatabase(server, 'sb_helper_matrix_scratch');
await resetDatabase(url);
console.log(url);
