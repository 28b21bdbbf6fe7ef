#!/usr/bin/env node
// Regenerates the generated sections of README.md (between <!-- NAME:start --> and <!-- NAME:end --> markers)
// from the code: never edit those sections by hand. `--check` exits 1 when README.md is stale.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const readmePath = new URL('../README.md', import.meta.url);
const cli = new URL('../packages/bench/bin/stackbench.js', import.meta.url).pathname;

const sections = {
  matrix: () => execFileSync(process.execPath, [cli, 'list', '--markdown'], { encoding: 'utf8' }).trim(),
};
const leaderboard = new URL('../results/leaderboard.md', import.meta.url);
if (existsSync(leaderboard)) sections.leaderboard = () => readFileSync(leaderboard, 'utf8').trim();

let readme = readFileSync(readmePath, 'utf8');
const original = readme;
for (const [name, render] of Object.entries(sections)) {
  const re = new RegExp(`(<!-- ${name}:start[^>]*-->\\n)[\\s\\S]*?(\\n<!-- ${name}:end -->)`);
  if (!re.test(readme)) continue;
  readme = readme.replace(re, (_m, start, end) => `${start}${render()}${end}`);
}
if (process.argv.includes('--check')) {
  if (readme !== original) {
    console.error('README.md is stale: run `npm run docs`');
    process.exit(1);
  }
} else if (readme !== original) {
  writeFileSync(readmePath, readme);
  console.log('README.md updated');
}
