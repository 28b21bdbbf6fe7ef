import { validateResults, type Results } from '@stackbench/report';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Validates against the results schema (@stackbench/report), then writes DIR/results.json atomically (temp file + rename,
 * so a reader or a Ctrl-C never sees half a file). An invalid object is a bug in stackbench: it is kept beside as
 * results.invalid.json (the measurements are not lost) and the error is thrown.
 */
export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(results, null, 2) + '\n';
  const errors = validateResults(results, 5);
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
