/**
 * The apps and stores stackbench knows, read from the workspace: every package under `apps/` and `packages/` whose
 * package.json has a `stackbench` key declares what it provides, beside its code (as TechEmpower entries carry their
 * own config). Every list — `stackbench list`, the bench's selection and default selection, tracked package versions,
 * the README's matrix, the report's names and order — is derived from here, so adding an app is its folder plus
 * `npm install` (which links the new workspace package).
 *
 *   "stackbench": { "apps": [{ "name": "express", "main": "dist/main.js", "export": "app", "framework": "Express",
 *                   "frameworkPackage": "express", "adapter": "-", "validation": "...", "serialization": "..." }] }
 *   "stackbench": { "stores": [{ "name": "pg", "factory": "createPgStore", "library": "pg", "description": "..." }] }
 *
 * Optional flags: `baseline` (one app and one store: the reference every ratio divides by), `probe` (one app: the
 * default selection runs it on every store and connection strategy), `trackedPackages` (npm packages whose versions
 * identify what was measured; default: the framework package or the store's library), `options` (stores: passed to
 * the factory, so one package can offer variants), `variantOf` (a store variant: selectable, measured on demand, but
 * not part of the default selection).
 */
import { CONNECTION_STRATEGIES, type ConnectionStrategy } from '@stackbench/contract';
import { workspaceRoot } from '@stackbench/contract/workspace';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AppModule } from './main.js';

export interface AppEntry {
  name: string;
  /** npm name of the workspace package that holds it. */
  package: string;
  /** Absolute path of that package. */
  dir: string;
  /** Compiled entry point inside the package, run as its own process by `serve` and `bench`. */
  main: string;
  /** Named export of the package: its AppModule (buildApp + listen). */
  export: string;
  framework: string;
  /** npm package whose version identifies the framework (null for node:http). */
  frameworkPackage: string | null;
  adapter: string;
  validation: string;
  serialization: string;
  trackedPackages: string[];
  baseline: boolean;
  probe: boolean;
  /** The payload lab's serialization variants (package.json `labVariants.payload`), the app's default idiom first. */
  payloadVariants: string[];
}

export interface StoreEntry {
  name: string;
  package: string;
  dir: string;
  /** Named export of the package: (config) => Store. */
  factory: string;
  library: string;
  description: string;
  trackedPackages: string[];
  /** Extra options for the factory (a variant of the same store package). */
  options: Record<string, unknown>;
  /** The store this one is a variant of (e.g. drizzle-tuned of drizzle); variants stay out of the default selection. */
  variantOf: string | null;
  baseline: boolean;
}

export interface Registry {
  root: string;
  /** Baseline first, then by name. */
  apps: AppEntry[];
  stores: StoreEntry[];
  conns: readonly ConnectionStrategy[];
  baseline: { app: string; store: string; conn: ConnectionStrategy };
  /** The app the default selection runs on every store and connection strategy. */
  probe: string;
}

interface PackageJson {
  name?: string;
  stackbench?: { apps?: Array<Record<string, unknown>>; stores?: Array<Record<string, unknown>> };
}

function str(entry: Record<string, unknown>, key: string, where: string, fallback?: string): string {
  const v = entry[key];
  if (typeof v === 'string' && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`${where}: "stackbench" entry needs a string "${key}"`);
}

function list(entry: Record<string, unknown>, key: string, fallback: string[]): string[] {
  const v = entry[key];
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : fallback;
}

const byBaselineThenName = <T extends { name: string; baseline: boolean }>(a: T, b: T) => Number(b.baseline) - Number(a.baseline) || a.name.localeCompare(b.name);

/** Reads the registry of a checkout (default: the one this code runs from). Throws a one-line error on bad metadata. */
export function loadRegistry(root: string | null = workspaceRoot()): Registry {
  if (!root) throw new Error('not inside a stackbench checkout (no turbo.json above this package)');
  const apps: AppEntry[] = [];
  const stores: StoreEntry[] = [];
  for (const group of ['apps', 'packages']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const file = join(base, name, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      const meta = pkg.stackbench;
      if (!meta || !pkg.name) continue;
      const dir = join(base, name);
      const where = `${group}/${name}/package.json`;
      for (const a of meta.apps ?? []) {
        const frameworkPackage = typeof a.frameworkPackage === 'string' ? a.frameworkPackage : null;
        apps.push({
          name: str(a, 'name', where),
          package: pkg.name,
          dir,
          main: str(a, 'main', where),
          export: str(a, 'export', where),
          framework: str(a, 'framework', where),
          frameworkPackage,
          adapter: str(a, 'adapter', where, '-'),
          validation: str(a, 'validation', where, '-'),
          serialization: str(a, 'serialization', where, '-'),
          trackedPackages: list(a, 'trackedPackages', frameworkPackage ? [frameworkPackage] : []),
          baseline: a.baseline === true,
          probe: a.probe === true,
          payloadVariants: list((a.labVariants ?? {}) as Record<string, unknown>, 'payload', ['default']),
        });
      }
      for (const s of meta.stores ?? []) {
        const library = str(s, 'library', where);
        stores.push({
          name: str(s, 'name', where),
          package: pkg.name,
          dir,
          factory: str(s, 'factory', where),
          library,
          description: str(s, 'description', where, '-'),
          trackedPackages: list(s, 'trackedPackages', [library]),
          options: typeof s.options === 'object' && s.options !== null ? (s.options as Record<string, unknown>) : {},
          variantOf: typeof s.variantOf === 'string' ? s.variantOf : null,
          baseline: s.baseline === true,
        });
      }
    }
  }
  apps.sort(byBaselineThenName);
  stores.sort(byBaselineThenName);
  for (const [kind, names] of [['app', apps.map((a) => a.name)], ['store', stores.map((s) => s.name)]] as const) {
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`two workspace packages declare the ${kind} "${dup}"`);
    if (!names.every((n) => /^[a-z0-9][a-z0-9-]*$/.test(n))) throw new Error(`${kind} names must be lower-case words joined by "-": ${names.join(', ')}`);
  }
  if (apps.length === 0 || stores.length === 0) throw new Error(`no apps or no stores declared under ${root}/apps and ${root}/packages`);
  const baselineApp = apps.find((a) => a.baseline) ?? apps[0]!;
  const baselineStore = stores.find((s) => s.baseline) ?? stores[0]!;
  return {
    root,
    apps,
    stores,
    conns: CONNECTION_STRATEGIES,
    baseline: { app: baselineApp.name, store: baselineStore.name, conn: CONNECTION_STRATEGIES[0] },
    probe: (apps.find((a) => a.probe) ?? baselineApp).name,
  };
}

let cached: Registry | undefined;

/** The registry of this checkout, read once per process. */
export function registry(): Registry {
  return (cached ??= loadRegistry());
}

export function findApp(name: string, reg: Registry = registry()): AppEntry {
  const entry = reg.apps.find((a) => a.name === name);
  if (!entry) throw new Error(`unknown app "${name}" (known: ${reg.apps.map((a) => a.name).join(', ')})`);
  return entry;
}

/** Absolute path of an app's compiled main.js. */
export function appMainPath(entry: AppEntry): string {
  return join(entry.dir, entry.main);
}

/** The app's AppModule (buildApp + listen), imported from its package's compiled entry. */
export async function loadAppModule(entry: AppEntry): Promise<AppModule> {
  const mod = (await import(entry.package)) as Record<string, AppModule>;
  const app = mod[entry.export];
  if (!app) throw new Error(`${entry.package} does not export ${entry.export}`);
  return app;
}
