/**
 * What the benchmarks (not tests: they measure, and print figures) share: running `stackbench bench` and reading
 * its results.json, spreads, plain-text tables, and a trivial server that answers the commerce routes with
 * contract-shaped bodies and no database, for measuring load generators alone.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Combo, Results } from '@stackbench/report';

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to packages/bench/dist/benchmarks/benchmarks/*.js; the package is three levels up, the CLI in its bin/.
export const packageDir = resolve(here, '..', '..', '..');
export const repoDir = resolve(packageDir, '..', '..');
const cli = join(packageDir, 'bin', 'stackbench.js');

/** Runs `stackbench <args>` with its output on this terminal; resolves with the exit code. */
export function runStackbench(args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
  });
}

export function readRunResults(dir: string): Results {
  return JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
}

/** A run directory name: 2026-05-01T10-00-00Z. */
export function stamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

export interface Spread {
  min: number;
  median: number;
  max: number;
  /** (max - min) / median, 0 when the median is 0. */
  relative: number;
}

export function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  const min = s[0]!;
  const max = s[s.length - 1]!;
  return { min, median, max, relative: median > 0 ? (max - min) / median : 0 };
}

export const fmtSpread = (s: Spread | null, d = 0) =>
  s ? `${s.min.toFixed(d)} / ${s.median.toFixed(d)} / ${s.max.toFixed(d)} (spread ${(s.relative * 100).toFixed(0)} % of the median)` : '-';

/** Highest rps of a passing step. */
export function peakRps(combo: Combo): number {
  return Math.max(0, ...combo.steps.filter((s) => s.passed).map((s) => s.rps));
}

/** [breakpoint, smallest failing load] of one repeat: the planner cannot resolve finer than that. */
export function bracket(combo: Combo): [number | null, number | null] {
  const failing = combo.steps.filter((s) => !s.passed).map((s) => s.load);
  return [combo.breakpoint?.load ?? null, failing.length ? Math.min(...failing) : null];
}

/** A fixed-width table, first column left-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

// ---- the trivial server ----------------------------------------------------------------------------------------

const PRODUCT_COUNT = 10_000;
const LIMIT = 20;

/** Serves the four routes with realistic-size JSON (and Server-Timing), no database, no validation. Run in a child. */
export function serveTrivial(): void {
  const product = (id: number) => ({ id, name: `Product ${String(id).padStart(6, '0')}`, priceCents: 100 + ((id * 7919) % 99_901), stock: 1_000_000_000, sold: 0 });
  let nextOrder = 1;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '/';
      let status = 200;
      let body: unknown;
      if (url.startsWith('/products?')) {
        const after = Number(/after=(\d+)/.exec(url)?.[1] ?? 5);
        const items = [];
        for (let id = after + 1; id <= Math.min(after + LIMIT, PRODUCT_COUNT); id++) items.push(product(id));
        body = { items, nextAfter: items.length ? items[items.length - 1]!.id : null };
      } else if (url.startsWith('/products/')) {
        body = product(Number(url.slice('/products/'.length)) || 6);
      } else if (url === '/orders' && req.method === 'POST') {
        const input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { productId?: number; quantity?: number };
        status = 201;
        body = { id: nextOrder++, productId: input.productId ?? 6, quantity: input.quantity ?? 1, unitPriceCents: 100, totalCents: 100, createdAt: new Date().toISOString() };
      } else if (url.startsWith('/orders/')) {
        body = { id: Number(url.slice('/orders/'.length)) || 1, productId: 6, quantity: 1, unitPriceCents: 100, totalCents: 100, createdAt: '2025-01-01T00:00:00.000Z' };
      } else {
        status = 404;
        body = { error: { code: 'not_found', message: 'route not found' } };
      }
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'server-timing': 'app;dur=0.050' });
      res.end(text);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    console.log(`listening on http://127.0.0.1:${port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  // The parent asks for the server's CPU time to tell a saturated server from a slow load generator.
  process.on('message', () => process.send?.(process.cpuUsage()));
}

export interface TrivialServer {
  url: string;
  child: ChildProcess;
  /** The server's CPU milliseconds so far. */
  cpuMs(): Promise<number>;
  stop(): void;
}

/** Starts the trivial server in a child process (`entry` must call serveTrivial() when given `--serve`). */
export async function startTrivialServer(entry: string): Promise<TrivialServer> {
  const child = fork(entry, ['--serve'], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 10 s')), 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      const m = /listening on (\S+)/.exec(chunk.toString('utf8'));
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
  return {
    url,
    child,
    cpuMs: () =>
      new Promise((resolveCpu) => {
        child.once('message', (usage: NodeJS.CpuUsage) => resolveCpu((usage.user + usage.system) / 1000));
        child.send('cpu');
      }),
    stop: () => child.kill('SIGTERM'),
  };
}
