import { CONNECTION_STRATEGIES, type ConnectionStrategy, type Store, type StoreConfig } from '@stackbench/contract';

/** Data layers, loaded on demand so an app measured on `pg` never pays for loading an ORM. */
export const STORES = {
  pg: { package: '@stackbench/store-pg', factory: 'createPgStore', library: 'pg', description: 'raw SQL, named prepared statements' },
  drizzle: { package: '@stackbench/store-drizzle', factory: 'createDrizzleStore', library: 'drizzle-orm', description: 'drizzle query builder over node-postgres' },
  typeorm: { package: '@stackbench/store-typeorm', factory: 'createTypeormStore', library: 'typeorm', description: 'TypeORM entities and repositories' },
} as const;

export type StoreName = keyof typeof STORES;
export const STORE_NAMES = Object.keys(STORES) as StoreName[];

export function isStoreName(name: string): name is StoreName {
  return Object.hasOwn(STORES, name);
}

export function isConnectionStrategy(name: string): name is ConnectionStrategy {
  return (CONNECTION_STRATEGIES as readonly string[]).includes(name);
}

export async function createStore(name: StoreName, config: StoreConfig): Promise<Store> {
  const entry = STORES[name];
  const mod = (await import(entry.package)) as Record<string, (c: StoreConfig) => Store | Promise<Store>>;
  const factory = mod[entry.factory];
  if (typeof factory !== 'function') throw new Error(`${entry.package} does not export ${entry.factory}`);
  return factory(config);
}
