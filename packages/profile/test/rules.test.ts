import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { loadRegistry } from '@stackbench/server';
import { describe, expect, it } from 'vitest';
import { FrameClassifier, packageRule, PACKAGE_RULES, placeOf, type CallFrame, type Product } from '../src/index.js';

const REPO = new URL('../../../', import.meta.url);
interface LockEntry {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  /** Workspace links: `node_modules/@stackbench/server` -> `packages/server`. */
  link?: boolean;
  resolved?: string;
}
const lock = JSON.parse(readFileSync(new URL('package-lock.json', REPO), 'utf8')) as { packages: Record<string, LockEntry> };

/** Node's resolution over the lockfile's `node_modules/...` keys. */
function resolve(from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (lock.packages[key]) return key;
    if (!base) return null;
    const at = base.lastIndexOf('/node_modules/');
    base = at < 0 ? '' : base.slice(0, at);
  }
}

/**
 * npm packages that `names` (resolved from the lockfile key `fromKey`) load, themselves included; peer dependencies
 * count (they are loaded), and workspace links are followed into the workspace's own dependencies.
 */
function closure(fromKey: string, names: string[]): Set<string> {
  const seen = new Set<string>();
  const todo = names.map((n) => resolve(fromKey, n)).filter((k): k is string => k !== null);
  while (todo.length) {
    let key = todo.pop()!;
    const linked = lock.packages[key]!;
    if (linked.link && linked.resolved) key = linked.resolved;
    if (seen.has(key)) continue;
    seen.add(key);
    const p = lock.packages[key]!;
    for (const dep of Object.keys({ ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies })) {
      const found = resolve(key, dep);
      if (found) todo.push(found);
    }
  }
  return new Set([...seen].filter((k) => k.includes('node_modules/')).map((k) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length)));
}

/**
 * Whether an installed package holds any JavaScript (types-only packages such as @types/* and undici-types never
 * run; optional platform packages for other systems are not installed at all).
 */
function holdsCode(name: string): boolean {
  const dirs = [new URL(`node_modules/${name}/`, REPO)];
  if (!existsSync(dirs[0]!)) return false;
  while (dirs.length) {
    const dir = dirs.pop()!;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile() && /\.[cm]?js$/.test(entry.name)) return true;
      if (entry.isDirectory() && entry.name !== 'node_modules') dirs.push(new URL(`${entry.name}/`, dir));
    }
  }
  return false;
}

const PRODUCT_ROOTS: Record<Exclude<Product, 'stackbench'>, string[]> = {
  // Fastify and the official plugins NestJS's Fastify adapter loads.
  Fastify: ['fastify', '@fastify/cors', '@fastify/formbody', '@fastify/middie'],
  Express: ['express'],
  NestJS: ['@nestjs/core', '@nestjs/common', '@nestjs/platform-express', '@nestjs/platform-fastify'],
  Ajv: ['ajv', 'ajv-formats'],
  'class-validator': ['class-validator'],
  TypeORM: ['typeorm'],
  'drizzle-orm': ['drizzle-orm'],
  'node-postgres': ['pg'],
};

