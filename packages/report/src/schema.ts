import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { fileURLToPath } from 'node:url';
import { RESULTS_SCHEMA_VERSION, ResultsSchema, type Results } from './results.js';

/**
 * results.json's JSON Schema (draft-07) as plain JSON, generated from the TypeBox definitions in results.ts. The
 * committed `results.schema.json` beside this package is the same text, for readers outside TypeScript
 * (`npm run docs` rewrites it; a test fails when it is stale).
 */
export const resultsSchema: Record<string, unknown> = JSON.parse(JSON.stringify(ResultsSchema));

/** The committed copy's path. */
export const resultsSchemaPath: string = fileURLToPath(new URL('../results.schema.json', import.meta.url));

/** The schema file's exact text. */
export function resultsSchemaText(): string {
  return JSON.stringify(resultsSchema, null, 2) + '\n';
}

/**
 * A union (every nullable object is one) reports only "Expected union value" at its own path: the variant that got
 * furthest into the value says what is actually wrong there.
 */
function deepest(error: ValueError): ValueError {
  const variants = (error.errors ?? [])
    .map((v) => v.First())
    .filter((e): e is ValueError => e !== undefined && e.type !== ValueErrorType.Null)
    .map(deepest);
  // A nullable value that is not null: its one other variant's problem.
  if (variants.length === 1) return variants[0]!;
  return variants.reduce((best, e) => (e.path.length > best.path.length ? e : best), error);
}

/** Why a document is not a valid results.json: "path: message" lines (empty when valid). At most `limit` lines. */
export function validateResults(value: unknown, limit = 10): string[] {
  const problems: string[] = [];
  for (const error of Value.Errors(ResultsSchema, value)) {
    const specific = deepest(error);
    problems.push(`${specific.path || '/'}: ${specific.message}`);
    if (problems.length >= limit) break;
  }
  return problems;
}

/** Cheap structural guard (schemaVersion + arrays present); use validateResults for a full check. */
export function isResults(value: unknown): value is Results {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v.schemaVersion === RESULTS_SCHEMA_VERSION && Array.isArray(v.combos) && typeof v.environment === 'object' && typeof v.method === 'object';
}
