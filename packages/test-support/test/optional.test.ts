import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { findPart, requiredParts } from '../src/optional.js';

const scratch = mkdtempSync(join(tmpdir(), 'stackbench-optional-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// findPart is the probe without its note for the run's summary: these machine-independent cases must not add one.
describe('the optional-part probe', () => {
  it('reads STACKBENCH_REQUIRE and refuses unknown names with one line', () => {
    expect(requiredParts({ STACKBENCH_REQUIRE: ' chromium, k6 ,,' })).toEqual(['chromium', 'k6']);
    expect(requiredParts({})).toEqual([]);
    expect(() => requiredParts({ STACKBENCH_REQUIRE: 'chromium,redis-server' })).toThrow(
      'STACKBENCH_REQUIRE: unknown part "redis-server" (known: chromium, nginx, redis, k6, cgroups)',
    );
  });

  it('finds k6 through K6_BIN, and says why when K6_BIN is not an executable', () => {
    const k6 = join(scratch, 'k6');
    writeFileSync(k6, '#!/bin/sh\necho k6\n');
    expect(withEnv({ K6_BIN: k6 }, () => findPart('k6'))).toMatchObject({ available: false, reason: `K6_BIN=${k6} is not an executable file` });
    chmodSync(k6, 0o755);
    expect(withEnv({ K6_BIN: k6 }, () => findPart('k6'))).toEqual({ part: 'k6', available: true, path: k6, via: 'K6_BIN' });
  });

  it('looks for executables on PATH', () => {
    withEnv({ K6_BIN: undefined, PATH: scratch }, () => expect(findPart('k6')).toEqual({ part: 'k6', available: true, path: join(scratch, 'k6'), via: 'PATH' }));
    withEnv({ K6_BIN: undefined, PATH: '/nonexistent' }, () => expect(findPart('k6')).toMatchObject({ available: false, reason: 'no K6_BIN and no k6 on PATH' }));
  });
});

/** A whole vitest run of a test that needs k6, as a child process, on the same database server as this run. */
function runFixture(env: Record<string, string>): { status: number | null; output: string } {
  const vitest = join(createRequire(import.meta.url).resolve('vitest/package.json'), '..', 'vitest.mjs');
  const config = fileURLToPath(new URL('./fixtures/optional/vitest.config.ts', import.meta.url));
  const result = spawnSync(process.execPath, [vitest, 'run', '--config', config, '--reporter', 'verbose'], {
    env: { ...process.env, DATABASE_URL: inject('databaseServerUrl'), NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('a test whose part is missing', () => {
  const missing = { K6_BIN: join(scratch, 'no-such-k6'), STACKBENCH_REQUIRE: '' };

  it('is skipped with the reason in its name, and the run ends with the list of missing parts', () => {
    const run = runFixture(missing);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain(`skipped: k6 is missing (K6_BIN=${missing.K6_BIN} is not an executable file)`);
    expect(run.output).toMatch(/1 skipped/);
    expect(run.output).toContain(`Optional system parts missing, their tests skipped:\n  k6: K6_BIN=${missing.K6_BIN} is not an executable file\n`);
  });

  it('fails instead when STACKBENCH_REQUIRE names the part', () => {
    const run = runFixture({ ...missing, STACKBENCH_REQUIRE: 'chromium,k6' });
    expect(run.status).toBe(1);
    expect(run.output).toContain(`k6 is required (STACKBENCH_REQUIRE) but missing: K6_BIN=${missing.K6_BIN} is not an executable file`);
    expect(run.output).toContain('(required by STACKBENCH_REQUIRE: its tests failed)');
  });

  it('runs when the part is there', () => {
    const k6 = join(scratch, 'k6');
    const run = runFixture({ K6_BIN: k6, STACKBENCH_REQUIRE: 'k6' });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toMatch(/✓ .*finds the binary/);
    expect(run.output).not.toContain('Optional system parts missing');
  });

  it('refuses a misspelt STACKBENCH_REQUIRE before any test runs', () => {
    const run = runFixture({ ...missing, STACKBENCH_REQUIRE: 'k7' });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('STACKBENCH_REQUIRE: unknown part "k7"');
  });
});
