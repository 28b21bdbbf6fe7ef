/**
 * Engines side by side (not a test): the same combination measured by the embedded driver and by k6, alternating
 * (node, k6, k6, node, ...) so that drift spreads over both, under the default resource envelope.
 *
 *   npm run bench:engines -w @stackbench/bench [-- --apps fastify,express --rounds 2 --profile quick]
 *
 * Prints, per combination, each engine's breakpoints and peak rps (median over its rounds), the k6/node ratios, each
 * engine's own CPU per request (its CPU over the measured windows ÷ the requests), and the app's CPU per request at
 * the cost load — the figure that shows whether the engine itself changes what the app does. Needs k6 (K6_BIN, else
 * k6 on PATH). Writes engines.json and engines.md under results/engines/<timestamp>/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Combo } from '@stackbench/report';
import { peakRps, readRunResults, repoDir, runStackbench, spread, stamp, table } from './support.js';

type Engine = 'node' | 'k6';

/** The engine's CPU microseconds per request over every measured step. */
export function engineUsPerRequest(combo: Combo): number | null {
  let cpuSeconds = 0;
  let requests = 0;
  for (const s of combo.steps) {
    cpuSeconds += (s.driver.cpuPct / 100) * s.seconds;
    requests += s.requests;
  }
  return requests > 0 ? (cpuSeconds * 1e6) / requests : null;
}

interface Round {
  engine: Engine;
  round: number;
  status: string;
  breakpoint: number | null;
  peakRps: number;
  engineUsPerRequest: number | null;
  appUsPerRequest: number | null;
  dbUsPerRequest: number | null;
  driverBoundSteps: number[];
}

const median = (values: Array<number | null>) => spread(values.filter((v): v is number => v !== null))?.median ?? null;
const ratio = (a: number | null, b: number | null) => (a !== null && b !== null && b > 0 ? a / b : null);
const f = (n: number | null, d = 0) => (n === null ? '-' : n.toFixed(d));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      apps: { type: 'string', default: 'fastify,express' },
      store: { type: 'string', default: 'pg' },
      conn: { type: 'string', default: 'pool' },
      profile: { type: 'string', default: 'quick' },
      rounds: { type: 'string', default: '2' },
      out: { type: 'string' },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) throw new Error('--rounds must be 1..10');
  const out = resolve(values.out ?? join(repoDir, 'results', 'engines', stamp()));
  mkdirSync(out, { recursive: true });
  const summary: Record<string, { rounds: Round[]; node: Record<string, number | null>; k6: Record<string, number | null>; ratios: Record<string, number | null> }> = {};
  const lines: string[] = [`# Engines side by side (${values.profile}, ${rounds} round${rounds === 1 ? '' : 's'} per engine, alternating)`, ''];

  for (const app of values.apps.split(',')) {
    const combination = `${app}+${values.store}+${values.conn}`;
    const runs: Round[] = [];
    for (let round = 1; round <= rounds; round++) {
      // node, k6 then k6, node: each engine goes first as often as the other.
      const order: Engine[] = round % 2 === 1 ? ['node', 'k6'] : ['k6', 'node'];
      for (const engine of order) {
        const dir = join(out, `${app}-${engine}-${round}`);
        console.log(`\n== ${combination}, ${engine}, round ${round}`);
        await runStackbench(['bench', '--apps', app, '--stores', values.store, '--conn', values.conn, '--profile', values.profile, '--engine', engine, '--out', dir]);
        const combo = readRunResults(dir).combos[0];
        if (!combo) continue;
        runs.push({
          engine,
          round,
          status: combo.status,
          breakpoint: combo.breakpoint?.load ?? null,
          peakRps: peakRps(combo),
          engineUsPerRequest: engineUsPerRequest(combo),
          appUsPerRequest: combo.cost?.appCpuUsPerRequest ?? null,
          dbUsPerRequest: combo.cost?.dbCpuUsPerRequest ?? null,
          driverBoundSteps: combo.steps.filter((s) => s.driverBound).map((s) => s.load),
        });
      }
    }
    const of = (engine: Engine) => {
      const r = runs.filter((x) => x.engine === engine && x.status === 'measured');
      return {
        breakpoint: median(r.map((x) => x.breakpoint)),
        peakRps: median(r.map((x) => x.peakRps)),
        engineUsPerRequest: median(r.map((x) => x.engineUsPerRequest)),
        appUsPerRequest: median(r.map((x) => x.appUsPerRequest)),
        dbUsPerRequest: median(r.map((x) => x.dbUsPerRequest)),
      };
    };
    const node = of('node');
    const k6 = of('k6');
    const ratios = { breakpoint: ratio(k6.breakpoint, node.breakpoint), peakRps: ratio(k6.peakRps, node.peakRps), appUsPerRequest: ratio(k6.appUsPerRequest, node.appUsPerRequest) };
    summary[combination] = { rounds: runs, node, k6, ratios };
    lines.push(
      `## ${combination}`,
      '',
      '```',
      table([
        ['engine', 'round', 'status', 'breakpoint', 'peak rps', 'engine µs/req', 'app µs/req', 'db µs/req', 'driver-bound steps'],
        ...runs.map((r) => [r.engine, String(r.round), r.status, f(r.breakpoint), f(r.peakRps), f(r.engineUsPerRequest), f(r.appUsPerRequest), f(r.dbUsPerRequest), r.driverBoundSteps.join(',') || '-']),
      ]),
      '```',
      '',
      `- median breakpoint: node ${f(node.breakpoint)}, k6 ${f(k6.breakpoint)} (k6/node ${f(ratios.breakpoint, 2)}; goal: within 10 %)`,
      `- median peak rps: node ${f(node.peakRps)}, k6 ${f(k6.peakRps)} (k6/node ${f(ratios.peakRps, 2)}; goal: within 5 %)`,
      `- load generator CPU per request: node ${f(node.engineUsPerRequest)} µs, k6 ${f(k6.engineUsPerRequest)} µs`,
      `- app CPU per request at the cost load: node ${f(node.appUsPerRequest)} µs, k6 ${f(k6.appUsPerRequest)} µs (k6/node ${f(ratios.appUsPerRequest, 2)})`,
      '',
    );
  }
  writeFileSync(join(out, 'engines.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(join(out, 'engines.md'), lines.join('\n') + '\n');
  console.log('\n' + lines.join('\n'));
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
