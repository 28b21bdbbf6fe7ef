import type { ConnectionStrategy } from '@stackbench/contract';
import { productCount as checkProductCount } from '@stackbench/db';
import {
  DEFAULT_ERROR_RATE_LIMIT,
  DEFAULT_LATENCY_THRESHOLD,
  formatLatencyCondition,
  isProfileName,
  parseThreshold,
  PROFILE_NAMES,
  resolveProfile,
  type PlanProfile,
  type Threshold,
} from '@stackbench/loadtests';
import { resultsSchema } from '@stackbench/report';
import { STORES, type StoreName } from '@stackbench/server';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { CliError, intFlag, listFlag, parseFlags } from '../cli-support.js';
import { allCombinations, APP_NAMES, appMainPath, CONNECTION_STRATEGIES, findApp, STORE_NAMES, type AppEntry, type Combination } from '../registry.js';
import { resolveNodeBinary, type SelectedRuntime } from '../runtime-select.js';
import { CPU_LAYOUT_MODES, type CpuLayoutMode } from './cpu-layout.js';
import { repoRoot } from './environment.js';
import { findK6Script } from './k6.js';

export type DriverName = 'node' | 'k6';

export interface RuntimeChoice extends SelectedRuntime {
  /** As given on the command line ("current", "24", ...). */
  spec: string;
}

/** One measured unit: a combination on one runtime, one repeat. */
export interface ComboRun {
  app: AppEntry;
  store: StoreName;
  conn: ConnectionStrategy;
  runtime: RuntimeChoice;
  repeat: number;
}

export interface BenchConfig {
  combinations: Combination[];
  runtimes: RuntimeChoice[];
  repeats: number;
  /** Every run in execution order: repeat-major (repeat 1 of everything, then repeat 2 ...), so drift spreads. */
  runs: ComboRun[];
  driver: DriverName;
  /** Why the driver was chosen (auto). */
  driverNote: string;
  k6?: { binary: string; script: string };
  profile: PlanProfile;
  threshold: Threshold;
  /** Canonical latency threshold for results.json, e.g. "p95<100". */
  thresholdText: string;
  thinkMs: number;
  poolSize: number;
  products: number;
  outDir: string;
  /** True when --out was not given (a fresh timestamped directory). */
  defaultOut: boolean;
  cpuLayout: CpuLayoutMode;
  /** The command line, for results.json. */
  command: string;
}

/** Framework, connection-strategy and ORM questions in one quick run (8 combinations). */
export const DEFAULT_SELECTION: readonly Combination[] = [
  ...APP_NAMES.map((app) => ({ app, store: 'pg' as StoreName, conn: 'pool' as ConnectionStrategy })),
  { app: 'fastify', store: 'pg', conn: 'per-request' },
  { app: 'fastify', store: 'drizzle', conn: 'pool' },
  { app: 'fastify', store: 'typeorm', conn: 'pool' },
];

const key = (c: Combination) => `${c.app}|${c.store}|${c.conn}`;

/** The selection in the registry's fixed order (app, then store, then connection strategy). */
export function orderCombinations(selected: readonly Combination[]): Combination[] {
  const want = new Set(selected.map(key));
  return allCombinations().filter((c) => want.has(key(c)));
}

export const BENCH_USAGE = `usage: stackbench bench [flags]

  --apps A,B|all        apps (${APP_NAMES.join(', ')})
  --stores S,T|all      stores (${STORE_NAMES.join(', ')}); default pg when --apps or --conn is given
  --conn C,D|all        connection strategies (${CONNECTION_STRATEGIES.join(', ')}); default pool when --apps or --stores is given
                        (none of the three: all apps on pg+pool, fastify on pg+per-request, drizzle+pool, typeorm+pool)
  --runtime R,S         Node runtimes for the apps: current (default), or majors installed by \`stackbench runtimes\`
  --driver D            node | k6 | auto (default auto: k6 when on PATH, else node)
  --profile P           ${PROFILE_NAMES.join(' | ')} (default quick)
  --threshold T         latency threshold of a step, e.g. p95<100 (default ${DEFAULT_LATENCY_THRESHOLD})
  --max-error-rate E    error-rate limit of a step, e.g. 1% (default ${DEFAULT_ERROR_RATE_LIMIT})
  --think-ms N          pause between a user's requests (default 0: closed loop)
  --pool-size N         pool size for the pool strategy (default 10)
  --products N          seeded products (default 10000)
  --repeats N           runs of each combination (default: the profile's, 1 for smoke/quick, 3 for full)
  --cpu-layout L        auto | pinned | shared (default auto: with 4+ CPUs pin the app and the driver to different CPUs
                        with taskset; with fewer, share)
  --out DIR             run directory (default results/runs/<timestamp>/)`;

