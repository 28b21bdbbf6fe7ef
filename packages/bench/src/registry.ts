import { CONNECTION_STRATEGIES, type ConnectionStrategy } from '@stackbench/contract';
import { STORE_NAMES, STORES, type AppModule, type StoreName } from '@stackbench/server';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What each app is, for `stackbench list`, the README's matrix table and the report. */
export interface AppEntry {
  name: string;
  /** Workspace package that holds the app. */
  package: string;
  /** Named export of that package: the AppModule (buildApp + listen). */
  exportName: string;
  /** Compiled entry point inside the package, run as its own process by `serve` and `bench`. */
  main: string;
  /** npm package whose version identifies the framework (null for node:http). */
  frameworkPackage: string | null;
  framework: string;
  adapter: string;
  validation: string;
  serialization: string;
}

export const APPS: AppEntry[] = [
  {
    name: 'node-http',
    package: '@stackbench/app-node-http',
    exportName: 'app',
    main: 'dist/main.js',
    frameworkPackage: null,
    framework: 'node:http',
    adapter: '-',
    validation: 'hand-written (contract parse functions)',
    serialization: 'JSON.stringify',
  },
  {
    name: 'express',
    package: '@stackbench/app-express',
    exportName: 'app',
    main: 'dist/main.js',
    frameworkPackage: 'express',
    framework: 'Express',
    adapter: '-',
    validation: 'middleware (contract parse functions)',
    serialization: 'res.json (JSON.stringify)',
  },
  {
    name: 'fastify',
    package: '@stackbench/app-fastify',
    exportName: 'app',
    main: 'dist/main.js',
    frameworkPackage: 'fastify',
    framework: 'Fastify',
    adapter: '-',
    validation: 'JSON Schema (Ajv)',
    serialization: 'response schemas (fast-json-stringify)',
  },
  {
    name: 'nest-express',
    package: '@stackbench/app-nest',
    exportName: 'nestExpress',
    main: 'dist/main-express.js',
    frameworkPackage: '@nestjs/core',
    framework: 'NestJS',
    adapter: '@nestjs/platform-express',
    validation: 'class-validator DTOs (ValidationPipe)',
    serialization: 'JSON.stringify (platform)',
  },
  {
    name: 'nest-fastify',
    package: '@stackbench/app-nest',
    exportName: 'nestFastify',
    main: 'dist/main-fastify.js',
    frameworkPackage: '@nestjs/core',
    framework: 'NestJS',
    adapter: '@nestjs/platform-fastify',
    validation: 'class-validator DTOs (ValidationPipe)',
    serialization: 'JSON.stringify (platform)',
  },
];

export const APP_NAMES = APPS.map((a) => a.name);
export { STORE_NAMES, STORES, CONNECTION_STRATEGIES };

export interface Combination {
  app: string;
  store: StoreName;
  conn: ConnectionStrategy;
}

/** Every app x store x connection strategy, in a fixed order. */
export function allCombinations(): Combination[] {
  return APPS.flatMap((a) => STORE_NAMES.flatMap((store) => CONNECTION_STRATEGIES.map((conn) => ({ app: a.name, store, conn }))));
}

export function findApp(name: string): AppEntry {
  const entry = APPS.find((a) => a.name === name);
  if (!entry) throw new Error(`unknown app "${name}" (known: ${APP_NAMES.join(', ')})`);
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

/** Absolute path of an app's compiled main.js. */
export function appMainPath(entry: AppEntry): string {
  return join(packageDir(entry.package), entry.main);
}

/** Version of an installed npm package, as the package `from` (default: this one) would load it. */
export function installedVersion(pkg: string, from?: string): string | null {
  try {
    const start = from ? packageDir(from) : here;
    return (JSON.parse(readFileSync(join(packageDir(pkg, start), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

export async function loadAppModule(entry: AppEntry): Promise<AppModule> {
  const mod = (await import(entry.package)) as Record<string, AppModule>;
  const app = mod[entry.exportName];
  if (!app) throw new Error(`${entry.package} does not export ${entry.exportName}`);
  return app;
}
