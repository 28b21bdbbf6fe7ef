/**
 * The lab's work, as plain functions: the main thread runs them directly, the worker pool runs the same ones
 * (worker.ts). Deliberately naive: they stand for "CPU work" and "a blocking call", not for good code.
 */

/** How many primes are below n, by trial division of every candidate (no sieve: the point is to burn CPU). */
export function countPrimesBelow(n: number): number {
  let count = 0;
  for (let candidate = 2; candidate < n; candidate++) {
    let prime = true;
    for (let divisor = 2; divisor * divisor <= candidate; divisor++) {
      if (candidate % divisor === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/**
 * Blocks the calling thread for `ms` milliseconds without burning CPU: Atomics.wait on a value nobody changes. On
 * the main thread this is the anti-pattern the lab shows (like `time.sleep` inside `async def`): nothing else runs.
 */
export function blockFor(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
