import { LOW_STOCK, REGULAR_STOCK, seededPriceCents, seededProductName } from '@stackbench/contract';
import { resetDatabase } from '@stackbench/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';

describe('seed', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('seed', { products: 1000 });
  });
  afterAll(() => db?.drop());

  it('is the SQL twin of the contract functions (names, prices, stock)', async () => {
    const rows = await db.sql<{ id: number; name: string; price_cents: number; stock: number; sold: number }>('SELECT * FROM products ORDER BY id');
    expect(rows).toHaveLength(1000);
    rows.forEach((r) => {
      expect(r.name).toBe(seededProductName(r.id));
      expect(r.price_cents).toBe(seededPriceCents(r.id));
      expect(r.stock).toBe(LOW_STOCK[r.id - 1] ?? REGULAR_STOCK);
      expect(r.sold).toBe(0);
    });
  });

  it('reset returns to the same fresh state after orders', async () => {
    await db.sql("INSERT INTO orders (product_id, quantity, unit_price_cents, total_cents) SELECT 6, 2, price_cents, price_cents * 2 FROM products WHERE id = 6");
    await db.sql('UPDATE products SET sold = sold + 2 WHERE id = 6');
    await resetDatabase(db.url, { products: 1000 });
    expect(await db.sql('SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 0 }]);
    expect(await db.sql('SELECT sum(sold)::int AS s FROM products')).toEqual([{ s: 0 }]);
    // Identity restarts too, so the same request sequence yields the same order ids.
    await db.sql("INSERT INTO orders (product_id, quantity, unit_price_cents, total_cents) VALUES (6, 1, 100, 100)");
    expect(await db.sql('SELECT max(id)::int AS id FROM orders')).toEqual([{ id: 1 }]);
  });

  it('the schema makes oversell impossible even for a store that tries', async () => {
    await expect(db.sql('UPDATE products SET sold = stock + 1 WHERE id = 2')).rejects.toThrow(/products_sold_within_stock/);
    await expect(db.sql('INSERT INTO orders (product_id, quantity, unit_price_cents, total_cents) VALUES (6, 1, 100, 999)')).rejects.toThrow(/check constraint/);
  });
});
