/**
 * The worker pool's entry (compiled to dist/worker.js, which piscina loads in each thread). Named exports: a task
 * picks one with `{ name }`.
 */
import { blockFor, countPrimesBelow } from './work.js';

export function countPrimes(n: number): number {
  return countPrimesBelow(n);
}

export function block(ms: number): number {
  blockFor(ms);
  return ms;
}
