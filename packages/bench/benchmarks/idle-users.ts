/**
 * How many mostly idle users one load generator holds (not a test): the article preset's think time lets thousands of
 * users in, each on its own keep-alive connection. For each user count, the embedded driver (and k6, when found) runs
 * one step against the trivial server (contract-shaped bodies, no database) with the think time; this prints the
 * generator's memory and CPU per user, whether the step was driver-bound by the shared rule, and the most users held.
 *
 *   npm run bench:idle-users -w @stackbench/bench [-- --users 500,1000,2000,4000,8000 --think-ms 500 --seconds 10]
 *
 * Memory per user = (the generator's peak RSS during the step − its RSS before) ÷ users.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_THRESHOLD, evaluateStep, findK6Script, judgeDriver, k6Engine, processReader, runNodeStep, UsageSampler, type StepRequest, type StepRun } from '@stackbench/loadtests';
import { findK6 } from '../src/orchestrator/config.js';
import { serveTrivial, startTrivialServer, table } from './support.js';

interface Row {
  engine: string;
  users: number;
  rps: number;
  p95Ms: number;
  errors: number;
  cpuPct: number;
  cpuUsPerUser: number;
  memoryMiB: number;
  kibPerUser: number;
  bound: string;
  /** The step kept the default threshold (p95 < 100 ms, errors < 1 %). */
  passed: boolean;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { users: { type: 'string', default: '500,1000,2000,4000,8000' }, 'think-ms': { type: 'string', default: '500' }, seconds: { type: 'string', default: '10' } } });
  const users = values.users.split(',').map(Number);
  const thinkMs = Number(values['think-ms']);
  const seconds = Number(values.seconds);
  const server = await startTrivialServer(fileURLToPath(import.meta.url));
  const k6Binary = findK6();
  const k6Script = findK6Script();
  const rows: Row[] = [];
  const request = (load: number): StepRequest => ({
    baseUrl: server.url,
    model: 'closed',
    load,
    durationMs: seconds * 1000,
    // Users start together; a warm-up of two think times spreads them out before the window.
    warmupMs: Math.max(2000, 2 * thinkMs),
    thinkMs,
    productCount: 10_000,
    maxRequests: 100_000_000,
    requestTimeoutMs: 10_000,
  });
  const record = async (engine: string, load: number, run: (r: StepRequest) => Promise<StepRun>, memory: () => { baseline: number; peak: () => number }) => {
    const mem = memory();
    const cpu0 = await server.cpuMs();
    const t0 = performance.now();
    const { measurement: m } = await run(request(load));
    const serverPct = ((await server.cpuMs()) - cpu0) / (performance.now() - t0) * 100;
    const judged = judgeDriver({ driverCpuPct: m.driver.cpuPct, parallelism: m.driver.parallelism, eventLoopDelayP99Ms: m.driver.eventLoopDelayP99Ms, machineCores: cpus().length, appCpuPct: serverPct, dbCpuPct: 0 });
    const peak = mem.peak();
    rows.push({
      engine,
      users: load,
      rps: m.rps,
      p95Ms: m.latencyMs.p95,
      errors: m.errors,
      cpuPct: m.driver.cpuPct,
      cpuUsPerUser: (m.driver.cpuPct / 100) * 1e6 / load,
      memoryMiB: peak,
      kibPerUser: ((peak - mem.baseline) * 1024) / load,
      bound: judged.bound ? judged.reasons.join('; ') : 'no',
      passed: evaluateStep(m).passed,
    });
    console.log(`  ${engine} ${load} users: ${m.rps} rps, p95 ${m.latencyMs.p95} ms, generator ${m.driver.cpuPct} % CPU, peak ${peak.toFixed(0)} MiB, driver-bound: ${rows.at(-1)!.bound}`);
  };
  try {
    console.log(`idle users: think ${thinkMs} ms, ${seconds} s steps, trivial server ${server.url}, ${cpus().length} CPUs\n`);
    for (const load of users) {
      // This process is the embedded driver: its own RSS, sampled while the step runs.
      await record('node', load, (r) => runNodeStep(r), () => {
        const baseline = process.memoryUsage().rss / 2 ** 20;
        let peak = baseline;
        const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss / 2 ** 20)), 100);
        return { baseline, peak: () => (clearInterval(timer), peak) };
      });
      if (k6Binary && k6Script) {
        // k6 is a process of its own: its RSS from /proc (baseline: a fresh k6 holds nothing yet, ~0).
        let sampler: UsageSampler | undefined;
        const engine = k6Engine({ binary: k6Binary, script: k6Script, profile: 'quick', threshold: DEFAULT_THRESHOLD, cpus: cpus().length });
        const watch = setInterval(() => {
          // The k6 child is the newest process named k6 under this one: sample it once found.
          if (sampler) return;
          const pid = findChildK6();
          if (pid) sampler = new UsageSampler(processReader(pid), 100).start();
        }, 50);
        await record('k6', load, (r) => engine.runStep(r), () => ({ baseline: 0, peak: () => (clearInterval(watch), sampler?.stop(), sampler?.peakRssMiB() ?? 0) }));
      }
    }
  } finally {
    server.stop();
  }
  console.log(
    '\n' +
      table([
        ['engine', 'users', 'rps', 'p95 ms', 'errors', 'generator CPU %', 'CPU µs/s per user', 'peak RSS MiB', 'KiB per user', 'driver-bound'],
        ...rows.map((r) => [r.engine, String(r.users), r.rps.toFixed(0), r.p95Ms.toFixed(1), String(r.errors), r.cpuPct.toFixed(0), r.cpuUsPerUser.toFixed(1), r.memoryMiB.toFixed(0), r.kibPerUser.toFixed(1), r.bound]),
      ]),
  );
  for (const engine of ['node', 'k6']) {
    // Held: not driver-bound, and the step kept the default threshold. The trivial server answers in well under a
    // millisecond, so a step over the line is the generator falling behind even when its CPU reading stays under the
    // rule's share (k6 at thousands of users: 160 % of 2 cores, p95 in seconds).
    const held = rows.filter((r) => r.engine === engine && r.bound === 'no' && r.passed).map((r) => r.users);
    if (rows.some((r) => r.engine === engine)) {
      console.log(`${engine}: most users held (not driver-bound, ${DEFAULT_THRESHOLD.text} kept): ${held.length ? Math.max(...held) : 'none of those tried'}`);
    }
  }
  return 0;
}

/** The pid of a running k6 that is a child of this process. */
function findChildK6(): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'k6' && ppid === process.pid) return Number(entry);
    } catch {
      /* gone */
    }
  }
  return null;
}

if (process.argv.includes('--serve')) {
  serveTrivial();
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