/** Finds an executable on PATH (no shell). */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      /* next */
    }
  }
  return null;
}

const require = createRequire(import.meta.url);

/** The compiled entry of a workspace package (resolution fails when the file is missing), or null. */
function packageEntry(pkg: string): string | null {
  try {
    return require.resolve(pkg);
  } catch {
    return null;
  }
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function timestampId(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

/**
 * Parses and checks every flag of `stackbench bench` before anything starts: names, numbers, the threshold, the
 * runtimes, the driver (k6 on PATH and its script built), that every selected app and store is built, and the output
 * directory. Any problem is a one-line CliError.
 */
export async function parseBenchArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<BenchConfig | 'help'> {
  const { values } = parseFlags(args, {
    apps: { type: 'string' },
    stores: { type: 'string' },
    conn: { type: 'string' },
    runtime: { type: 'string', default: 'current' },
    driver: { type: 'string', default: 'auto' },
    profile: { type: 'string', default: 'quick' },
    threshold: { type: 'string', default: DEFAULT_LATENCY_THRESHOLD },
    'max-error-rate': { type: 'string', default: DEFAULT_ERROR_RATE_LIMIT },
    'think-ms': { type: 'string' },
    'pool-size': { type: 'string' },
    products: { type: 'string' },
    repeats: { type: 'string' },
    'cpu-layout': { type: 'string', default: 'auto' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return 'help';

  // Selection.
  let combinations: Combination[];
  if (values.apps === undefined && values.stores === undefined && values.conn === undefined) {
    combinations = orderCombinations(DEFAULT_SELECTION);
  } else {
    const apps = listFlag(values.apps, 'apps', APP_NAMES, APP_NAMES);
    const stores = listFlag(values.stores, 'stores', STORE_NAMES, ['pg']) as StoreName[];
    const conns = listFlag(values.conn, 'conn', CONNECTION_STRATEGIES, ['pool']) as ConnectionStrategy[];
    combinations = orderCombinations(apps.flatMap((app) => stores.flatMap((store) => conns.map((conn) => ({ app, store, conn })))));
  }

  if (!isProfileName(values.profile)) throw new CliError(`unknown profile "${values.profile}" (known: ${PROFILE_NAMES.join(', ')})`);
  let threshold: Threshold;
  try {
    threshold = parseThreshold(values.threshold, values['max-error-rate']);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const thresholdText = threshold.latency.map(formatLatencyCondition).join(',');
  // results.json records one condition in a fixed form; refuse what it cannot record rather than fail after the run.
  const pattern = ((resultsSchema.$defs as Record<string, any>)?.method?.properties?.threshold?.pattern as string | undefined) ?? '';
  if (pattern && !new RegExp(pattern).test(thresholdText)) {
    throw new CliError(`--threshold "${values.threshold}" cannot be recorded in results.json (it takes one condition like p95<100: p50|p90|p95|p99, <, milliseconds)`);
  }

  const thinkMs = intFlag(values['think-ms'], 'think-ms', 0, 60_000) ?? 0;
  const poolSize = intFlag(values['pool-size'], 'pool-size', 1, 1000) ?? 10;
  const products = intFlag(values.products, 'products', 1, 10_000_000) ?? 10_000;
  try {
    checkProductCount({ products });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const profile = resolveProfile(values.profile);
  const repeats = intFlag(values.repeats, 'repeats', 1, 50) ?? profile.repeats;
  if (!(CPU_LAYOUT_MODES as readonly string[]).includes(values['cpu-layout'])) {
    throw new CliError(`unknown cpu layout "${values['cpu-layout']}" (known: ${CPU_LAYOUT_MODES.join(', ')})`);
  }

  // Driver.
  if (!['node', 'k6', 'auto'].includes(values.driver)) throw new CliError(`unknown driver "${values.driver}" (known: node, k6, auto)`);
  let driver: DriverName;
  let driverNote: string;
  let k6: BenchConfig['k6'];
  const k6Binary = findOnPath('k6', env.PATH);
  if (values.driver === 'k6') {
    if (!k6Binary) throw new CliError('--driver k6: no `k6` binary on PATH (install k6 from https://grafana.com/docs/k6/latest/set-up/install-k6/, or use --driver node)');
    const script = findK6Script();
    if (!script) throw new CliError('--driver k6: the k6 script is not built (loadtests/dist/k6/*.js missing: run `npm run build`)');
    driver = 'k6';
    k6 = { binary: k6Binary, script };
    driverNote = `k6 (${k6Binary})`;
  } else if (values.driver === 'auto' && k6Binary && findK6Script()) {
    driver = 'k6';
    k6 = { binary: k6Binary, script: findK6Script()! };
    driverNote = `k6 (auto: found ${k6Binary})`;
  } else {
    driver = 'node';
    driverNote = values.driver === 'auto' ? `node (auto: ${k6Binary ? 'k6 script not built' : 'no k6 on PATH'})` : 'node';
  }

  // Everything selected must be built: an unbuilt app would only fail after the database started.
  for (const name of new Set(combinations.map((c) => c.app))) {
    const main = appMainPath(findApp(name));
    if (!existsSync(main)) throw new CliError(`app "${name}" is not built (${main} is missing): run \`npm run build\``);
  }
  for (const store of new Set(combinations.map((c) => c.store))) {
    if (!packageEntry(STORES[store].package)) throw new CliError(`store "${store}" is not built (${STORES[store].package} has no compiled entry): run \`npm run build\``);
  }

  // Runtimes (each resolved once; two specs naming the same binary count once).
  const runtimes: RuntimeChoice[] = [];
  const specs = values.runtime.split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length === 0) throw new CliError('--runtime needs at least one runtime (current, or a major such as 24)');
  for (const spec of specs) {
    let r: SelectedRuntime;
    try {
      r = await resolveNodeBinary(spec);
    } catch (err) {
      throw new CliError(`runtime "${spec}": ${(err as Error).message.split('\n')[0]}`);
    }
    if (!runtimes.some((x) => x.binary === r.binary)) runtimes.push({ ...r, spec });
  }

  // Output directory: relative to where the user typed the command. npm and turbo change the cwd, and the npm
  // that turbo starts in packages/bench resets INIT_CWD, so the root script passes STACKBENCH_CWD.
  const base = env.STACKBENCH_CWD ?? env.INIT_CWD ?? process.cwd();
  let outDir: string;
  const defaultOut = values.out === undefined;
  if (values.out !== undefined) {
    if (!values.out.trim()) throw new CliError('--out needs a directory');
    outDir = isAbsolute(values.out) ? values.out : resolve(base, values.out);
  } else {
    const root = repoRoot() ?? base;
    outDir = join(root, 'results', 'runs', timestampId());
    for (let i = 2; existsSync(outDir); i++) outDir = join(root, 'results', 'runs', `${timestampId()}-${i}`);
  }
  if (existsSync(join(outDir, 'results.json'))) throw new CliError(`${outDir} already holds a results.json: choose another --out`);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new CliError(`--out ${outDir} is not a directory`);

  const runs: ComboRun[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const c of combinations) {
      for (const runtime of runtimes) runs.push({ app: findApp(c.app), store: c.store, conn: c.conn, runtime, repeat });
    }
  }

  return {
    combinations,
    runtimes,
    repeats,
    runs,
    driver,
    driverNote,
    k6,
    profile,
    threshold,
    thresholdText,
    thinkMs,
    poolSize,
    products,
    outDir,
    defaultOut,
    cpuLayout: values['cpu-layout'] as CpuLayoutMode,
    command: ['stackbench', 'bench', ...args].map(quoteArg).join(' '),
  };
}
