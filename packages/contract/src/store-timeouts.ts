import type { DatabaseTimeouts } from './types.js';

/**
 * The timeouts as node-postgres connection options, for every store (all three run on node-postgres; TypeORM hands
 * its `extra` to pg.Pool). The server-side ones travel in the startup packet: no extra round trip per connection.
 */
export function pgTimeoutOptions(t: DatabaseTimeouts) {
  return {
    statement_timeout: t.statementMs,
    lock_timeout: t.lockMs,
    idle_in_transaction_session_timeout: t.idleInTransactionMs,
    query_timeout: t.queryMs,
    connectionTimeoutMillis: t.connectMs,
  };
}
