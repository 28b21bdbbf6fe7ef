import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'loadtests/test/**/*.test.ts', 'test/**/*.test.ts'],
    // One PostgreSQL for the whole run (DATABASE_URL's server, or the embedded one); each test file makes its own
    // database in it.
    globalSetup: ['./packages/test-support/src/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // 2 cores: more parallel files only fight over the CPU with PostgreSQL.
    maxWorkers: 2,
  },
});
