import { workspaceRoot } from '@stackbench/db';
import { findK6Script } from '@stackbench/loadtests';
import type { Envelope, Environment } from '@stackbench/report';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem, type } from 'node:os';
import { dirname } from 'node:path';
import pg from 'pg';
import { installedVersion, registry, type Registry } from '../registry.js';

/**
 * Packages whose versions identify what was measured: each app's and store's declared ones, resolved from the
 * workspace package that loads them, and the embedded driver's HTTP client.
 */
export function packageVersions(reg: Registry = registry(), extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of [...reg.apps, ...reg.stores]) {
    for (const pkg of entry.trackedPackages) {
      const v = installedVersion(pkg, entry.dir);
      if (v) out[pkg] = v;
    }
  }
  const loadtests = findK6Script();
  for (const pkg of ['undici', 'hdr-histogram-js']) {
    const v = installedVersion(pkg, loadtests ? dirname(loadtests) : undefined);
    if (v) out[pkg] = v;
  }
  return { ...out, ...extra };
}

/** The registry as results.json records it: names and descriptions in display order, and the baseline. */
export function registrySnapshot(reg: Registry = registry()): Environment['registry'] {
  return {
    apps: reg.apps.map((a) => ({ name: a.name, framework: a.framework, adapter: a.adapter, validation: a.validation, serialization: a.serialization })),
    stores: reg.stores.map((s) => ({ name: s.name, library: s.library, description: s.description })),
    conns: [...reg.conns],
    baseline: { ...reg.baseline },
  };
}

/** "Linux 6.8.0 (Debian GNU/Linux 12 (bookworm)) x64". */
export function describeOs(): string {
  let distro = '';
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) distro = ` (${m[1]})`;
  } catch {
    /* not Linux */
  }
  return `${type()} ${release()}${distro} ${arch()}`;
}

/** HEAD's sha with "-dirty" when the work tree has changes; "unknown" outside git. */
export function gitSha(cwd = workspaceRoot() ?? process.cwd()): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** The server's version number, e.g. "17.6" (`SHOW server_version`), or "unknown". */
export async function postgresVersion(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'stackbench-env', connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return rows[0]!.server_version.split(' ')[0]!;
  } catch {
    return 'unknown';
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function collectEnvironment(options: { databaseUrl: string; cpuLayout: string; envelope: Envelope; extraPackages?: Record<string, string> }): Promise<Environment> {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() || 'unknown',
    cores: Math.max(1, list.length),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: describeOs(),
    node: process.versions.node,
    postgres: await postgresVersion(options.databaseUrl),
    packages: packageVersions(registry(), options.extraPackages),
    gitSha: gitSha(),
    cpuLayout: options.cpuLayout,
    envelope: options.envelope,
    registry: registrySnapshot(),
  };
}
