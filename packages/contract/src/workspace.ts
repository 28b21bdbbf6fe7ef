/**
 * Where this stackbench checkout is. Node-only (file system), so it is a subpath export
 * (`@stackbench/contract/workspace`), never part of the main entry that the k6 bundle inlines.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The stackbench checkout this code runs from (the directory holding turbo.json), or null outside one. */
export function workspaceRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== dirname(dir)) {
    if (existsSync(join(dir, 'turbo.json'))) return dir;
    dir = dirname(dir);
  }
  return null;
}
