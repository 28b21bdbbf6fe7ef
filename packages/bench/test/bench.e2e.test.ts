import { validateResults, type Results } from '@stackbench/report';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { listStackbenchCgroups } from '../src/envelope.js';
import { exited, runCli, startCli } from '@stackbench/test-support/cli';
import { probePart } from '@stackbench/test-support/optional';

/** The envelope where this machine allows it (root, or a delegated cgroup v2 subtree); unconfined otherwise. */
const cgroups = probePart('cgroups');
const ENVELOPE_ARGS = cgroups.available ? [] : ['--envelope', 'none'];

/**
 * The real thing, end to end: `stackbench bench` as a child process (compiled CLI, compiled apps) against a database
 * of its own on the test run's PostgreSQL server. Requires `npm run build` first (root `npm test` does it).
 */

function readResults(dir: string): Results {
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
  expect(validateResults(results)).toEqual([]);
  return results;
}

/** Cgroups a stackbench process (by pid) made, still present. */
function stackbenchCgroupsOf(pid: number): string[] {
  return listStackbenchCgroups().filter((dir) => dir.includes(`stackbench-${pid}-`));
}

/** Resolves true when something accepts connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('stackbench bench (end to end)', () => {
  let db: TestDatabase;
  let tmp: string;
  beforeAll(async () => {
    db = await createTestDatabase('bench_e2e');
    tmp = mkdtempSync(join(tmpdir(), 'stackbench-bench-e2e-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('smoke profile on fastify and node-http: exit 0, valid results.json, both measured with clean data, report written', async () => {
    const out = join(tmp, 'smoke');
    const args = ['bench', '--profile', 'smoke', '--apps', 'fastify,node-http', ...ENVELOPE_ARGS, '--out', out];
    const result = await runCli(args, { DATABASE_URL: db.url }, 240_000);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const results = readResults(out);
    expect(results.method.engine).toBe('node');
    expect(results.method.model).toBe('closed');
    expect(results.method.profile).toBe('smoke');
    expect(results.method.threshold.text).toBe('p95<100');
    expect(results.command).toBe(`stackbench ${args.join(' ')}`);
    expect(results.environment.cores).toBeGreaterThan(0);
    // The version number alone ("17.10"), not "PostgreSQL PostgreSQL 17.10 on ...".
    expect(results.environment.postgres).toMatch(/^\d+\.\d+$/);
    expect(results.environment.registry.apps.map((a) => a.name)).toEqual(['node-http', 'express', 'fastify', 'nest-express', 'nest-fastify']);
    if (cgroups.available) {
      expect(results.environment.envelope).toMatchObject({ app: { cpus: 0.5, memoryMiB: 512, applied: true }, db: { applied: false } });
      expect(results.environment.envelope.db.note).toMatch(/DATABASE_URL/);
    } else {
      expect(results.environment.envelope.mechanism).toBe('none');
    }
    expect(results.environment.packages.fastify).toMatch(/^\d+\.\d+\.\d+/);
    expect(results.environment.packages.pg).toMatch(/^\d+\.\d+\.\d+/);
    expect(results.environment.cpuLayout).not.toBe('');
    // Registry order: node-http before fastify, whatever the order on the command line.
    expect(results.combos.map((c) => `${c.app}+${c.store}+${c.conn}`)).toEqual(['node-http+pg+pool', 'fastify+pg+pool']);
    for (const combo of results.combos) {
      expect(combo.status, combo.reason).toBe('measured');
      expect(combo.runtime).toBe(process.versions.node);
      expect(combo.poolSize).toBe(10);
      expect(combo.steps.length).toBeGreaterThan(0);
      for (const step of combo.steps) {
        expect(step.requests).toBeGreaterThan(0);
        expect(step.app).not.toBeNull();
        expect(step.app!.rssMiB).toBeGreaterThan(0);
        expect(step.app!.cpuUsPerRequest).toBeGreaterThan(0);
        // Every app answers with Server-Timing, and the engine read it.
        expect(step.serverMs).not.toBeNull();
        expect(step.serverMs!.p95).toBeGreaterThan(0);
        expect(step.serverMs!.p50).toBeLessThanOrEqual(step.latencyMs.p50);
        expect(step.driver.engine).toBe('node');
        expect(step.driver.cpuPct).toBeGreaterThan(0);
        if (cgroups.available) expect(step.app!.throttledPct).not.toBeNull();
      }
      // Cost per request at the smoke profile's cost load (2 users).
      expect(combo.cost).toMatchObject({ load: 2, exact: true });
      expect(combo.cost!.appCpuUsPerRequest).toBeGreaterThan(0);
      expect(combo.integrity, JSON.stringify(combo.integrity)).toMatchObject({ ok: true, problems: [] });
      // Every order the driver saw is in the database (warm-up included), and nothing else was left by verification.
      expect(combo.integrity!.orders).toBeGreaterThan(0);
      expect(combo.appUsage!.peakRssMiB).toBeGreaterThan(0);
    }
    // Terminal output: one line per step, and the combination counter.
    expect(result.stdout).toMatch(/\[1\/2\] node-http \+ pg \(pool 10\)/);
    expect(result.stdout).toMatch(/\[2\/2\] fastify \+ pg \(pool 10\)/);
    expect(result.stdout).toMatch(/step +1 +1 users/);
    expect(result.stdout).toMatch(cgroups.available ? /envelope: app 0\.5 CPU \/ 512 MiB/ : /envelope: none/);
    // The report package's output beside results.json.
    expect(existsSync(join(out, 'README.md'))).toBe(true);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(readdirSync(join(out, 'logs')).length).toBe(2);

    // `stackbench report RUN_DIR` regenerates it from results.json alone.
    rmSync(join(out, 'README.md'));
    const report = await runCli(['report', out]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/^report: .*README\.md, .*report\.html, \d+ SVG charts?$/m);
    expect(existsSync(join(out, 'README.md'))).toBe(true);
    const missing = await runCli(['report', join(tmp, 'nothing-here')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a crashing app and a hanging app are recorded as failed with a reason, and the run goes on (exit 2)', async () => {
    // Faults injected from outside the apps: a preload (NODE_OPTIONS reaches the app processes) that, after 600
    // requests (past the contract suite's ~170 and the SQL census's, inside the first step), makes node-http exit and
    // fastify stop answering.
    const preload = join(tmp, 'faults.cjs');
    writeFileSync(
      preload,
      `const http = require('node:http');
const app = process.argv[1] || '';
const mode = app.includes('node-http') ? 'crash' : app.includes('fastify') ? 'hang' : null;
if (mode) {
  const emit = http.Server.prototype.emit;
  let n = 0;
  http.Server.prototype.emit = function (event, ...args) {
    if (event === 'request' && ++n > 600) {
      if (mode === 'crash') process.exit(3);
      return true; // hang: never answer
    }
    return emit.call(this, event, ...args);
  };
}
`,
    );
    const out = join(tmp, 'faults');
    const result = await runCli(
      ['bench', '--profile', 'smoke', '--apps', 'node-http,fastify', ...ENVELOPE_ARGS, '--out', out],
      { DATABASE_URL: db.url, NODE_OPTIONS: `--require ${preload}` },
      240_000,
    );
    expect(result.code, result.stdout + result.stderr).toBe(2);
    const results = readResults(out);
    const [crashed, hung] = results.combos;
    expect(crashed!.app).toBe('node-http');
    expect(crashed!.status).toBe('failed');
    expect(crashed!.reason).toMatch(/app exited \(code 3\) during step 1/);
    expect(hung!.app).toBe('fastify');
    expect(hung!.status).toBe('failed');
    expect(hung!.reason).toMatch(/app stopped answering after the steps/);
    // The hung step was measured (timeouts are errors) and failed.
    expect(hung!.steps.length).toBeGreaterThan(0);
    expect(hung!.steps.at(-1)!.passed).toBe(false);
    expect(result.stdout).toMatch(/=> FAILED: app exited \(code 3\)/);
  });

  it('Ctrl-C stops the app, keeps the steps measured so far and still writes a valid results.json', async () => {
    const out = join(tmp, 'interrupted');
    const { child, output } = await startCli(
      ['bench', '--profile', 'quick', '--apps', 'fastify', ...ENVELOPE_ARGS, '--out', out],
      { DATABASE_URL: db.url },
      /step +1 +1 users/,
      120_000,
    );
    child.kill('SIGINT');
    const code = await exited(child);
    expect(code, output()).toBe(130);
    const results = readResults(out);
    expect(results.combos).toHaveLength(1);
    const [combo] = results.combos;
    expect(combo!.status).toBe('failed');
    expect(combo!.reason).toMatch(/interrupted/);
    expect(combo!.steps.length).toBeGreaterThanOrEqual(1);
    // The app it started is gone.
    const log = readFileSync(join(out, 'logs', readdirSync(join(out, 'logs'))[0]!), 'utf8');
    const url = /listening on (\S+)/.exec(log)![1]!;
    expect(await listening(url)).toBe(false);
    // And the cgroups it made.
    expect(stackbenchCgroupsOf(child.pid!)).toEqual([]);
  });
});
