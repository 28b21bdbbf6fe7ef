import { resolveDatabase, type DatabaseHandle } from '@stackbench/db';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseServerUrl: string;
  }
}

let handle: DatabaseHandle | undefined;

export async function setup(project: TestProject): Promise<void> {
  handle = await resolveDatabase();
  project.provide('databaseServerUrl', handle.serverUrl);
}

export async function teardown(): Promise<void> {
  await handle?.stop();
}
