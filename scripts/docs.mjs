#!/usr/bin/env node
// Regenerates everything the repository shows that is derived from code or from published results — never edit
// these by hand:
// - README.md, between `<!-- stackbench:NAME:start -->` and `<!-- stackbench:NAME:end -->`:
//   `matrix` (every combination, from the registry), `profiles` (the step plans, from loadtests' PROFILES),
//   `results` (the summary of the newest published run under results/published/);
// - results/README.md (the newest published run's tables and the list of runs);
// - packages/report/results.schema.json (results.json's JSON Schema, from packages/report/src/results.ts).
// `--check` writes nothing and exits 1 naming every stale file: a generated block that was emptied or edited by
// hand is stale as surely as one whose source changed.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { growthLoads, PROFILES, worstCaseSeconds } from '@stackbench/loadtests';
import { renderResultsIndex, renderSummary, readResults, runKind, replaceMarkedSection, resultsSchemaPath, resultsSchemaText, writeGeneratedFile } from '@stackbench/report';

const here = fileURLToPath(new URL('..', import.meta.url));

/** Every kind of published run, with the README block that shows its newest one. */
export const PUBLISHED_KINDS = [
  { kind: 'bench', block: 'results' },
  { kind: 'article', block: 'article' },
  { kind: 'scale-out', block: 'scale-out' },
  ...['eventloop', 'cpu', 'fanout', 'mixed', 'payload', 'cache'].map((lab) => ({ kind: `lab-${lab}`, block: `lab-${lab}` })),
];

/** The newest published run of a kind (directory names sort by date), or undefined. */
export async function latestPublished(root, kind = 'bench') {
  const dir = join(root, 'results', 'published');
  if (!existsSync(dir)) return undefined;
  const runs = readdirSync(dir).filter((d) => existsSync(join(dir, d, 'results.json'))).sort();
  for (const run of runs.reverse()) if (runKind(await readResults(join(dir, run))) === kind) return join(dir, run);
  return undefined;
}

const NOTHING_YET = (kind) =>
  `No ${kind} run has been published yet: run it (see above), copy the run directory to \`results/published/<date>-${kind}/\` and run \`npm run docs\`.`;

/** The step plans as a table, from the code (a copied table goes stale). */
export function profilesMarkdown() {
  const rows = ['| profile | users (closed model) | journeys/s (open model) | step | warm-up (first step) | bisection steps | repeats | cost read at | worst case per run |', '|---|---|---|---|---|---|---|---|---|'];
  const list = (loads) => (loads.length > 4 ? `${loads.slice(0, 3).join(', ')} … ${loads.at(-1)}` : loads.join(', '));
  for (const p of Object.values(PROFILES)) {
    rows.push(
      `| ${p.name} | ${list(growthLoads(p, 'closed'))} | ${list(growthLoads(p, 'open'))} | ${p.stepSeconds} s | ${p.warmupSeconds} s (${p.initialWarmupSeconds} s) | ${p.bisectSteps} | ${p.repeats} | ${p.closed.costAt} users / ${p.open.costAt} per s | ${Math.round(worstCaseSeconds(p, 'closed'))} s |`,
    );
  }
  return rows.join('\n');
}

/** Every generated file's expected text: Map<absolute path, text>. `readme` overrides README.md's current text. */
export async function renderDocs(root = here, { readme } = {}) {
  const out = new Map();
  const readmePath = join(root, 'README.md');
  let text = readme ?? readFileSync(readmePath, 'utf8');
  const matrix = execFileSync(process.execPath, [join(root, 'packages/bench/bin/stackbench.js'), 'list', '--markdown'], { encoding: 'utf8' });
  text = replaceMarkedSection(text, 'matrix', matrix);
  text = replaceMarkedSection(text, 'profiles', profilesMarkdown());
  let benchSummary = NOTHING_YET('bench');
  for (const { kind, block } of PUBLISHED_KINDS) {
    const run = await latestPublished(root, kind);
    const summary = run ? renderSummary(await readResults(run), { runLink: relative(root, run).split('\\').join('/'), headingLevel: 3 }) : NOTHING_YET(kind);
    if (kind === 'bench') benchSummary = summary;
    text = replaceMarkedSection(text, block, summary);
  }
  out.set(readmePath, text);
  const run = await latestPublished(root, 'bench');
  out.set(join(root, 'results', 'README.md'), run ? await renderResultsIndex(join(root, 'results'), run) : `# stackbench results\n\n${benchSummary}\n`);
  out.set(resultsSchemaPath, resultsSchemaText());
  return out;
}

/** Files whose text differs from what renderDocs expects. */
export function staleFiles(expected) {
  return [...expected].filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text).map(([file]) => file);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const expected = await renderDocs();
    const stale = staleFiles(expected);
    if (process.argv.includes('--check')) {
      if (stale.length) {
        console.error(`stale: ${stale.map((f) => relative(here, f)).join(', ')} — run \`npm run docs\``);
        process.exit(1);
      }
    } else {
      for (const file of stale) await writeGeneratedFile(file, expected.get(file));
      console.log(stale.length ? `regenerated: ${stale.map((f) => relative(here, f)).join(', ')}` : 'docs up to date');
    }
  } catch (err) {
    // A refused write (a symbolic link) or a missing marker: one line.
    console.error(err.message.split('\n')[0]);
    process.exit(1);
  }
}
