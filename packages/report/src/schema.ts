import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Results } from './results.js';

/** Absolute path of `results.schema.json` (JSON Schema draft 2020-12 for results.json). */
export const resultsSchemaPath: string = fileURLToPath(new URL('../results.schema.json', import.meta.url));

/**
 * The JSON Schema (draft 2020-12) of results.json, as a plain object. Validate with Ajv 8's 2020 build:
 * `import { Ajv2020 } from 'ajv/dist/2020.js'; new Ajv2020().compile(resultsSchema)`.
 */
export const resultsSchema: Record<string, unknown> = JSON.parse(readFileSync(resultsSchemaPath, 'utf8'));

/** Cheap structural guard (schemaVersion + arrays present); use the JSON Schema for a full check. */
export function isResults(value: unknown): value is Results {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.schemaVersion === 1 && Array.isArray(v.combos) && typeof v.environment === 'object' && typeof v.method === 'object';
}
