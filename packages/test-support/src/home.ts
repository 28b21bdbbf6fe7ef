import { embeddedDataDir } from '@stackbench/db';
import { rmSync } from 'node:fs';
import { sep } from 'node:path';

/**
 * Removes a test's stackbench home and the embedded PostgreSQL data it recorded outside itself: as root, in a home
 * the postgres user cannot enter, the data lives in a folder of its own under the system temp directory, which
 * removing the home alone leaves behind (~64 MB a home, every test run).
 */
export function removeHome(home: string): void {
  try {
    const dataDir = embeddedDataDir(home);
    if (!dataDir.startsWith(home + sep)) rmSync(dataDir, { recursive: true, force: true });
  } catch {
    // A record that fails embeddedDataDir's checks names nothing of ours: leave it.
  }
  rmSync(home, { recursive: true, force: true });
}
