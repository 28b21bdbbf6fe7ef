import { sql } from 'drizzle-orm';
import { check, foreignKey, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * packages/db/sql/schema.sql as drizzle code. The SQL file is the source of truth (drizzle never creates or migrates
 * anything); test/schema.test.ts compares this definition with the catalog that file creates, so a drift fails.
 * Constraint and index names are PostgreSQL's generated ones, so they can be compared too (a check on more than
 * one column is named `<table>_check`).
 */
export const products = pgTable(
  'products',
  {
    id: integer('id').primaryKey(),
    name: text('name').notNull(),
    priceCents: integer('price_cents').notNull(),
    stock: integer('stock').notNull(),
    sold: integer('sold').notNull().default(0),
  },
  (t) => [
    check('products_price_cents_check', sql`${t.priceCents} > 0`),
    check('products_stock_check', sql`${t.stock} >= 0`),
    check('products_sold_check', sql`${t.sold} >= 0`),
    check('products_sold_within_stock', sql`${t.sold} <= ${t.stock}`),
  ],
);

export const orders = pgTable(
  'orders',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    productId: integer('product_id').notNull(),
    quantity: integer('quantity').notNull(),
    unitPriceCents: integer('unit_price_cents').notNull(),
    totalCents: integer('total_cents').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // Named like PostgreSQL names `REFERENCES products (id)` (drizzle's default name would differ).
    foreignKey({ name: 'orders_product_id_fkey', columns: [t.productId], foreignColumns: [products.id] }),
    check('orders_quantity_check', sql`${t.quantity} BETWEEN 1 AND 100`),
    check('orders_unit_price_cents_check', sql`${t.unitPriceCents} > 0`),
    check('orders_check', sql`${t.totalCents} = ${t.unitPriceCents} * ${t.quantity}`),
    index('orders_product_id_idx').on(t.productId),
  ],
);

export type ProductRow = typeof products.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;
