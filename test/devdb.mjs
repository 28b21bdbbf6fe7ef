import { resolveDatabase, resetDatabase } from '@stackbench/db';
const db = await resolveDatabase();
await resetDatabase(db.url);
console.log(db.url);
setInterval(() => {}, 1 << 30);
