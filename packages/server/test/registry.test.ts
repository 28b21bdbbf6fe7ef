import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { allCombinations, defaultSelection } from '@stackbench/bench/registry';
import { loadRegistry, registry } from '../src/registry.js';

/**
 * The registry is read from the packages' own `stackbench` metadata: adding an app or a store is its folder (plus
 * `npm install`), and every derived list — combinations, default selection, baseline — follows without a code change.
 */

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

function workspace(packages: Record<string, object>): string {
  const root = mkdtempSync(join(tmpdir(), 'stackbench-registry-'));
  roots.push(root);
  writeFileSync(join(root, 'turbo.json'), '{}');
  for (const [dir, pkg] of Object.entries(packages)) {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify(pkg));
  }
  return root;
}

const app = (name: string, extra: object = {}) => ({ name, main: 'dist/main.js', export: 'app', framework: name, frameworkPackage: name, ...extra });

describe('the registry of this checkout', () => {
  it('holds the five apps and three stores, baseline first, and the probe app for the default selection', () => {
    const reg = registry();
    expect(reg.apps.map((a) => a.name)).toEqual(['node-http', 'express', 'fastify', 'nest-express', 'nest-fastify']);
    expect(reg.stores.map((s) => s.name)).toEqual(['pg', 'drizzle', 'drizzle-tuned', 'typeorm', 'typeorm-tuned']);
    expect(reg.stores.filter((s) => s.variantOf).map((s) => [s.name, s.variantOf])).toEqual([['drizzle-tuned', 'drizzle'], ['typeorm-tuned', 'typeorm']]);
    expect(reg.baseline).toEqual({ app: 'node-http', store: 'pg', conn: 'pool' });
    expect(reg.probe).toBe('fastify');
    expect(reg.apps.find((a) => a.name === 'nest-fastify')!.trackedPackages).toContain('@nestjs/platform-fastify');
    expect(allCombinations(reg)).toHaveLength(50);
  });
});

describe('a sixth app (and a fourth store) in a workspace of their own', () => {
  it('appear in every derived list with nothing else changed', () => {
    const root = workspace({
      'apps/base': { name: '@x/base', stackbench: { apps: [app('base', { baseline: true, frameworkPackage: null })] } },
      'apps/koa': { name: '@x/koa', stackbench: { apps: [app('koa', { probe: true })] } },
      'packages/store-raw': { name: '@x/store-raw', stackbench: { stores: [{ name: 'raw', factory: 'createRaw', library: 'pg', baseline: true }] } },
      'packages/store-kysely': { name: '@x/store-kysely', stackbench: { stores: [{ name: 'kysely', factory: 'createKysely', library: 'kysely', options: { style: 'typical' } }] } },
      'packages/not-a-part': { name: '@x/other' },
    });
    const reg = loadRegistry(root);
    expect(reg.apps.map((a) => a.name)).toEqual(['base', 'koa']);
    expect(reg.stores.map((s) => s.name)).toEqual(['raw', 'kysely']);
    expect(reg.stores[1]).toMatchObject({ package: '@x/store-kysely', trackedPackages: ['kysely'], options: { style: 'typical' } });
    expect(reg.apps[0]!.trackedPackages).toEqual([]);
    expect(reg.apps[1]!.dir).toBe(join(root, 'apps', 'koa'));
    expect(allCombinations(reg)).toHaveLength(2 * 2 * 2);
    // Every app on the baseline store + connection; the probe app on the other store and the other connection.
    expect(defaultSelection(reg).map((c) => `${c.app}+${c.store}+${c.conn}`)).toEqual(['base+raw+pool', 'koa+raw+pool', 'koa+raw+per-request', 'koa+kysely+pool']);
  });

  it('refuses metadata that would make lists ambiguous, in one line', () => {
    expect(() => loadRegistry(workspace({ 'apps/a': { name: '@x/a', stackbench: { apps: [app('dup'), app('dup')] } }, 'packages/s': { name: '@x/s', stackbench: { stores: [{ name: 's', factory: 'f', library: 'l' }] } } }))).toThrow(
      /two workspace packages declare the app "dup"/,
    );
    expect(() => loadRegistry(workspace({ 'apps/a': { name: '@x/a', stackbench: { apps: [app('Bad Name')] } }, 'packages/s': { name: '@x/s', stackbench: { stores: [{ name: 's', factory: 'f', library: 'l' }] } } }))).toThrow(
      /names must be lower-case words/,
    );
    expect(() => loadRegistry(workspace({ 'apps/a': { name: '@x/a', stackbench: { apps: [{ name: 'a' }] } } }))).toThrow(/apps\/a\/package\.json: "stackbench" entry needs a string "main"/);
    expect(() => loadRegistry(workspace({}))).toThrow(/no apps or no stores declared/);
  });
});
