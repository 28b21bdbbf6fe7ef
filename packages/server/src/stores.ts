import { CONNECTION_STRATEGIES, type ConnectionStrategy, type Store, type StoreConfig } from '@stackbench/contract';
import { registry } from './registry.js';

/** A store's name, as declared by its package (see registry.ts). */
export type StoreName = string;

export function storeNames(): string[] {
  return registry().stores.map((s) => s.name);
}

export function isStoreName(name: string): boolean {
  return registry().stores.some((s) => s.name === name);
}

export function isConnectionStrategy(name: string): name is ConnectionStrategy {
  return (CONNECTION_STRATEGIES as readonly string[]).includes(name);
}

/** Builds a store, loading its package on demand: an app measured on `pg` never pays for loading an ORM. */
export async function createStore(name: StoreName, config: StoreConfig): Promise<Store> {
  const entry = registry().stores.find((s) => s.name === name);
  if (!entry) throw new Error(`unknown store "${name}" (known: ${storeNames().join(', ')})`);
  const mod = (await import(entry.package)) as Record<string, (c: StoreConfig & Record<string, unknown>) => Store | Promise<Store>>;
  const factory = mod[entry.factory];
  if (typeof factory !== 'function') throw new Error(`${entry.package} does not export ${entry.factory}`);
  return factory({ ...entry.options, ...config });
}
