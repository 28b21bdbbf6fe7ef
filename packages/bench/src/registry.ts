/**
 * The bench's view of the registry (@stackbench/server/registry: what each workspace package declares): the
 * combinations, the default selection, an app's compiled entry and installed package versions.
 */
import type { ConnectionStrategy } from '@stackbench/contract';
import { registry, type AppEntry, type Registry, type StoreEntry } from '@stackbench/server';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { registry, loadRegistry, findApp, appMainPath, loadAppModule, type AppEntry, type StoreEntry, type Registry } from '@stackbench/server';

export interface Combination {
  app: string;
  store: string;
  conn: ConnectionStrategy;
}

export const appNames = (reg: Registry = registry()): string[] => reg.apps.map((a) => a.name);
export const storeNames = (reg: Registry = registry()): string[] => reg.stores.map((s) => s.name);

/** Every app x store x connection strategy, in the registry's order. */
export function allCombinations(reg: Registry = registry()): Combination[] {
  return reg.apps.flatMap((a) => reg.stores.flatMap((s) => reg.conns.map((conn) => ({ app: a.name, store: s.name, conn }))));
}

/**
 * The three questions in one run: every app on the baseline store and connection (the framework), and the probe app
 * on every other store (the data layer) and every other connection strategy (the connection). Store variants (the
 * tuned ORMs) are measured on demand: --stores drizzle-tuned,typeorm-tuned.
 */
export function defaultSelection(reg: Registry = registry()): Combination[] {
  const { store, conn } = reg.baseline;
  const picks: Combination[] = [
    ...reg.apps.map((a) => ({ app: a.name, store, conn })),
    ...reg.conns.filter((c) => c !== conn).map((c) => ({ app: reg.probe, store, conn: c })),
    ...reg.stores.filter((s) => s.name !== store && s.variantOf === null).map((s) => ({ app: reg.probe, store: s.name, conn })),
  ];
  const key = (c: Combination) => `${c.app}|${c.store}|${c.conn}`;
  const want = new Set(picks.map(key));
  return allCombinations(reg).filter((c) => want.has(key(c)));
}

export function findStore(name: string, reg: Registry = registry()): StoreEntry {
  const entry = reg.stores.find((s) => s.name === name);
  if (!entry) throw new Error(`unknown store "${name}" (known: ${storeNames(reg).join(', ')})`);
  return entry;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The folder of an installed package as Node would find it from `fromDir`: the nearest node_modules/<pkg> up
 * the tree. (Resolving `<pkg>/package.json` fails for packages whose "exports" do not list it.)
 */
function packageDir(pkg: string, fromDir = here): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', pkg);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === dirname(dir)) throw new Error(`package ${pkg} is not installed (run npm ci)`);
  }
}

/** Version of an installed npm package as the code in `fromDir` (default: this package) would load it. */
export function installedVersion(pkg: string, fromDir?: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(packageDir(pkg, fromDir ?? here), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}
