/**
 * A headless Chromium for tests: the system's (Debian's /usr/bin/chromium) when present, else the one the npm
 * package @sparticuz/chromium ships brotli-compressed. That package's own unpacker writes to fixed /tmp paths and
 * trusts whatever it finds there, so it is not used: the browser is unpacked once into STACKBENCH_HOME
 * (`browsers/`), through a private staging folder renamed into place, and checked before every reuse.
 */
import { stackbenchHome } from '@stackbench/db';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import type { PartProbe } from './optional.js';

export interface ChromiumLaunch {
  executablePath: string;
  /** Extra environment for the browser process (the npm build's libraries and fonts). */
  env?: Record<string, string>;
}

/** Flags for a quiet, offline headless run (no sandbox: tests run as root in CI). */
export const HEADLESS_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function unbrotli(from: string, to: string, mode: number): Promise<void> {
  await pipeline(createReadStream(from), createBrotliDecompress(), createWriteStream(to, { mode, flags: 'wx' }));
}

/** Through a file: tar stops reading at the archive's end marker, which would cut a streamed pipe short. */
async function unbrotliTar(from: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const archive = join(dir, '.archive.tar');
  await unbrotli(from, archive, 0o600);
  try {
    const tar = spawn('tar', ['-x', '--no-same-owner', '-f', archive, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr!.on('data', (c: Buffer) => (stderr += c));
    const code = await new Promise<number | null>((resolve, reject) => {
      tar.once('error', reject);
      tar.once('exit', resolve);
    });
    if (code !== 0) throw new Error(`tar could not unpack ${from} (exit ${code}): ${stderr.trim()}`);
  } finally {
    rmSync(archive, { force: true });
  }
}

/** An unpacked browser folder is used only if it is a real directory of ours, completely unpacked. */
function isUsable(dir: string): boolean {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return false;
  }
  if (!stats.isDirectory() || stats.uid !== process.getuid?.() || (stats.mode & 0o022) !== 0) return false;
  try {
    return lstatSync(join(dir, '.complete')).isFile();
  } catch {
    return false;
  }
}

/** Unpacks @sparticuz/chromium's browser, its libraries (NSS, expat) and fonts; returns the folder. */
async function unpackNpmChromium(bin: string): Promise<string> {
  const version = (JSON.parse(readFileSync(join(bin, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const root = join(stackbenchHome(), 'browsers');
  const dir = join(root, `sparticuz-chromium-${version}`);
  if (isUsable(dir)) return dir;
  mkdirSync(root, { recursive: true, mode: 0o755 });
  rmSync(dir, { recursive: true, force: true });
  const staging = mkdtempSync(join(root, '.unpack-'));
  try {
    await unbrotli(join(bin, 'chromium.br'), join(staging, 'chromium'), 0o755);
    await unbrotliTar(join(bin, 'al2023.tar.br'), staging); // lib/: the libraries a bare Debian lacks
    await unbrotliTar(join(bin, 'fonts.tar.br'), join(staging, 'fonts'));
    // The package's fonts.conf points at Lambda paths: ours points at the unpacked fonts.
    writeFileSync(
      join(staging, 'fonts', 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${dir}/fonts/fonts</dir>\n  <cachedir>${dir}/fonts/cache</cachedir>\n</fontconfig>\n`,
    );
    writeFileSync(join(staging, '.complete'), `${version}\n`);
    renameSync(staging, dir);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    // Another test process unpacked it first.
    if (isUsable(dir)) return dir;
    throw err;
  }
  return dir;
}

/** How to launch the browser the chromium probe found. */
export async function chromiumLaunch(found: Extract<PartProbe, { available: true }>): Promise<ChromiumLaunch> {
  if (found.via !== 'npm') return { executablePath: found.path };
  const dir = await unpackNpmChromium(found.path);
  const libraries = [join(dir, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { executablePath: join(dir, 'chromium'), env: { LD_LIBRARY_PATH: libraries, FONTCONFIG_PATH: join(dir, 'fonts') } };
}
