import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { auditData, type SeenOrder } from '../src/orchestrator/audit.js';

/**
 * The post-run audit against a real, freshly seeded database: clean runs pass, and every kind of damage a broken
 * store could leave (a lost order, a wrong order, a drifted `sold`, an oversell) is reported.
 */

/** Places an order the way a correct store does (insert + sold increment), returns what the API would have said. */
async function placeOrder(db: TestDatabase, productId: number, quantity: number): Promise<SeenOrder> {
  const [row] = await db.sql<{ id: number }>(
    `WITH p AS (UPDATE products SET sold = sold + $2 WHERE id = $1 RETURNING price_cents)
     INSERT INTO orders (product_id, quantity, unit_price_cents, total_cents)
     SELECT $1, $2, price_cents, price_cents * $2 FROM p RETURNING id`,
    [productId, quantity],
  );
  return { id: row!.id, productId, quantity };
}

describe('auditData', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('bench_audit', { products: 200 });
  });
  afterEach(async () => {
    await db?.drop();
  });

  it('passes a freshly seeded database and consistent orders', async () => {
    expect(await auditData(db.url, [])).toEqual({ ok: true, orders: 0, problems: [] });
    const seen = [await placeOrder(db, 10, 1), await placeOrder(db, 10, 2), await placeOrder(db, 42, 1)];
    expect(await auditData(db.url, seen)).toEqual({ ok: true, orders: 3, problems: [] });
  });

  it('tolerates orders the driver never saw (a response lost after the commit)', async () => {
    const seen = [await placeOrder(db, 10, 1)];
    await placeOrder(db, 11, 1);
    expect(await auditData(db.url, seen)).toEqual({ ok: true, orders: 2, problems: [] });
  });

  it('reports an order the API confirmed that is missing, and one stored differently', async () => {
    const a = await placeOrder(db, 10, 1);
    const b = await placeOrder(db, 11, 3);
    const seen: SeenOrder[] = [a, { ...b, quantity: 2 }, { id: 9999, productId: 12, quantity: 1 }];
    const integrity = await auditData(db.url, seen);
    expect(integrity.ok).toBe(false);
    expect(integrity.orders).toBe(2);
    expect(integrity.problems).toEqual([
      `order ${b.id}: the API returned product 11 x 2, the database holds product 11 x 3`,
      'order 9999 (product 12 x 1) was created according to the API but is missing from the database',
    ]);
  });

  it('reports the same order id returned twice', async () => {
    const a = await placeOrder(db, 10, 1);
    const integrity = await auditData(db.url, [a, { ...a, productId: 11 }]);
    expect(integrity.ok).toBe(false);
    expect(integrity.problems[0]).toMatch(new RegExp(`order ${a.id} was returned twice`));
  });

  it('reports sold drifting from the orders: an order without its increment, an increment without its order', async () => {
    const seen = [await placeOrder(db, 10, 2)];
    // A store that inserted the order but lost the increment...
    const [lost] = await db.sql<{ id: number; price_cents: number }>(
      `INSERT INTO orders (product_id, quantity, unit_price_cents, total_cents)
       SELECT id, 1, price_cents, price_cents FROM products WHERE id = 20 RETURNING id`,
    );
    seen.push({ id: lost!.id, productId: 20, quantity: 1 });
    // ...and one that incremented sold without an order.
    await db.sql('UPDATE products SET sold = sold + 5 WHERE id = 30');
    const integrity = await auditData(db.url, seen);
    expect(integrity.ok).toBe(false);
    expect(integrity.problems).toEqual(['product 20: sold is 0 but its orders add up to 1', 'product 30: sold is 5 but its orders add up to 0']);
  });

  it('reports a real oversell (sold beyond stock), which the schema normally forbids', async () => {
    // Product 3 is a low-stock product (stock 5). Remove the last line of defence, as a broken schema would.
    await db.sql('ALTER TABLE products DROP CONSTRAINT products_sold_within_stock');
    const [{ stock }] = (await db.sql<{ stock: number }>('SELECT stock FROM products WHERE id = 3')) as [{ stock: number }];
    const seen: SeenOrder[] = [];
    for (let i = 0; i < stock + 2; i++) seen.push(await placeOrder(db, 3, 1));
    const integrity = await auditData(db.url, seen);
    expect(integrity.ok).toBe(false);
    expect(integrity.orders).toBe(stock + 2);
    expect(integrity.problems).toEqual([`product 3: oversold, sold ${stock + 2} exceeds stock ${stock}`]);
  });

  it('reports an order priced differently from its product', async () => {
    const a = await placeOrder(db, 10, 2);
    await db.sql('UPDATE orders SET unit_price_cents = unit_price_cents + 1, total_cents = (unit_price_cents + 1) * quantity WHERE id = $1', [a.id]);
    const integrity = await auditData(db.url, [a]);
    expect(integrity.ok).toBe(false);
    expect(integrity.problems).toHaveLength(1);
    expect(integrity.problems[0]).toMatch(new RegExp(`^order ${a.id}: unit price \\d+ cents, but product 10 costs \\d+ cents`));
  });

  it('lists at most maxProblems problems and counts the rest', async () => {
    const seen: SeenOrder[] = Array.from({ length: 30 }, (_, i) => ({ id: 1000 + i, productId: 10, quantity: 1 }));
    const integrity = await auditData(db.url, seen, { maxProblems: 5 });
    expect(integrity.ok).toBe(false);
    expect(integrity.problems).toHaveLength(6);
    expect(integrity.problems[5]).toBe('... and 25 more problems');
  });
});
