/**
 * Scale-out targets: one app process (the default), N cluster workers sharing a port (`--lb cluster`), or N app
 * processes on their own loopback ports behind nginx with least_conn and upstream keep-alive (`--lb nginx`, the
 * config rendered from nginx/stackbench.conf.template into the run directory, nginx a child of this process).
 * Whatever the shape, the orchestrator sees one AppProcess-like target: a URL, the processes to measure, a stop.
 */
import { parseServedLines } from '@stackbench/server';
import { readdirSync, readFileSync } from 'node:fs';
import { startAppProcess, type AppProcess, type AppProcessOptions } from './app-process.js';
import { CliError } from './cli-support.js';
import { startNginx, type Service } from './services.js';

export const LOAD_BALANCERS = ['cluster', 'nginx'] as const;
export type LoadBalancer = (typeof LOAD_BALANCERS)[number];

/** N instances behind a balancer; null for one plain process. */
export interface ScaleOut {
  count: number;
  lb: LoadBalancer;
}

export interface AppTarget extends AppProcess {
  scale: ScaleOut | null;
  /** The app's processes (roots of their trees): one, or the N behind nginx. */
  appPids: number[];
  /** nginx, when it is the balancer. */
  balancer: Service | null;
  /** Requests each instance received, from the lines they print when stopped (null before the stop, or unread). */
  servedPerInstance(): number[] | null;
}

/** "1,2,3" -> [1, 2, 3]. */
export function parseInstances(value: string | undefined): number[] | null {
  if (value === undefined) return null;
  const items = value.split(',').map((s) => s.trim());
  if (!items.every((i) => /^\d+$/.test(i) && Number(i) >= 1 && Number(i) <= 64)) throw new CliError(`--instances must be counts from 1 to 64 separated by commas, got "${value}"`);
  const counts = items.map(Number);
  if (counts.some((n, i) => i > 0 && n <= counts[i - 1]!)) throw new CliError(`--instances must be strictly ascending, got "${value}"`);
  return counts;
}

export function parseBalancers(value: string | undefined): LoadBalancer[] {
  if (value === undefined) return ['cluster'];
  const items = value.split(',').map((s) => s.trim());
  for (const i of items) if (!(LOAD_BALANCERS as readonly string[]).includes(i)) throw new CliError(`unknown load balancer "${i}" (known: ${LOAD_BALANCERS.join(', ')})`);
  return [...new Set(items)] as LoadBalancer[];
}

/**
 * What a scale-out run measures per combination: one plain process (the reference every efficiency divides by),
 * then every balancer at every count (1 included: what the balancer itself costs).
 */
export function scaleOutPlan(counts: number[] | null, balancers: LoadBalancer[]): (ScaleOut | null)[] {
  if (counts === null) return [null];
  return [null, ...balancers.flatMap((lb) => counts.map((count) => ({ count, lb })))];
}

export function scaleLabel(scale: ScaleOut | null): string {
  return scale ? `${scale.count} x ${scale.lb}` : '1 process';
}

/** The pool of every instance must fit PostgreSQL's max_connections, with room for stackbench's own sessions. */
export function checkConnections(poolSize: number, instances: number, maxConnections: number, reserved: number): string | null {
  const spare = 10; // reset, census, audit, the usage of superusers reserved apart
  const need = poolSize * instances;
  if (need + reserved + spare <= maxConnections) return null;
  return `${instances} instance${instances === 1 ? '' : 's'} x pool size ${poolSize} = ${need} connections, but PostgreSQL allows ${maxConnections} (${reserved} reserved, ${spare} kept for stackbench): lower --pool-size or --instances, or raise max_connections`;
}

/** Starts the target: plain, cluster (STACKBENCH_INSTANCES for the app's own primary) or nginx over N processes. */
export async function startAppTarget(options: AppProcessOptions, scale: ScaleOut | null, nginxDir: string): Promise<AppTarget> {
  const lines: string[] = [];
  const keep = (prefix: string) => (line: string) => {
    if (/^instance \d+ served \d+ requests$/.test(line)) lines.push(line);
    options.onOutput?.(prefix ? `${prefix} ${line}` : line);
  };
  let stopped = false;
  const served = (count: number) => {
    if (!stopped) return null;
    const counts = parseServedLines(lines).map((x) => x.requests);
    return counts.length === count ? counts : null;
  };
  if (scale === null || scale.lb === 'cluster') {
    const env = scale ? { ...options.env, STACKBENCH_INSTANCES: String(scale.count) } : options.env;
    const app = await startAppProcess({ ...options, env, onOutput: keep('') });
    return {
      ...app,
      stop: async (graceMs?: number) => {
        // A cluster primary stops its workers first: give them their own grace on top.
        await app.stop(scale ? (graceMs ?? 5000) * 2 : graceMs);
        stopped = true;
      },
      scale,
      appPids: [app.pid],
      balancer: null,
      servedPerInstance: () => served(scale?.count ?? 1),
    };
  }
  const apps: AppProcess[] = [];
  let nginx: Service | null = null;
  const stopAll = async (graceMs?: number) => {
    await nginx?.stop();
    await Promise.all(apps.map((a) => a.stop(graceMs)));
    stopped = true;
  };
  try {
    for (let i = 0; i < scale.count; i++) apps.push(await startAppProcess({ ...options, port: 0, onOutput: keep(`[instance ${i + 1}]`) }));
    nginx = await startNginx(nginxDir, apps.map((a) => new URL(a.url).host));
  } catch (err) {
    await stopAll(0);
    throw err;
  }
  const first = apps[0]!;
  const nginxExit = nginx.exited ?? new Promise<never>(() => undefined);
  return {
    url: nginx.url,
    pid: first.pid,
    child: first.child,
    output: () => apps.map((a, i) => a.output().split('\n').map((l) => `[instance ${i + 1}] ${l}`).join('\n')).join('\n'),
    waitForLine: (pattern, timeoutMs) => first.waitForLine(pattern, timeoutMs),
    exited: Promise.race([...apps.map((a) => a.exited), nginxExit.then(() => ({ code: null, signal: 'SIGTERM' as NodeJS.Signals }))]),
    stop: stopAll,
    scale,
    appPids: apps.map((a) => a.pid),
    balancer: nginx,
    servedPerInstance: () => served(scale.count),
  };
}

/** Resident memory of processes and all their descendants, MiB (one /proc scan). */
export function treeRssMiB(rootPids: number[]): number | null {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid);
      if (list) list.push(Number(entry));
      else children.set(ppid, [Number(entry)]);
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  let any = false;
  const stack = [...rootPids];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) {
        total += Number(m[1]) / 1024;
        any = true;
      }
    } catch {
      continue;
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return any ? total : null;
}
