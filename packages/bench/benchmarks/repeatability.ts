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
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Results } from '@stackbench/report';
import { bracket, fmtSpread, peakRps, readRunResults, repoDir, runStackbench, spread, stamp } from './support.js';

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
  const out = resolve(values.out ?? join(repoDir, 'results', 'repeatability', stamp()));
  const args = ['bench', '--apps', values.app, '--stores', values.store, '--conn', values.conn, '--profile', values.profile, '--repeats', values.repeats, '--cpu-layout', values['cpu-layout'], '--out', out];
  console.log(`repeatability: stackbench ${args.join(' ')}\n`);
  const code = await runStackbench(args);
  let results: Results;
  try {
    results = readRunResults(out);
  } catch {
    console.error(`repeatability: no results.json in ${out} (bench exited ${code})`);
    return 1;
  }
  const measured = results.combos.filter((c) => c.status === 'measured');
  const withBreakpoint = measured.filter((c) => c.breakpoint);
  const users = spread(withBreakpoint.map((c) => c.breakpoint!.load));
  const rps = spread(withBreakpoint.map((c) => c.breakpoint!.rps));
  const p95 = spread(withBreakpoint.map((c) => c.breakpoint!.p95Ms));
  const peak = spread(measured.map(peakRps));
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
      breakpointUsers: c.breakpoint?.load ?? null,
      bracket: bracket(c),
      rps: c.breakpoint?.rps ?? null,
      peakRps: peakRps(c),
      p95Ms: c.breakpoint?.p95Ms ?? null,
      driverBoundSteps: c.steps.filter((s) => s.driverBound).map((s) => s.load),
      appAvgCpuPct: c.appUsage?.avgCpuPct ?? null,
    })),
    spread: { users, rps, p95Ms: p95, peakRps: peak },
  };
  const fmt = fmtSpread;
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
    `- peak rps of a passing step: ${fmt(peak, 1)}`,
  ].join('\n');
  writeFileSync(join(out, 'repeatability.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(out, 'repeatability.md'), md + '\n');
  console.log('\n' + md);
  return measured.length === results.combos.length && results.combos.length > 0 ? 0 : 2;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
