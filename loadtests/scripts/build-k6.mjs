#!/usr/bin/env node
/**
 * Bundles the k6 scripts (k6/*.ts minus the pure helper modules) into plain ES2017 JavaScript under dist/k6/, with
 * the shared scenario and @stackbench/contract inlined and only k6's built-in modules left as imports, so that any
 * k6 >= 0.45 runs them (k6 < 0.57 does not read TypeScript; before 0.53 its goja lacks `?.` and `??`, which the
 * ES2017 target lowers).
 *
 *   node scripts/build-k6.mjs [--outdir DIR]     # default DIR: loadtests/dist/k6
 */
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--outdir');
const outdir = outFlag !== -1 && process.argv[outFlag + 1] ? resolve(process.argv[outFlag + 1]) : join(root, 'dist', 'k6');
/** Entry points: scripts k6 runs. plan.ts and summary.ts are modules they import. */
export const K6_ENTRIES = ['stepped'];

const result = await build({
  absWorkingDir: root,
  entryPoints: K6_ENTRIES.map((name) => join(root, 'k6', `${name}.ts`)),
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2017',
  // k6 built-ins (k6, k6/http, k6/metrics, k6/execution, ...) stay imports; everything else is inlined.
  external: ['k6', 'k6/*'],
  mainFields: ['module', 'main'],
  conditions: ['import', 'default'],
  tsconfig: join(root, 'k6', 'tsconfig.json'),
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  banner: { js: '// Built by loadtests/scripts/build-k6.mjs from loadtests/k6 — do not edit.' },
});
for (const [file, info] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('.js')) console.log(`k6 bundle: ${file} (${info.bytes} bytes)`);
}
