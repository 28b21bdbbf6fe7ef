/**
 * The SQL each stack really sends (as TechEmpower counts it): after verification, each endpoint of the journey is
 * called N times on its own, with PostgreSQL's pg_stat_statements reset before, and the statements it recorded for
 * the run's database are divided by N. Gives, per endpoint: statements per request (every level, PostgreSQL's own
 * foreign-key checks included), top-level statements per request (what the app sent: its round trips, BEGIN and
 * COMMIT included), transactions per request, and the top statements' normalized text and mean time.
 *
 * Needs the extension (the embedded PostgreSQL preloads it, `pg_stat_statements.track = all`). With a DATABASE_URL
 * server that lacks it, the census is skipped with one line and the run goes on.
 */
import { send } from '@stackbench/contract/suite';
import pg from 'pg';

export const CENSUS_REQUESTS = 40;

export interface StatementStat {
  /** Normalized text ($1 for constants), shortened. */
  query: string;
  /** Executions per HTTP request. */
  perRequest: number;
  meanMs: number;
  toplevel: boolean;
}

export interface EndpointCensus {
  requests: number;
  /** Statements executed per request, nested ones included (foreign-key checks, functions). */
  statements: number;
  /** Statements the app sent per request: its round trips to PostgreSQL. */
  roundTrips: number;
  /**
   * Transactions per request: explicit ones counted by their COMMIT (or ROLLBACK); an endpoint without any runs
   * each top-level statement as its own transaction. (From pg_stat_statements, which is current at once, unlike
   * pg_stat_database, whose counters idle backends report only every few seconds.)
   */
  transactions: number;
  top: StatementStat[];
}

export type SqlCensus = Record<string, EndpointCensus>;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** One endpoint's requests, as the journey sends them. */
interface CensusRequest {
  name: string;
  request(i: number, created: number[]): { method: 'GET' | 'POST'; path: string; body?: string };
  after?(status: number, body: string, created: number[]): void;
}

/** Regular products (ids 6 and up: 1-5 are low-stock fixtures the load never touches), spread over the catalog. */
const productId = (i: number) => 6 + ((i * 97) % 9000);

export const CENSUS_REQUESTS_PLAN: CensusRequest[] = [
  { name: 'list', request: (i) => ({ method: 'GET', path: `/products?limit=20&after=${productId(i)}` }) },
  { name: 'product', request: (i) => ({ method: 'GET', path: `/products/${productId(i)}` }) },
  {
    name: 'order',
    request: (i) => ({ method: 'POST', path: '/orders', body: JSON.stringify({ productId: productId(i), quantity: 1 }) }),
    after: (status, body, created) => {
      if (status === 201) created.push((JSON.parse(body) as { id: number }).id);
    },
  },
  { name: 'order_view', request: (i, created) => ({ method: 'GET', path: `/orders/${created[i % Math.max(1, created.length)] ?? 1}` }) },
];

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'stackbench-census', connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Null when pg_stat_statements can be used on this database, else why not (one line). */
export async function censusUnavailable(databaseUrl: string): Promise<string | null> {
  try {
    return await withClient(databaseUrl, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await c.query('SELECT count(*) FROM pg_stat_statements');
      return null;
    });
  } catch (err) {
    return `pg_stat_statements is not available on this database (${(err as Error).message.split('\n')[0]}): no SQL census`;
  }
}

/**
 * Calls each endpoint `requests` times on `baseUrl` (sequentially: one request at a time, so every statement seen is
 * that endpoint's) and reads what PostgreSQL executed for it. The census's own statements (reset, read) run on a
 * separate connection and are left out by text.
 */
export async function runSqlCensus(baseUrl: string, databaseUrl: string, requests = CENSUS_REQUESTS): Promise<SqlCensus> {
  return withClient(databaseUrl, async (c) => {
    const { rows: db } = await c.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = current_database()');
    const dbid = db[0]!.oid;
    const created: number[] = [];
    const census: SqlCensus = {};
    for (const plan of CENSUS_REQUESTS_PLAN) {
      // This database's counts only (userid 0, queryid 0: all): other runs on the same server are left alone.
      await c.query('SELECT pg_stat_statements_reset(0, $1, 0)', [dbid]);
      for (let i = 0; i < requests; i++) {
        const r = plan.request(i, created);
        const res = await send(baseUrl, { method: r.method, path: r.path, headers: r.body ? { 'content-type': 'application/json' } : {}, body: r.body });
        plan.after?.(res.status, res.text, created);
      }
      const { rows } = await c.query<{ query: string; calls: string; mean_exec_time: number; toplevel: boolean }>(
        `SELECT query, calls::text, mean_exec_time, toplevel FROM pg_stat_statements
          WHERE dbid = $1 AND query NOT ILIKE '%pg_stat_statements%'
          ORDER BY calls DESC, mean_exec_time DESC`,
        [dbid],
      );
      const calls = (where: (r: (typeof rows)[number]) => boolean) => rows.filter(where).reduce((sum, r) => sum + Number(r.calls), 0);
      const isEnd = (q: string) => /^\s*(commit|rollback|end)\b/i.test(q);
      const ends = calls((r) => r.toplevel && isEnd(r.query));
      const transactions = ends > 0 ? ends : calls((r) => r.toplevel);
      census[plan.name] = {
        requests,
        statements: round3(calls(() => true) / requests),
        roundTrips: round3(calls((r) => r.toplevel) / requests),
        transactions: round3(transactions / requests),
        top: rows.slice(0, 5).map((r) => ({ query: r.query.replace(/\s+/g, ' ').slice(0, 200), perRequest: round3(Number(r.calls) / requests), meanMs: round3(r.mean_exec_time), toplevel: r.toplevel })),
      };
    }
    return census;
  });
}
