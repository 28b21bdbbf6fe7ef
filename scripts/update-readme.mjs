#!/usr/bin/env node
// Regenerates what the READMEs show from the code and the published results — never edit those parts by hand:
// - README.md's matrix table (<!-- matrix:start --> ... <!-- matrix:end -->), from the app/store registry;
// - README.md's results summary (<!-- stackbench:results:start --> ... end) and results/README.md, from the newest
//   published run under results/published/.
// `--check` changes nothing and exits 1 when a README is stale.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResultsIndex, writeSummaryInto } from '@stackbench/report';

const root = fileURLToPath(new URL('..', import.meta.url));
const check = process.argv.includes('--check');
const cli = join(root, 'packages/bench/bin/stackbench.js');
const readmePath = join(root, 'README.md');
const publishedDir = join(root, 'results', 'published');

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
if (check) copyFileSync(readmePath, target);
writeFileSync(target, replaceMatrix(readFileSync(target, 'utf8')));
const run = latestPublished();
if (run) {
  await writeSummaryInto(target, run);
}
if (check) {
  const same = readFileSync(target, 'utf8') === readFileSync(readmePath, 'utf8');
  rmSync(target, { force: true });
  if (!same) stale.push('README.md');
}
if (run && !check) await writeResultsIndex(join(root, 'results'), run);
if (stale.length) {
  console.error(`stale: ${stale.join(', ')} — run \`npm run docs\``);
  process.exit(1);
}
if (!check) console.log(`README.md${run ? ` and results/README.md (from ${run.slice(root.length)})` : ''} regenerated`);
