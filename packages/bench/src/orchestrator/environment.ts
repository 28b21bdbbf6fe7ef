import type { Environment } from '@stackbench/report';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { arch, cpus, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { installedVersion } from '../registry.js';

/** The repository root (the directory holding turbo.json), or null outside a checkout. */
export function repoRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'turbo.json'))) return dir;
    dir = dirname(dir);
  }
  return null;
}

/** Packages whose versions identify what was measured, each resolved from the workspace package that loads it. */
export const TRACKED_PACKAGES: ReadonlyArray<[pkg: string, from: string | undefined]> = [
  ['fastify', '@stackbench/app-fastify'],
  ['express', '@stackbench/app-express'],
  ['@nestjs/core', '@stackbench/app-nest'],
  ['@nestjs/common', '@stackbench/app-nest'],
  ['@nestjs/platform-express', '@stackbench/app-nest'],
  ['@nestjs/platform-fastify', '@stackbench/app-nest'],
  ['class-validator', '@stackbench/app-nest'],
  ['class-transformer', '@stackbench/app-nest'],
  ['pg', '@stackbench/store-pg'],
  ['drizzle-orm', '@stackbench/store-drizzle'],
  ['typeorm', '@stackbench/store-typeorm'],
  ['undici', undefined],
  ['hdr-histogram-js', undefined],
];

export function packageVersions(extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [pkg, from] of TRACKED_PACKAGES) {
    const v = installedVersion(pkg, from) ?? (from ? installedVersion(pkg) : null);
    if (v) out[pkg] = v;
  }
  return { ...out, ...extra };
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
export function gitSha(cwd = repoRoot() ?? process.cwd()): string {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}

/** `SELECT version()`, shortened to "PostgreSQL 17.6 on x86_64-pc-linux-gnu". */
export async function postgresVersion(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'stackbench-env', connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('SELECT version()');
    return rows[0]!.version.split(',')[0]!.trim();
  } catch {
    return 'unknown';
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function collectEnvironment(options: { databaseUrl: string; cpuLayout: string; extraPackages?: Record<string, string> }): Promise<Environment> {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() || 'unknown',
    cores: Math.max(1, list.length),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: describeOs(),
    node: process.versions.node,
    postgres: await postgresVersion(options.databaseUrl),
    packages: packageVersions(options.extraPackages),
    gitSha: gitSha(),
    cpuLayout: options.cpuLayout,
  };
}
