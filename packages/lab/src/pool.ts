import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';

/**
 * The worker pool: one piscina pool per process, as many threads as the machine has cores, created on the first
 * task (a process that never offloads starts no thread) and destroyed when the last app holding a lease closes.
 * The worker is compiled JS beside this file (dist/worker.js): benchmarks run compiled code, never a transpiler.
 */
const WORKER_FILE = new URL('./worker.js', import.meta.url).href;

let pool: Promise<Piscina> | undefined;
let leases = 0;

/** Threads the pool runs (fixed: minThreads = maxThreads, so no thread is started or stopped under load). */
export function workPoolThreads(): number {
  return availableParallelism();
}

function sharedPool(): Promise<Piscina> {
  if (!pool) {
    const threads = workPoolThreads();
    pool = import('piscina').then(({ Piscina }) => new Piscina({ filename: WORKER_FILE, minThreads: threads, maxThreads: threads }));
    // A failed start is retried by the next task rather than cached for good.
    pool.catch(() => (pool = undefined));
  }
  return pool;
}

export interface WorkPool {
  /** countPrimesBelow(n) on a pool thread. */
  countPrimes(n: number): Promise<number>;
  /** blockFor(ms) on a pool thread: the blocking call, moved off the main thread. */
  block(ms: number): Promise<void>;
  /** Gives the lease back; the last one destroys the pool. Idempotent. */
  close(): Promise<void>;
}

/** A lease on the process's pool. */
export function acquireWorkPool(): WorkPool {
  leases++;
  let released = false;
  return {
    async countPrimes(n) {
      return (await sharedPool()).run(n, { name: 'countPrimes' }) as Promise<number>;
    },
    async block(ms) {
      await (await sharedPool()).run(ms, { name: 'block' });
    },
    async close() {
      if (released) return;
      released = true;
      leases--;
      if (leases > 0 || !pool) return;
      const closing = pool;
      pool = undefined;
      await (await closing.catch(() => undefined))?.destroy();
    },
  };
}

/** Whether the process has a pool right now (tests: created lazily, destroyed with the last lease). */
export function workPoolStarted(): boolean {
  return pool !== undefined;
}
