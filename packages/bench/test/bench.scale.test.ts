import { validateResults, type Combo, type Results } from '@stackbench/report';
import { runContractSuite } from '@stackbench/contract/suite';
import { isAlive } from '@stackbench/db';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { exited, runCli, startCli } from '@stackbench/test-support/cli';
import { describeWithPart, probePart } from '@stackbench/test-support/optional';
import { processTree } from '../src/envelope.js';
import { checkConnections, parseInstances, scaleOutPlan } from '../src/instances.js';
import { renderNginxConfig } from '../src/services.js';

/**
 * Scale-out end to end: N instances behind node:cluster or nginx pass the contract suite through the balancer (the
 * bench's verify phase), the load reaches every instance (each instance's own count), nginx and every instance are
 * gone after Ctrl-C, and the pool x instances check refuses what PostgreSQL could not hold.
 */
const ENVELOPE_ARGS = probePart('cgroups').available ? [] : ['--envelope', 'none'];
// 4 and 8 users: balancers spread connections (keep-alive: one per user), so with 1 or 2 users a single instance could
// hold most of the run's requests by where its one connection landed (seen: 19.9 % for one cluster worker).
const SHORT = ['--apps', 'fastify', '--profile', 'smoke', '--steps', '4,8', '--step-seconds', '1', '--warmup-seconds', '0', ...ENVELOPE_ARGS];

function readResults(dir: string): Results {
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
  expect(validateResults(results)).toEqual([]);
  return results;
}

/** Both instances took a real share of the requests (least_conn and cluster's round-robin both spread them). */
function expectSpread(c: Combo, count: number): void {
  const per = c.instances?.requestsPerInstance;
  expect(per, `${c.instances?.lb}: ${c.reason ?? ''}`).toHaveLength(count);
  const total = per!.reduce((n, x) => n + x, 0);
  expect(total).toBeGreaterThan(100);
  for (const x of per!) expect(x / total).toBeGreaterThan(0.2);
}

describe('scale-out', () => {
  let db: TestDatabase;
  let tmp: string;
  beforeAll(async () => {
    db = await createTestDatabase('bench_scale');
    tmp = mkdtempSync(join(tmpdir(), 'stackbench-scale-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('plans one plain process, then every count behind every balancer; flags are checked', () => {
    expect(scaleOutPlan(null, ['cluster'])).toEqual([null]);
    expect(scaleOutPlan([1, 2], ['cluster', 'nginx'])).toEqual([null, { count: 1, lb: 'cluster' }, { count: 2, lb: 'cluster' }, { count: 1, lb: 'nginx' }, { count: 2, lb: 'nginx' }]);
    expect(() => parseInstances('2,1')).toThrow(/strictly ascending/);
    expect(() => parseInstances('0')).toThrow(/from 1 to 64/);
    expect(checkConnections(10, 3, 100, 3)).toBeNull();
    expect(checkConnections(30, 3, 100, 3)).toMatch(/3 instances x pool size 30 = 90 connections, but PostgreSQL allows 100/);
  });

  it('the nginx config is rendered from the committed template: loopback upstreams, least_conn, keep-alive, the contract\'s 400', () => {
    const conf = renderNginxConfig({ listenPort: 8080, upstreams: ['127.0.0.1:3001', '127.0.0.1:3002'], prefix: '/tmp/run' });
    expect(conf).toContain('listen 127.0.0.1:8080;');
    expect(conf).toMatch(/least_conn;\n\s+server 127\.0\.0\.1:3001;\n\s+server 127\.0\.0\.1:3002;/);
    expect(conf).toContain('keepalive 64;');
    expect(conf).toContain(`return 400 '{"error":{"code":"invalid_request","message":"id must be an integer from 1 to 2147483647"}}';`);
    expect(conf).not.toMatch(/^[^#]*\{\{/m);
    expect(() => renderNginxConfig({ listenPort: 8080, upstreams: ['10.0.0.1:3001'], prefix: '/tmp/run' })).toThrow(/not a loopback address/);
  });

  it('cluster: 2 workers pass the contract suite through the shared port and both take load', async () => {
    const out = join(tmp, 'cluster');
    const r = await runCli(['bench', ...SHORT, '--instances', '2', '--lb', 'cluster', '--out', out], { DATABASE_URL: db.url }, 240_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const results = readResults(out);
    expect(results.method.scaleOut).toEqual({ balancers: ['cluster'], instances: [2], budget: 'each' });
    const [plain, cluster] = results.combos;
    expect(plain!.instances).toBeUndefined();
    expect(cluster!.status).toBe('measured');
    expectSpread(cluster!, 2);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('## Scale-out');
  }, 300_000);

  describeWithPart('nginx', 'nginx', () => {
    it('2 instances behind nginx pass the contract suite through it, both take load, nginx CPU is measured', async () => {
      const out = join(tmp, 'nginx');
      const r = await runCli(['bench', ...SHORT, '--instances', '2', '--lb', 'nginx', '--out', out], { DATABASE_URL: db.url }, 240_000);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const nginx = readResults(out).combos[1]!;
      expect(nginx.status).toBe('measured');
      expectSpread(nginx, 2);
      expect(nginx.steps.every((s) => s.balancer && s.balancer.cpuPct > 0)).toBe(true);
      expect(nginx.instances!.balancerCpuUsPerRequest).toBeGreaterThan(0);
      expect(existsSync(join(out, 'nginx'))).toBe(true);
    }, 300_000);

    it('serve --instances 2 --lb nginx: the contract suite passes through nginx; Ctrl-C stops nginx and every instance', async () => {
      const { child, match } = await startCli(['serve', '--app', 'express', '--port', '0', '--instances', '2', '--lb', 'nginx'], { DATABASE_URL: db.url }, /at (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
      const tree = processTree(child.pid!).filter((pid) => pid !== child.pid);
      expect(tree.length).toBeGreaterThanOrEqual(3); // two apps and nginx (and nginx's worker)
      const report = await runContractSuite(match[1]!);
      expect(report.results.filter((x) => !x.ok)).toEqual([]);
      child.kill('SIGINT');
      expect(await exited(child)).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(tree.filter(isAlive)).toEqual([]);
    }, 120_000);
  });

  it('serve --instances 2 (cluster): Ctrl-C stops the primary and its workers, each says what it served', async () => {
    const { child, match, output } = await startCli(['serve', '--app', 'fastify', '--port', '0', '--instances', '2'], { DATABASE_URL: db.url }, /at (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
    const tree = processTree(child.pid!).filter((pid) => pid !== child.pid);
    expect(tree.length).toBeGreaterThanOrEqual(3); // primary + 2 workers
    for (let i = 0; i < 20; i++) await fetch(`${match[1]}/health`);
    child.kill('SIGINT');
    expect(await exited(child)).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(tree.filter(isAlive)).toEqual([]);
    expect(output().match(/instance \d+ served \d+ requests/g)).toHaveLength(2);
  }, 120_000);

  it('pool size x instances above max_connections: one line, exit 1, nothing written', async () => {
    const out = join(tmp, 'too-many');
    const r = await runCli(['bench', ...SHORT, '--instances', '3', '--pool-size', '500', '--out', out], { DATABASE_URL: db.url }, 60_000);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/3 instances x pool size 500 = 1500 connections, but PostgreSQL allows \d+/);
    expect(existsSync(join(out, 'results.json'))).toBe(false);
  }, 90_000);
});
