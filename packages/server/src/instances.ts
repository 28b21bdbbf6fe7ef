import cluster, { type Worker } from 'node:cluster';
import type { Server } from 'node:http';

/**
 * Scale-out inside one app process tree: `STACKBENCH_INSTANCES=N` (N > 1) makes the process a `cluster` primary that
 * forks N workers sharing its port (Node's default round-robin scheduling on Linux); the primary serves nothing and
 * opens no database connection. Every serving process counts the requests it received and says so when it stops,
 * in one line the orchestrator reads (`instance <pid> served <n> requests`), so a run can show the load reached
 * every instance.
 */

let requestsReceived = 0;
const countRequest = () => {
  requestsReceived++;
};

/** Counts the requests `server` receives (for the line printed at shutdown). Idempotent. */
export function countRequests(server: Server): void {
  if (!server.listeners('request').includes(countRequest)) server.prependListener('request', countRequest);
}

export function servedLine(pid = process.pid): string {
  return `instance ${pid} served ${requestsReceived} requests`;
}

/** `instance <pid> served <n> requests` lines of an app's output -> requests per instance, in order of appearance. */
export function parseServedLines(lines: readonly string[]): { pid: number; requests: number }[] {
  const out: { pid: number; requests: number }[] = [];
  for (const line of lines) {
    const m = /^instance (\d+) served (\d+) requests$/.exec(line.trim());
    if (m) out.push({ pid: Number(m[1]), requests: Number(m[2]) });
  }
  return out;
}

/** STACKBENCH_INSTANCES: 1 (default) or the cluster's worker count, 1..64. */
export function readInstances(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.STACKBENCH_INSTANCES ?? '1';
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 64) throw new Error(`STACKBENCH_INSTANCES must be 1..64, got "${raw}"`);
  return Number(raw);
}

/** True in the process that should fork workers rather than serve. */
export function isClusterPrimary(instances: number): boolean {
  return instances > 1 && cluster.isPrimary;
}

/**
 * The primary's whole life: fork the workers, print `listening on <url>` once every one listens, stop them on
 * SIGINT/SIGTERM (each prints its served line) and exit; if a worker dies on its own, stop the rest and exit 1 so
 * the orchestrator sees a crash, not a quietly smaller cluster.
 */
export function runClusterPrimary(instances: number): void {
  const workers: Worker[] = [];
  let listening = 0;
  let stopping = false;
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    const alive = workers.filter((w) => !w.isDead());
    if (alive.length === 0) process.exit(code);
    let left = alive.length;
    for (const w of alive) {
      w.once('exit', () => {
        if (--left === 0) process.exit(code);
      });
      w.process.kill('SIGTERM');
    }
    setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
    }, 10_000).unref();
  };
  for (let i = 0; i < instances; i++) {
    const w = cluster.fork();
    workers.push(w);
    w.on('message', (m: { listening?: string }) => {
      if (typeof m?.listening === 'string' && ++listening === instances) console.log(`listening on ${m.listening}`);
    });
    w.on('exit', (code, signal) => {
      if (stopping) return;
      console.error(`cluster worker ${w.process.pid} exited (${signal ?? `code ${code}`}): stopping the others`);
      stopAll(1);
    });
  }
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
}

/** In a cluster worker: tell the primary this worker listens (the primary prints the URL once all do). */
export function reportListening(url: string): boolean {
  if (!cluster.isWorker) return false;
  process.send?.({ listening: url });
  return true;
}
