/**
 * Servers a lab or a scale-out run needs beside the app and PostgreSQL — Redis, nginx — started by stackbench as
 * its own children: loopback only, no daemonizing, no persistence, logs and pid files in the run directory, stopped
 * on exit and on Ctrl-C like the apps. A missing program is one line saying how to install it.
 */
import { killOnExit, onShutdown } from '@stackbench/db';
import { ApiError, FIELD_MESSAGES, isLoopbackHost, JSON_CONTENT_TYPE, rawHttpHost } from '@stackbench/contract';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './cli-support.js';
import { freePort } from './app-process.js';
import { findOnPath } from './orchestrator/config.js';

export interface Service {
  name: string;
  url: string;
  /** The child's pid (null for one given by URL: not ours to stop). */
  pid: number | null;
  stop(): Promise<void>;
  /** Resolves when our child exits (absent for one given by URL). */
  exited?: Promise<void>;
}

/** `name` on PATH, else in the system directories Debian keeps daemons in (often not on a user's PATH). */
export function findProgram(name: string): string | null {
  return findOnPath(name) ?? findOnPath(name, '/usr/sbin:/usr/local/sbin:/usr/bin');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** Spawns a server program, waits until its port accepts connections, and registers it to be stopped. */
async function startChild(name: string, binary: string, args: string[], port: number, logFile: string, timeoutMs = 15_000): Promise<{ child: ChildProcess; stop(): Promise<void>; exited: Promise<void> }> {
  mkdirSync(dirname(logFile), { recursive: true });
  const log = openSync(logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', log, log] });
  let exited = false;
  const exit = new Promise<void>((done) => child.once('exit', () => ((exited = true), done())));
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exit;
    clearTimeout(timer);
  };
  const unregister = [onShutdown(stop), killOnExit(child.pid!)];
  const deadline = Date.now() + timeoutMs;
  while (!(await portOpen(port))) {
    if (exited || Date.now() > deadline) {
      await stop();
      for (const u of unregister) u();
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
      throw new CliError(`${name} did not start${exited ? ` (exit ${child.exitCode})` : ` within ${timeoutMs / 1000} s`}: ${tail || `see ${logFile}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    exited: exit,
    stop: async () => {
      await stop();
      for (const u of unregister) u();
    },
  };
}

// ---- Redis -----------------------------------------------------------------------------------------------------

/**
 * Redis for the cache lab: REDIS_URL when set (it must be a loopback redis:// URL), else `redis-server` started
 * here on a free loopback port, without persistence (a cache: nothing to keep), logs in `dir`.
 */
export async function startRedis(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<Service> {
  if (env.REDIS_URL) {
    const url = env.REDIS_URL;
    const m = /^redis:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?\d*$/.exec(url);
    const host = m?.[1]?.replace(/^\[|\]$/g, '');
    if (!m || !host || !isLoopbackHost(host)) throw new CliError(`REDIS_URL must be a loopback redis:// URL (e.g. redis://127.0.0.1:6379), got "${url}"`);
    if (!(await portOpen(Number(m[2] ?? 6379)))) throw new CliError(`REDIS_URL ${url} is unreachable`);
    return { name: 'redis', url, pid: null, stop: async () => undefined };
  }
  const binary = findProgram('redis-server');
  if (!binary) throw new CliError('redis-server not found: install it (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL to a loopback Redis');
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--daemonize', 'no', '--dir', dir];
  const { child, stop, exited } = await startChild('redis-server', binary, args, port, join(dir, 'redis.log'));
  return { name: 'redis', url: `redis://127.0.0.1:${port}`, pid: child.pid!, stop, exited };
}

// ---- nginx -----------------------------------------------------------------------------------------------------

const templatePath = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'nginx', 'stackbench.conf.template');

/** The committed template (nginx/stackbench.conf.template) filled in for one run. */
export function renderNginxConfig(options: { listenPort: number; upstreams: string[]; prefix: string; workers?: number }): string {
  for (const u of options.upstreams) {
    const host = rawHttpHost(`http://${u}`);
    if (!host || !isLoopbackHost(host)) throw new CliError(`nginx upstream ${u} is not a loopback address`);
  }
  const values: Record<string, string> = {
    prefix: options.prefix,
    listen: `127.0.0.1:${options.listenPort}`,
    workers: String(options.workers ?? 1),
    servers: options.upstreams.map((u) => `    server ${u};`).join('\n'),
    invalid_path_body: JSON.stringify(new ApiError('invalid_request', FIELD_MESSAGES.id).toBody()),
    json_content_type: JSON_CONTENT_TYPE,
  };
  return readFileSync(templatePath, 'utf8')
    .split('\n')
    .map((line) => (line.trimStart().startsWith('#') ? line : line.replace(/\{\{(\w+)\}\}/g, (m, name: string) => values[name] ?? m)))
    .join('\n');
}

/**
 * nginx in front of `upstreams` (host:port of each app instance) with least_conn and upstream keep-alive, as a
 * child of this process (`daemon off`), its config, pid file and logs in `dir`.
 */
export async function startNginx(dir: string, upstreams: string[]): Promise<Service> {
  const binary = findProgram('nginx');
  if (!binary) throw new CliError('nginx not found: install it (Debian/Ubuntu: apt-get install nginx-light, or nginx)');
  for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, renderNginxConfig({ listenPort: port, upstreams, prefix: dir }));
  // -p: every relative path (temp dirs) under the run directory; -e: the error log before the config is read.
  const { child, stop, exited } = await startChild('nginx', binary, ['-p', dir, '-c', conf, '-e', join(dir, 'logs', 'error.log')], port, join(dir, 'logs', 'nginx.out'));
  return { name: 'nginx', url: `http://127.0.0.1:${port}`, pid: child.pid!, stop, exited };
}

// ---- the fan-out lab's slow upstream ---------------------------------------------------------------------------

export interface UpstreamService extends Service {
  /** `/delay` requests answered so far and the most in flight at once (since the last `resetPeak`). */
  stats(resetPeak?: boolean): Promise<{ requests: number; peakInFlight: number }>;
}

const upstreamChild = resolve(dirname(fileURLToPath(import.meta.url)), 'labs', 'upstream-child.js');

/** The slow upstream (@stackbench/lab's startSlowUpstream) in a process of its own, on a free loopback port. */
export async function startUpstream(timeoutMs = 15_000): Promise<UpstreamService> {
  const child = fork(upstreamChild, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const unregister = [killOnExit(child.pid!)];
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    for (const u of unregister) u();
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  unregister.push(onShutdown(stop));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new CliError(`the lab upstream did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    child.once('message', (m: { url?: string }) => (clearTimeout(timer), m.url ? done(m.url) : fail(new CliError('the lab upstream did not say its URL'))));
    child.once('exit', (code) => (clearTimeout(timer), fail(new CliError(`the lab upstream exited (code ${code}) before it listened`))));
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  return {
    name: 'upstream',
    url,
    pid: child.pid!,
    stop,
    stats: (resetPeak = false) =>
      new Promise((done, fail) => {
        const timer = setTimeout(() => fail(new Error('the lab upstream did not answer for its counters')), 5_000);
        child.once('message', (m: { stats?: { requests: number; peakInFlight: number } }) => (clearTimeout(timer), m.stats ? done(m.stats) : fail(new Error('bad answer from the lab upstream'))));
        child.send(resetPeak ? 'reset-peak' : 'stats');
      }),
  };
}
