/**
 * The seeded catalog every measurement starts from (packages/db builds it; the scenario and the contract suite
 * rely on its shape). Products 1..LOW_STOCK.length have little or no stock, for tests of 409 and oversell; every
 * other product has REGULAR_STOCK, so a long benchmark never runs out.
 */
export const DEFAULT_PRODUCT_COUNT = 10_000;
export const LOW_STOCK: readonly number[] = [0, 1, 5, 50, 50];
export const REGULAR_STOCK = 1_000_000_000;
/** First id the load scenario may order from: the low-stock products are never part of a benchmark. */
export const FIRST_REGULAR_PRODUCT_ID = LOW_STOCK.length + 1;

/** Name and price are pure functions of the id, so every seeded database is identical. */
export function seededProductName(id: number): string {
  return `Product ${String(id).padStart(6, '0')}`;
}

export function seededPriceCents(id: number): number {
  return 100 + ((id * 7919) % 99_901);
}
