/**
 * Repeatability benchmark (not a test): how much does a breakpoint move between identical runs?
 *
 *   npm run bench:repeatability -w @stackbench/bench [-- --app fastify --store pg --conn pool --profile quick --repeats 3
 *                                                       --cpu-layout auto|pinned|shared]
 *
 * Runs `stackbench bench` once with `--repeats N` on one combination (each repeat: fresh seeded database, fresh app
 * process, verification, the planner's steps), then prints the spread of the breakpoint (users, and rps / p95 at the
 * breakpoint) as min / median / max, plus each repeat's bracket [last passing users, first failing users]: the planner
 * cannot resolve a breakpoint finer than that bracket, so a spread within one bracket is the planner's resolution, not
 * noise. A capped breakpoint (every step passed) says nothing about spread, so the peak throughput of each repeat
 * (highest rps of a passing step) is reported too. Writes repeatability.json and repeatability.md beside the run's results.json. DATABASE_URL is used when set
 * (else the embedded database), as for `stackbench bench`.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Combo, Results } from '@stackbench/report';

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to packages/bench/dist/benchmarks/benchmarks/repeatability.js; the CLI is packages/bench/bin.
const packageDir = resolve(here, '..', '..', '..');
const cli = join(packageDir, 'bin', 'stackbench.js');

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

/** [breakpoint users, smallest failing users] of one repeat. */
export function bracket(combo: Combo): [number | null, number | null] {
  const failing = combo.steps.filter((s) => !s.passed).map((s) => s.users);
  return [combo.breakpoint?.users ?? null, failing.length ? Math.min(...failing) : null];
}

function run(args: string[]): Promise<number> {
  return new Promise((resolveExit, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolveExit(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string', default: 'fastify' },
      store: { type: 'string', default: 'pg' },
      conn: { type: 'string', default: 'pool' },
      profile: { type: 'string', default: 'quick' },
      repeats: { type: 'string', default: '3' },
      'cpu-layout': { type: 'string', default: 'auto' },
      out: { type: 'string' },
    },
  });
  const stamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const out = resolve(values.out ?? join(packageDir, '..', '..', 'results', 'repeatability', stamp));
  const args = ['bench', '--apps', values.app, '--stores', values.store, '--conn', values.conn, '--profile', values.profile, '--repeats', values.repeats, '--cpu-layout', values['cpu-layout'], '--out', out];
  console.log(`repeatability: stackbench ${args.join(' ')}\n`);
  const code = await run(args);
  let results: Results;
  try {
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  } catch {
    console.error(`repeatability: no results.json in ${out} (bench exited ${code})`);
    return 1;
  }
  const measured = results.combos.filter((c) => c.status === 'measured');
  const withBreakpoint = measured.filter((c) => c.breakpoint);
  const users = spread(withBreakpoint.map((c) => c.breakpoint!.users));
  const rps = spread(withBreakpoint.map((c) => c.breakpoint!.rps));
  const p95 = spread(withBreakpoint.map((c) => c.breakpoint!.p95Ms));
  const peak = (c: Combo) => Math.max(0, ...c.steps.filter((s) => s.passed).map((s) => s.rps));
  const peakRps = spread(measured.map(peak));
  const summary = {
    combination: `${values.app}+${values.store}+${values.conn}`,
    profile: values.profile,
    runtime: results.combos[0]?.runtime ?? null,
    cpuLayout: results.environment.cpuLayout,
    repeats: results.combos.length,
    measured: measured.length,
    perRepeat: results.combos.map((c) => ({
      repeat: c.repeat,
      status: c.status,
      breakpointUsers: c.breakpoint?.users ?? null,
      bracket: bracket(c),
      rps: c.breakpoint?.rps ?? null,
      peakRps: peak(c),
      p95Ms: c.breakpoint?.p95Ms ?? null,
      driverBoundSteps: c.steps.filter((s) => s.driverBound).map((s) => s.users),
      appAvgCpuPct: c.appUsage?.avgCpuPct ?? null,
    })),
    spread: { users, rps, p95Ms: p95, peakRps },
  };
  const fmt = (s: Spread | null, d = 0) => (s ? `${s.min.toFixed(d)} / ${s.median.toFixed(d)} / ${s.max.toFixed(d)} (spread ${(s.relative * 100).toFixed(0)} % of the median)` : '-');
  const md = [
    `# Repeatability: ${summary.combination}, profile ${summary.profile}, ${summary.repeats} repeats`,
    '',
    `Run: ${out} (runId ${results.runId}, Node ${summary.runtime}). CPU layout: ${summary.cpuLayout}`,
    '',
    '| repeat | status | breakpoint users | bracket [pass, fail] | rps | p95 ms | peak rps | driver-bound steps | app CPU % |',
    '| ---: | --- | ---: | --- | ---: | ---: | ---: | --- | ---: |',
    ...summary.perRepeat.map(
      (r) =>
        `| ${r.repeat} | ${r.status} | ${r.breakpointUsers ?? '-'} | [${r.bracket[0] ?? '-'}, ${r.bracket[1] ?? '-'}] | ${r.rps ?? '-'} | ${r.p95Ms ?? '-'} | ${r.peakRps} | ${r.driverBoundSteps.join(', ') || '-'} | ${r.appAvgCpuPct ?? '-'} |`,
    ),
    '',
    `- breakpoint users min / median / max: ${fmt(users)}`,
    `- rps at the breakpoint: ${fmt(rps, 1)}`,
    `- p95 at the breakpoint (ms): ${fmt(p95, 1)}`,
    `- peak rps of a passing step: ${fmt(peakRps, 1)}`,
  ].join('\n');
  writeFileSync(join(out, 'repeatability.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(out, 'repeatability.md'), md + '\n');
  console.log('\n' + md);
  return measured.length === results.combos.length && results.combos.length > 0 ? 0 : 2;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
