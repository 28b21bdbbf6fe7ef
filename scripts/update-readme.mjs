#!/usr/bin/env node
// Regenerates what the READMEs show from the code and the published results — never edit those parts by hand:
// - README.md's matrix table (<!-- matrix:start --> ... <!-- matrix:end -->), from the app/store registry;
// - README.md's results summary (<!-- stackbench:results:start --> ... end) and results/README.md, from the newest
//   published run under results/published/.
// `--check` changes nothing and exits 1 when a README is stale.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResultsIndex, writeSummaryInto } from '@stackbench/report';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
const cli = join(root, 'packages/bench/bin/stackbench.js');
const readmePath = join(root, 'README.md');
const publishedDir = join(root, 'results', 'published');

/**
 * Writes a file but never through a symbolic link (one line, exit 1): a link in place of README.md or of the
 * scratch copy must not redirect the write out of the repository. `exclusive`: the file must not exist yet.
 */
function writeOwnFile(file, text, { exclusive = false } = {}) {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | (exclusive ? constants.O_EXCL : constants.O_TRUNC);
  let fd;
  try {
    fd = openSync(file, flags, 0o644);
  } catch (err) {
    if (err.code === 'ELOOP' || (exclusive && err.code === 'EEXIST')) {
      console.error(`refusing to write ${file}: ${err.code === 'ELOOP' ? 'it is a symbolic link' : 'it already exists'}`);
      process.exit(1);
    }
    throw err;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

function replaceMatrix(markdown) {
  const table = execFileSync(process.execPath, [cli, 'list', '--markdown'], { encoding: 'utf8' }).trim();
  return markdown.replace(/(<!-- matrix:start[^>]*-->\n)[\s\S]*?(\n<!-- matrix:end -->)/, (_m, start, end) => `${start}${table}${end}`);
}

/** The newest published run (directory names sort by date). */
function latestPublished() {
  if (!existsSync(publishedDir)) return undefined;
  const runs = readdirSync(publishedDir).filter((d) => existsSync(join(publishedDir, d, 'results.json'))).sort();
  return runs.length ? join(publishedDir, runs.at(-1)) : undefined;
}

const stale = [];
// --check renders into a scratch copy beside README.md, so relative links come out the same.
const target = check ? join(root, '.README.check.md') : readmePath;
if (check) rmSync(target, { force: true }); // a leftover of an interrupted check (a symlink is removed, not followed)
writeOwnFile(target, replaceMatrix(readFileSync(readmePath, 'utf8')), { exclusive: check });
const run = latestPublished();
/** A refused write (a symlink) or a missing marker is one line and exit 1, not a stack trace. */
async function orExit(work) {
  try {
    await work();
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}

if (run) await orExit(() => writeSummaryInto(target, run));
if (check) {
  const same = readFileSync(target, 'utf8') === readFileSync(readmePath, 'utf8');
  rmSync(target, { force: true });
  if (!same) stale.push('README.md');
}
if (run && !check) await orExit(() => writeResultsIndex(join(root, 'results'), run));
if (stale.length) {
  console.error(`stale: ${stale.join(', ')} — run \`npm run docs\``);
  process.exit(1);
}
if (!check) console.log(`README.md${run ? ` and results/README.md (from ${run.slice(root.length)})` : ''} regenerated`);
