import type { Integrity } from '@stackbench/report';
import pg from 'pg';

/** An order the load driver saw created (a 201 response to POST /orders). */
export interface SeenOrder {
  id: number;
  productId: number;
  quantity: number;
}

export interface AuditOptions {
  /** Problems listed one by one before the rest is summarized (default 50). */
  maxProblems?: number;
  /** Statement timeout for the audit queries (default 60 s). */
  statementTimeoutMs?: number;
}

/**
 * Checks the data a measured run left behind, against the database reset just before it:
 * - every order the driver saw created exists, for the same product and quantity (and the driver saw no id twice);
 * - every order's unit price is its product's price, and its total is price x quantity;
 * - every product's `sold` equals the sum of its orders' quantities (0 for a product never ordered);
 * - no product sold more than its stock.
 * The database may hold more orders than the driver saw (a request can commit after the driver gave up on it):
 * that is not a problem. Returns the problems as sentences, at most `maxProblems` listed plus a count of the rest.
 */
export async function auditData(databaseUrl: string, seen: readonly SeenOrder[], options: AuditOptions = {}): Promise<Integrity> {
  const maxProblems = options.maxProblems ?? 50;
  const problems: string[] = [];
  let extra = 0;
  const add = (problem: string) => {
    if (problems.length < maxProblems) problems.push(problem);
    else extra++;
  };

  // Orders the driver reported twice: the app handed out one id for two orders.
  const byId = new Map<number, SeenOrder>();
  for (const o of seen) {
    const prev = byId.get(o.id);
    if (prev) add(`order ${o.id} was returned twice by the API (product ${prev.productId} x ${prev.quantity} and product ${o.productId} x ${o.quantity})`);
    else byId.set(o.id, o);
  }
  const unique = [...byId.values()];

  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'stackbench-audit',
    statement_timeout: options.statementTimeoutMs ?? 60_000,
  });
  await client.connect();
  try {
    const { rows: countRows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM orders');
    const orders = countRows[0]!.n;

    // Seen orders that are missing or differ. Sent as three arrays: one round trip whatever the count.
    const { rows: mismatched } = await client.query<{
      id: number;
      product_id: number;
      quantity: number;
      found_product: number | null;
      found_quantity: number | null;
      total: number;
    }>(
      `SELECT s.id, s.product_id, s.quantity, o.product_id AS found_product, o.quantity AS found_quantity,
              count(*) OVER ()::int AS total
         FROM unnest($1::int[], $2::int[], $3::int[]) AS s(id, product_id, quantity)
         LEFT JOIN orders o ON o.id = s.id
        WHERE o.id IS NULL OR o.product_id <> s.product_id OR o.quantity <> s.quantity
        ORDER BY s.id
        LIMIT $4`,
      [unique.map((o) => o.id), unique.map((o) => o.productId), unique.map((o) => o.quantity), maxProblems],
    );
    for (const r of mismatched) {
      if (r.found_product === null) add(`order ${r.id} (product ${r.product_id} x ${r.quantity}) was created according to the API but is missing from the database`);
      else add(`order ${r.id}: the API returned product ${r.product_id} x ${r.quantity}, the database holds product ${r.found_product} x ${r.found_quantity}`);
    }
    extra += Math.max(0, (mismatched[0]?.total ?? 0) - mismatched.length);

    // Orders priced differently from their product (prices never change after the seed).
    const { rows: mispriced } = await client.query<{ id: number; product_id: number; unit: number; price: number; total: number }>(
      `SELECT o.id, o.product_id, o.unit_price_cents AS unit, p.price_cents AS price, count(*) OVER ()::int AS total
         FROM orders o JOIN products p ON p.id = o.product_id
        WHERE o.unit_price_cents <> p.price_cents OR o.total_cents <> o.unit_price_cents * o.quantity
        ORDER BY o.id
        LIMIT $1`,
      [maxProblems],
    );
    for (const r of mispriced) add(`order ${r.id}: unit price ${r.unit} cents, but product ${r.product_id} costs ${r.price} cents (or its total is wrong)`);
    extra += Math.max(0, (mispriced[0]?.total ?? 0) - mispriced.length);

    // sold must equal the sum of the product's orders (since the reset, sold started at 0) and stay within stock.
    const { rows: products } = await client.query<{ id: number; stock: number; sold: number; ordered: string; total: number }>(
      `SELECT p.id, p.stock, p.sold, COALESCE(o.qty, 0)::text AS ordered, count(*) OVER ()::int AS total
         FROM products p
         LEFT JOIN (SELECT product_id, sum(quantity) AS qty FROM orders GROUP BY product_id) o ON o.product_id = p.id
        WHERE p.sold <> COALESCE(o.qty, 0) OR p.sold > p.stock
        ORDER BY p.id
        LIMIT $1`,
      [maxProblems],
    );
    for (const r of products) {
      if (r.sold > r.stock) add(`product ${r.id}: oversold, sold ${r.sold} exceeds stock ${r.stock}`);
      if (String(r.sold) !== r.ordered) add(`product ${r.id}: sold is ${r.sold} but its orders add up to ${r.ordered}`);
    }
    extra += Math.max(0, (products[0]?.total ?? 0) - products.length);

    if (extra > 0) problems.push(`... and ${extra} more problem${extra === 1 ? '' : 's'}`);
    return { ok: problems.length === 0, orders, problems };
  } finally {
    await client.end().catch(() => undefined);
  }
}
