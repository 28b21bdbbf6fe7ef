import { acquireWorkPool, blockFor, countPrimesBelow, workPoolStarted, workPoolThreads } from '@stackbench/lab';
import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';

/** π(x): the number of primes <= x; countPrimesBelow(n) counts those < n. */
const KNOWN: Array<[number, number]> = [
  [1, 0],
  [2, 0],
  [3, 1],
  [4, 2],
  [10, 4],
  [11, 4],
  [12, 5],
  [100, 25],
  [1_000, 168],
  [10_000, 1_229],
  [100_000, 9_592],
  [1_000_000, 78_498],
  [2_000_000, 148_933],
];

describe('countPrimesBelow', () => {
  it('counts the known numbers of primes', () => {
    for (const [n, primes] of KNOWN) expect(countPrimesBelow(n), `primes below ${n}`).toBe(primes);
  });
});

/** Resolves with the milliseconds between now and when a `delayMs` timer actually fired. */
function timerFiredAfter(delayMs: number): Promise<number> {
  const set = performance.now();
  return new Promise((resolve) => setTimeout(() => resolve(performance.now() - set), delayMs));
}

describe('blocking on the main thread', () => {
  it('stalls the event loop: a 10 ms timer cannot fire before a 300 ms block is over', async () => {
    let blockEnded = 0;
    const timer = timerFiredAfter(10).then((ms) => ({ ms, at: performance.now() }));
    const started = performance.now();
    blockFor(300);
    blockEnded = performance.now();
    const fired = await timer;
    expect(blockEnded - started).toBeGreaterThanOrEqual(299);
    expect(fired.at).toBeGreaterThanOrEqual(blockEnded);
    expect(fired.ms).toBeGreaterThanOrEqual(299);
  });
});

describe('the worker pool', () => {
  const leases: Array<ReturnType<typeof acquireWorkPool>> = [];
  const lease = () => {
    const pool = acquireWorkPool();
    leases.push(pool);
    return pool;
  };
  afterEach(async () => {
    await Promise.all(leases.splice(0).map((p) => p.close()));
  });

  it('is sized to the cores, starts with the first task, and stops with the last lease', async () => {
    expect(workPoolThreads()).toBe(availableParallelism());
    const a = lease();
    const b = lease();
    expect(workPoolStarted()).toBe(false);
    expect(await a.countPrimes(1_000)).toBe(168);
    expect(workPoolStarted()).toBe(true);
    await a.close();
    await a.close();
    expect(workPoolStarted()).toBe(true);
    expect(await b.countPrimes(100)).toBe(25);
    await b.close();
    expect(workPoolStarted()).toBe(false);
    // A new lease starts a new pool.
    expect(await lease().countPrimes(10)).toBe(4);
  });

  it('counts primes off the main thread: a 10 ms timer fires before a 2 000 000 count on the pool is done', async () => {
    const pool = lease();
    await pool.countPrimes(10); // threads up
    let counted = 0;
    const job = pool.countPrimes(2_000_000).then((primes) => {
      counted = performance.now();
      return primes;
    });
    const firedAt = await timerFiredAfter(10).then(() => performance.now());
    expect(await job).toBe(148_933);
    expect(firedAt).toBeLessThan(counted);
  });

  it('offloads a blocking call: a 20 ms timer fires while a 1000 ms block runs on the pool, and the block still takes its time', async () => {
    const pool = lease();
    const started = performance.now();
    let blocked = 0;
    const job = pool.block(1000).then(() => (blocked = performance.now()));
    const firedAfter = await timerFiredAfter(20);
    expect(blocked).toBe(0);
    await job;
    expect(firedAfter).toBeLessThan(1000);
    expect(blocked - started).toBeGreaterThanOrEqual(999);
  });

  it('runs as many blocking calls at once as it has threads', async () => {
    const pool = lease();
    const threads = workPoolThreads();
    await pool.block(0);
    const started = performance.now();
    await Promise.all(Array.from({ length: threads * 2 }, () => pool.block(300)));
    const elapsed = performance.now() - started;
    // 2 rounds of `threads` parallel 300 ms blocks: at least 600 ms (never more than `threads` at once), and less
    // than one after the other would take.
    expect(elapsed).toBeGreaterThanOrEqual(599);
    expect(elapsed).toBeLessThan(threads * 2 * 300);
  });
});
