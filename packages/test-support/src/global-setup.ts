import { resolveDatabase, type DatabaseHandle } from '@stackbench/db';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { requiredParts } from './optional.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseServerUrl: string;
    optionalPartsDir: string;
  }
}

let handle: DatabaseHandle | undefined;
let partsDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // A misspelt STACKBENCH_REQUIRE would silently require nothing: refuse it before any test runs.
  requiredParts();
  partsDir = mkdtempSync(join(tmpdir(), 'stackbench-optional-parts-'));
  project.provide('optionalPartsDir', partsDir);
  handle = await resolveDatabase();
  project.provide('databaseServerUrl', handle.serverUrl);
}

/** What the optional-part probes recorded as missing, one line each. */
function missingParts(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { part: string; reason: string; required: boolean })
    .sort((a, b) => a.part.localeCompare(b.part))
    .map((m) => `  ${m.part}: ${m.reason}${m.required ? ' (required by STACKBENCH_REQUIRE: its tests failed)' : ''}`);
}

export async function teardown(): Promise<void> {
  await handle?.stop();
  if (!partsDir) return;
  const lines = missingParts(partsDir);
  rmSync(partsDir, { recursive: true, force: true });
  if (lines.length > 0) console.log(`\nOptional system parts missing, their tests skipped:\n${lines.join('\n')}\n`);
}