describe('PACKAGE_RULES against the lockfile', () => {
  it('has a rule for every package the benchmarked apps and stores load', () => {
    // The apps, the stores they load by name (the registry's), and every workspace those load, through the links.
    const reg = loadRegistry();
    const benchmarked = new Set([...reg.apps, ...reg.stores].map((e) => relative(reg.root, e.dir)));
    const apps = Object.keys(lock.packages).filter((k) => benchmarked.has(k));
    expect(apps.length).toBeGreaterThanOrEqual(4);
    const loaded = new Set<string>();
    for (const app of apps) for (const name of closure(app, Object.keys(lock.packages[app]!.dependencies ?? {}))) loaded.add(name);
    expect(loaded.has('typeorm') && loaded.has('@nestjs/core') && loaded.has('pg')).toBe(true);
    const unlisted = [...loaded].filter((name) => !packageRule(name) && holdsCode(name)).sort();
    expect(unlisted).toEqual([]);
  });

  it("puts each package in a product that really depends on it", () => {
    const closures = Object.fromEntries(Object.entries(PRODUCT_ROOTS).map(([product, roots]) => [product, closure('', roots)])) as Record<
      string,
      Set<string>
    >;
    const wrong: string[] = [];
    for (const [name, rule] of Object.entries(PACKAGE_RULES)) {
      if (name.includes('*') || !resolve('', name)) continue; // wildcards, and packages not installed here
      const products = rule.category === 'caller' ? rule.usedBy : [rule.partOf];
      for (const product of products) {
        if (product !== 'stackbench' && !closures[product]!.has(name)) wrong.push(`${name} is not loaded by ${product}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('matches exact names before scopes before prefixes', () => {
    expect(packageRule('@fastify/ajv-compiler')).toMatchObject({ category: 'validation' });
    expect(packageRule('@fastify/cors')).toMatchObject({ category: 'framework', partOf: 'Fastify' });
    expect(packageRule('postgres-date')).toMatchObject({ category: 'pg-driver' });
    expect(packageRule('@stackbench/store-pg')).toMatchObject({ category: 'app' });
    expect(packageRule('left-pad')).toBeNull();
  });
});

describe('placeOf and FrameClassifier on the URL shapes V8 reports', () => {
  const frame = (url: string, functionName = 'f', lineNumber = 9): CallFrame => ({ functionName, url, scriptId: '1', lineNumber, columnNumber: 0 });
  const classifier = new FrameClassifier({ appRoots: ['/srv/stackbench/apps', 'file:///srv/stackbench/packages/'] });

  it('takes the innermost node_modules package, scoped or not, from file URLs and bare paths', () => {
    expect(placeOf('file:///srv/x/node_modules/fastify/lib/route.js')).toEqual({ kind: 'package', name: 'fastify', file: 'lib/route.js' });
    expect(placeOf('/srv/x/node_modules/@nestjs/core/router/router-explorer.js')).toMatchObject({ kind: 'package', name: '@nestjs/core' });
    expect(placeOf('file:///srv/x/node_modules/@fastify/ajv-compiler/node_modules/fast-uri/index.js')).toMatchObject({ name: 'fast-uri' });
    expect(placeOf('file:///srv/x/node_modules/.pnpm/pg@8.23.1/node_modules/pg/lib/client.js')).toMatchObject({ name: 'pg' });
    expect(placeOf('file:///C:/work/node_modules/typeorm/index.js')).toMatchObject({ name: 'typeorm' });
    expect(placeOf('file:///srv/my%20app/main.js')).toEqual({ kind: 'file', path: '/srv/my app/main.js' });
    expect(placeOf('node:internal/streams/readable')).toEqual({ kind: 'node', module: 'internal/streams/readable' });
    expect(placeOf('')).toEqual({ kind: 'native' });
    expect(placeOf('evalmachine.<anonymous>')).toEqual({ kind: 'unknown', url: 'evalmachine.<anonymous>' });
  });

  it('classifies the project, packages, node internals and shared helpers', () => {
    expect(classifier.classify(frame('file:///srv/stackbench/apps/fastify/dist/app.js'), null)).toEqual({
      category: 'app',
      package: 'apps/fastify',
      owner: 'stackbench',
      location: 'apps/fastify/dist/app.js:10',
    });
    // A package installed inside a workspace is still that package, not project code.
    expect(classifier.classify(frame('/srv/stackbench/packages/store-typeorm/node_modules/typeorm/index.js'), null)).toMatchObject({
      category: 'orm',
      package: 'typeorm',
      owner: 'TypeORM',
    });
    expect(classifier.classify(frame('file:///elsewhere/script.mjs'), null)).toMatchObject({ category: 'other', package: null });
    expect(classifier.classify(frame('node:_http_server'), null)).toMatchObject({ category: 'node-http', owner: 'Node.js' });
    expect(classifier.classify(frame('node:internal/timers'), null)).toMatchObject({ category: 'node-other' });
    expect(classifier.classify(frame('file:///srv/x/node_modules/left-pad/index.js'), null)).toMatchObject({ category: 'other', package: 'left-pad' });

    const typeormCaller = classifier.classify(frame('file:///srv/x/node_modules/typeorm/query-builder/QueryBuilder.js'), null);
    const metadata = classifier.classify(frame('file:///srv/x/node_modules/reflect-metadata/Reflect.js'), typeormCaller);
    expect(metadata).toMatchObject({ category: 'orm', package: 'reflect-metadata', owner: 'TypeORM' });
    const nestCaller = classifier.classify(frame('file:///srv/x/node_modules/@nestjs/core/injector/injector.js'), null);
    expect(classifier.classify(frame('file:///srv/x/node_modules/reflect-metadata/Reflect.js'), nestCaller)).toMatchObject({
      category: 'framework',
      owner: 'NestJS',
    });
    expect(classifier.classify(frame('', 'RegExp: ^/products'), nestCaller)).toMatchObject({ category: 'framework', package: '@nestjs/core', location: '(native)' });
    expect(classifier.classify(frame('', '(garbage collector)', -1), nestCaller)).toMatchObject({ category: 'gc', package: null });

    // Socket writes belong to whoever outside Node made them; under Node's HTTP server they are node-http.
    const pgSubmit = classifier.classify(frame('file:///srv/x/node_modules/pg/lib/connection.js'), null);
    const uncork = classifier.classify(frame('node:internal/streams/writable'), pgSubmit);
    const socketWrite = classifier.classify(frame('node:net'), uncork);
    expect(socketWrite).toMatchObject({ category: 'pg-driver', package: null, owner: 'node-postgres' });
    expect(classifier.classify(frame('', 'writev'), socketWrite)).toMatchObject({ category: 'pg-driver' });
    const httpEnd = classifier.classify(frame('node:_http_outgoing'), nestCaller);
    expect(httpEnd).toMatchObject({ category: 'node-http', owner: 'Node.js' });
    expect(classifier.classify(frame('node:net'), httpEnd)).toMatchObject({ category: 'node-http', owner: 'Node.js' });
    expect(classifier.classify(frame('node:internal/stream_base_commons'), null)).toMatchObject({ category: 'node-http' });
  });
});
