import { validateResults, type Results } from '@stackbench/report';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '@stackbench/test-support/cli';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { describeWithPart, probePart } from '@stackbench/test-support/optional';

/**
 * `stackbench bench --engine k6` end to end with a real k6 (K6_BIN, else k6 on PATH; CI requires it): one k6 process
 * per step, the same plan, verdicts and results.json as the embedded driver.
 */

const ENVELOPE_ARGS = probePart('cgroups').available ? [] : ['--envelope', 'none'];

describeWithPart('k6', 'stackbench bench --engine k6 (real k6)', (k6) => {
  let db: TestDatabase;
  let tmp: string;
  beforeAll(async () => {
    db = await createTestDatabase('bench_k6');
    tmp = mkdtempSync(join(tmpdir(), 'stackbench-bench-k6-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('measures a smoke run with k6: the same steps and fields, k6 named with its version, its CPU read per step', async () => {
    const out = join(tmp, 'smoke');
    const result = await runCli(['bench', '--profile', 'smoke', '--apps', 'fastify', '--engine', 'k6', ...ENVELOPE_ARGS, '--out', out], { DATABASE_URL: db.url, K6_BIN: k6.path }, 240_000);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^engine: k6 \(/m);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(validateResults(results)).toEqual([]);
    expect(results.method.engine).toBe('k6');
    expect(results.environment.packages.k6).toMatch(/^\d+\.\d+\.\d+/);
    const [combo] = results.combos;
    expect(combo!.status, combo!.reason).toBe('measured');
    expect(combo!.steps.map((s) => s.load)).toEqual([1, 2]);
    for (const step of combo!.steps) {
      expect(step.requests).toBeGreaterThan(0);
      // On failure, say which kind and endpoint (k6 reports no error texts).
      const failed = Object.entries(step.endpoints).filter(([, e]) => e.errors > 0).map(([name, e]) => `${name}: ${e.errors}`);
      expect(step.errors, JSON.stringify({ load: step.load, kinds: step.errorsByKind, endpoints: failed })).toBe(0);
      expect(Object.keys(step.endpoints).sort()).toEqual(['list', 'order', 'order_view', 'product']);
      expect(step.driver.engine).toBe('k6');
      expect(step.driver.eventLoopDelayP99Ms).toBeNull();
      expect(step.driver.cpuPct).toBeGreaterThan(0);
      expect(step.serverMs).not.toBeNull();
      expect(step.app!.cpuUsPerRequest).toBeGreaterThan(0);
    }
    // k6 cannot report the orders it created: the audit checks consistency only, and says so.
    expect(combo!.integrity).toMatchObject({ ok: true, problems: [] });
    expect(combo!.reason).toMatch(/k6 does not report the orders it created/);
  });
});
