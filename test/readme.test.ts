import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

it('README.md generated sections match the code (run `npm run docs` after changing the registry or versions)', () => {
  const script = fileURLToPath(new URL('../scripts/update-readme.mjs', import.meta.url));
  expect(() => execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: 'pipe' })).not.toThrow();
});
