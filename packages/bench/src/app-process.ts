import type { ConnectionStrategy } from '@stackbench/contract';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';
import { appMainPath, type AppEntry } from './registry.js';
import { CliError } from './cli-support.js';
import { killOnExit, onShutdown } from '@stackbench/db';

export interface AppProcessOptions {
  app: AppEntry;
  store: string;
  conn: ConnectionStrategy;
  poolSize: number;
  databaseUrl: string;
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Node binary that runs the app (default: the Node running stackbench). */
  nodeBinary?: string;
  /**
   * `cgroup.procs` files the process must be in from its first instruction (the envelope's app cgroup, one file per
   * controller directory). Node sizes V8's heap from the memory limit of the cgroup it starts in: moved in after
   * exec, it would keep the heap of an unconfined machine, a race that changed GC cost from run to run.
   */
  cgroupProcs?: string[];
  /** Extra environment for the app (lab routes, instances, profiling ...). */
  env?: Record<string, string>;
  /** Where the app's stdout/stderr go (default: kept in a small ring for error messages). */
  onOutput?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface AppProcess {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Last lines the app printed, for error reports. */
  output(): string;
  /** Resolves with the first line printed from now on that matches `pattern` (rejects after `timeoutMs` or on exit). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(graceMs?: number): Promise<void>;
}

/** Exit code of the wrapper when it cannot join the cgroup (the app never started). */
export const CGROUP_JOIN_FAILED = 97;

/**
 * Spawns `binary args` already inside the cgroups whose `cgroup.procs` files are given: a shell writes its own pid
 * into each, then execs the binary (same pid), so the program never runs outside. Without files, a plain spawn.
 */
export function spawnInCgroup(binary: string, args: string[], procsFiles: string[], options: SpawnOptions): ChildProcess {
  if (procsFiles.length === 0) return spawn(binary, args, options);
  const script = 'for f in $STACKBENCH_CGROUP_PROCS; do echo $$ > "$f" || exit ' + CGROUP_JOIN_FAILED + '; done; unset STACKBENCH_CGROUP_PROCS; exec "$@"';
  return spawn('/bin/sh', ['-c', script, 'sh', binary, ...args], { ...options, env: { ...(options.env ?? process.env), STACKBENCH_CGROUP_PROCS: procsFiles.join(' ') } });
}

export async function assertPortFree(port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      reject(new CliError(err.code === 'EADDRINUSE' ? `port ${port} is in use on ${host}` : `cannot use port ${port}: ${err.message}`)),
    );
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Runs an app's compiled main.js as its own process (never a dev transpiler) and resolves once it prints
 * `listening on <url>`. Rejects with the app's last output when it exits or stays silent too long.
 */
export async function startAppProcess(options: AppProcessOptions): Promise<AppProcess> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port === 0 ? await freePort(host) : options.port;
  await assertPortFree(port, host);
  const child = spawnInCgroup(options.nodeBinary ?? process.execPath, [appMainPath(options.app)], options.cgroupProcs ?? [], {
    env: {
      ...process.env,
      DATABASE_URL: options.databaseUrl,
      STACKBENCH_STORE: options.store,
      STACKBENCH_CONN: options.conn,
      STACKBENCH_POOL_SIZE: String(options.poolSize),
      PORT: String(port),
      // The only address variable the apps read (an inherited HOST never exposes them).
      STACKBENCH_HOST: host,
      NODE_ENV: 'production',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Stopped with everything else on Ctrl-C, and signalled if stackbench itself exits.
  const unregister = [onShutdown(() => stop()), killOnExit(child.pid!)];
  const ring: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      for (const u of unregister) u();
      resolve({ code, signal });
    }),
  );
  let onLine: (line: string) => void = () => undefined;
  const watchers = new Set<(line: string) => void>();
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      ring.push(line);
      if (ring.length > 40) ring.shift();
      options.onOutput?.(line);
      onLine(line);
      for (const w of watchers) w(line);
    }
  };
  const waitForLine = (pattern: RegExp, timeoutMs: number) =>
    new Promise<string>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        watchers.delete(watch);
      };
      const watch = (line: string) => {
        if (!pattern.test(line)) return;
        done();
        resolve(line);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${options.app.name} printed no ${pattern} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      watchers.add(watch);
      void exited.then(() => {
        if (!watchers.has(watch)) return;
        done();
        reject(new Error(`${options.app.name} exited before printing ${pattern}`));
      });
    });
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const output = () => ring.join('\n');

  const stop = async (graceMs = 5000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(0);
      reject(new Error(`${options.app.name} did not start within ${(options.startTimeoutMs ?? 30_000) / 1000} s:\n${output()}`));
    }, options.startTimeoutMs ?? 30_000);
    onLine = (line) => {
      const m = /^listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(
        new Error(
          code === CGROUP_JOIN_FAILED
            ? `could not confine ${options.app.name}: its process could not join the app cgroup (${(options.cgroupProcs ?? []).join(', ')})`
            : `${options.app.name} exited (${signal ?? `code ${code}`}) before listening:\n${output()}`,
        ),
      );
    });
  });
  onLine = () => undefined;
  return { url, pid: child.pid!, child, output, waitForLine, exited, stop };
}
