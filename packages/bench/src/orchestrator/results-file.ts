import { resultsSchema, type Results } from '@stackbench/report';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

let validate: ValidateFunction | undefined;

/** Schema errors of a results object as short lines ("/combos/0/steps/1/rps must be >= 0"), empty when valid. */
export function resultsErrors(results: unknown): string[] {
  validate ??= new Ajv2020({ allErrors: true, strict: false }).compile(resultsSchema);
  if (validate(results)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : ''}`);
}

/**
 * Validates against the report package's JSON Schema, then writes DIR/results.json atomically (temp file + rename,
 * so a reader or a Ctrl-C never sees half a file). An invalid object is a bug in stackbench: it is kept beside as
 * results.invalid.json (the measurements are not lost) and the error is thrown.
 */
export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(results, null, 2) + '\n';
  const errors = resultsErrors(results);
  if (errors.length > 0) {
    writeFileSync(join(dir, 'results.invalid.json'), text);
    throw new Error(`results.json does not match the schema (a stackbench bug; data kept in ${join(dir, 'results.invalid.json')}): ${errors.slice(0, 5).join('; ')}`);
  }
  const file = join(dir, 'results.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return file;
}
