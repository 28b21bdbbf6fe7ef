import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script (no types)
import { renderDocs, staleFiles } from '../scripts/docs.mjs';

/**
 * Everything generated (README blocks, results/README.md, results.schema.json) matches its source, and the check
 * that guards it can fail: a block emptied or edited by hand is stale.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, 'scripts', 'docs.mjs');
const BLOCKS = ['matrix', 'profiles', 'results'];

function block(markdown: string, name: string): string {
  const start = `<!-- stackbench:${name}:start -->`;
  const i = markdown.indexOf(start);
  const j = markdown.indexOf(`<!-- stackbench:${name}:end -->`);
  expect(i, `marker ${start}`).toBeGreaterThanOrEqual(0);
  return markdown.slice(i + start.length, j);
}

describe('generated docs', () => {
  it('are up to date (run `npm run docs` after changing the registry, the plans, the schema or a published run)', () => {
    expect(() => execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
  });

  it('fill every block: the matrix shows all 50 combinations, the plans every profile', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const matrix = block(readme, 'matrix');
    expect(matrix.split('\n').filter((l) => /^\| \d+ \|/.test(l))).toHaveLength(50);
    expect(block(readme, 'profiles')).toMatch(/\| smoke \|[\s\S]*\| quick \|[\s\S]*\| full \|/);
    expect(block(readme, 'results').trim()).not.toBe('');
  });

  it.each(BLOCKS)('catch an emptied or hand-edited %s block', async (name) => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const body = block(readme, name);
    for (const edited of [readme.replace(body, '\n'), readme.replace(body, `${body}| a line someone added |\n`)]) {
      const expected: Map<string, string> = await renderDocs(root, { readme: edited });
      // What the check compares: the regenerated README is not the edited one, so the check would fail.
      expect(expected.get(join(root, 'README.md'))).not.toBe(edited);
      expect(expected.get(join(root, 'README.md'))).toBe(readme);
    }
  });

  it('name a missing file or a changed schema as stale', async () => {
    const expected: Map<string, string> = await renderDocs(root);
    expect(staleFiles(expected)).toEqual([]);
    const schema = [...expected.keys()].find((f) => f.endsWith('results.schema.json'))!;
    expected.set(schema, expected.get(schema) + ' ');
    expect(staleFiles(expected)).toEqual([schema]);
  });
});
