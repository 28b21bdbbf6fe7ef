/**
 * Optional system parts (a browser, nginx, redis-server, k6, writable cgroups): one probe for every test that needs one. A test
 * whose part is missing is skipped with the reason in its name, and the run ends with a list of what was skipped
 * and why (global-setup.ts prints it). A part named in STACKBENCH_REQUIRE (comma list, e.g. in CI) is not optional:
 * its absence fails the test instead.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { describe, inject, it } from 'vitest';

export const OPTIONAL_PARTS = ['chromium', 'nginx', 'redis', 'k6', 'cgroups'] as const;
export type OptionalPart = (typeof OPTIONAL_PARTS)[number];

export type PartProbe =
  | { part: OptionalPart; available: true; /** Executable, or for chromium.via === 'npm' the package's bin folder. */ path: string; via: string }
  | { part: OptionalPart; available: false; reason: string };

/** The npm package that ships a headless Chromium (brotli-compressed) for machines without a system one. */
export const NPM_CHROMIUM = '@sparticuz/chromium';

/** Parts named in STACKBENCH_REQUIRE; throws one line on an unknown name. */
export function requiredParts(env: NodeJS.ProcessEnv = process.env): OptionalPart[] {
  const names = (env.STACKBENCH_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!(OPTIONAL_PARTS as readonly string[]).includes(name)) {
      throw new Error(`STACKBENCH_REQUIRE: unknown part "${name}" (known: ${OPTIONAL_PARTS.join(', ')})`);
    }
  }
  return names as OptionalPart[];
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` in PATH, then in `extraDirs` (Debian puts daemons such as nginx in sbin, often not in a user's PATH). */
function onPath(name: string, extraDirs: string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs];
  return dirs.map((d) => join(d, name)).find(isExecutableFile);
}

function npmChromiumBin(): { bin?: string; reason?: string } {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `${NPM_CHROMIUM} ships Linux x64 only, this is ${process.platform}-${process.arch}` };
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(NPM_CHROMIUM);
  } catch {
    return { reason: `${NPM_CHROMIUM} is not installed` };
  }
  // <package>/build/cjs/index.cjs -> <package>/bin
  const bin = join(dirname(dirname(dirname(entry))), 'bin');
  if (!existsSync(join(bin, 'chromium.br'))) return { reason: `${NPM_CHROMIUM} has no bin/chromium.br at ${bin}` };
  if (!onPath('tar')) return { reason: `${NPM_CHROMIUM} needs tar to unpack its libraries, and there is no tar on PATH` };
  return { bin };
}

/** Whether `part` is on this machine, and where (records nothing: see probePart). */
export function findPart(part: OptionalPart): PartProbe {
  switch (part) {
    case 'chromium': {
      const system = onPath('chromium') ?? (isExecutableFile('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
      if (system) return { part, available: true, path: system, via: 'system' };
      const npm = npmChromiumBin();
      if (npm.bin) return { part, available: true, path: npm.bin, via: 'npm' };
      return { part, available: false, reason: `no chromium on PATH, and ${npm.reason}` };
    }
    case 'nginx': {
      const path = onPath('nginx', ['/usr/sbin', '/usr/local/sbin']);
      return path ? { part, available: true, path, via: 'system' } : { part, available: false, reason: 'no nginx on PATH (nor in /usr/sbin)' };
    }
    case 'redis': {
      const path = onPath('redis-server', ['/usr/sbin', '/usr/local/sbin']);
      return path ? { part, available: true, path, via: 'system' } : { part, available: false, reason: 'no redis-server on PATH' };
    }
    case 'k6': {
      const given = process.env.K6_BIN;
      if (given) {
        return isExecutableFile(given)
          ? { part, available: true, path: given, via: 'K6_BIN' }
          : { part, available: false, reason: `K6_BIN=${given} is not an executable file` };
      }
      const path = onPath('k6');
      return path ? { part, available: true, path, via: 'PATH' } : { part, available: false, reason: 'no K6_BIN and no k6 on PATH' };
    }
    case 'cgroups': {
      // The bench's own envelope code decides (it creates and removes a real pair of cgroups), in a child process
      // so that this package needs no dependency on the bench.
      try {
        const out = execFileSync(process.execPath, ['--input-type=module', '-e', "const { envelopeAvailability } = await import('@stackbench/bench/envelope'); console.log(JSON.stringify(envelopeAvailability()));"], {
          encoding: 'utf8',
          timeout: 20_000,
        });
        const found = JSON.parse(out.trim()) as { available: boolean; reason?: string };
        return found.available ? { part, available: true, path: '/sys/fs/cgroup', via: 'cgroups' } : { part, available: false, reason: found.reason ?? 'cgroups unavailable' };
      } catch (err) {
        return { part, available: false, reason: `cannot probe cgroups: ${(err as Error).message.split('\n')[0]}` };
      }
    }
  }
}

/** Leaves a note for the end-of-run summary (only inside a vitest run whose global setup provides the folder). */
function recordMissing(probe: Extract<PartProbe, { available: false }>, required: boolean): void {
  let dir: string | undefined;
  try {
    dir = inject('optionalPartsDir');
  } catch {
    return;
  }
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${probe.part}.json`), JSON.stringify({ part: probe.part, reason: probe.reason, required }));
}

/** Whether `part` is on this machine, and where; a missing one is recorded for the run's summary. */
export function probePart(part: OptionalPart): PartProbe & { required: boolean } {
  const required = requiredParts().includes(part);
  const probe = findPart(part);
  if (!probe.available) recordMissing(probe, required);
  return { ...probe, required };
}

/**
 * `describe(name, fn)` when `part` is available. Otherwise one test that says why: skipped, or failing when the
 * part is required (STACKBENCH_REQUIRE).
 */
export function describeWithPart(part: OptionalPart, name: string, fn: (found: Extract<PartProbe, { available: true }>) => void): void {
  const probe = probePart(part);
  if (probe.available) {
    describe(name, () => fn(probe));
    return;
  }
  if (probe.required) {
    describe(name, () => {
      it(`needs ${part} (required by STACKBENCH_REQUIRE): ${probe.reason}`, () => {
        throw new Error(`${part} is required (STACKBENCH_REQUIRE) but missing: ${probe.reason}`);
      });
    });
    return;
  }
  describe(name, () => {
    it.skip(`skipped: ${part} is missing (${probe.reason})`, () => undefined);
  });
}
