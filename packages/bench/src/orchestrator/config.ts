import type { ConnectionStrategy } from '@stackbench/contract';
import { productCount as checkProductCount, workspaceRoot } from '@stackbench/db';
import {
  DEFAULT_ERROR_RATE_LIMIT,
  DEFAULT_LATENCY_THRESHOLD,
  findK6Script,
  isProfileName,
  LOAD_MODELS,
  parseThreshold,
  PROFILE_NAMES,
  PROFILES,
  resolveProfile,
  type LoadModel,
  type PlanProfile,
  type ProfileOverrides,
  type Threshold,
} from '@stackbench/loadtests';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { CliError, intFlag, listFlag, parseFlags } from '../cli-support.js';
import { DEFAULT_ENVELOPE, type EnvelopeRequest } from '../envelope.js';
import { allCombinations, appMainPath, appNames, defaultSelection, findApp, findStore, registry, storeNames, type AppEntry, type Combination } from '../registry.js';
import { resolveNodeBinary, type SelectedRuntime } from '../runtime-select.js';
import { CPU_LAYOUT_MODES, type CpuLayoutMode } from './cpu-layout.js';
import { parseBalancers, parseInstances, scaleOutPlan, type LoadBalancer, type ScaleOut } from '../instances.js';

export type EngineName = 'node' | 'k6';

export interface RuntimeChoice extends SelectedRuntime {
  /** As given on the command line ("current", "24", ...). */
  spec: string;
}

/** One measured unit: a combination on one runtime, one repeat. */
export interface ComboRun {
  app: AppEntry;
  store: string;
  conn: ConnectionStrategy;
  runtime: RuntimeChoice;
  repeat: number;
  /** Extra environment of the app process (labs: STACKBENCH_LAB=1 and the lab's settings). */
  env?: Readonly<Record<string, string>>;
  /** Scale-out: N instances behind a balancer (null: one plain process). */
  scale: ScaleOut | null;
}

export interface EngineChoice {
  name: EngineName;
  /** Why this engine (for the run's header). */
  note: string;
  k6?: { binary: string; script: string };
}

export interface BenchConfig {
  combinations: Combination[];
  runtimes: RuntimeChoice[];
  repeats: number;
  /** Every run in execution order: repeat-major (repeat 1 of everything, then repeat 2 ...), so drift spreads. */
  runs: ComboRun[];
  engine: EngineChoice;
  model: LoadModel;
  profile: PlanProfile;
  threshold: Threshold;
  thinkMs: number;
  poolSize: number;
  products: number;
  /** The resource envelope to apply, or null for `--envelope none`. */
  envelope: EnvelopeRequest | null;
  /** A named preset the flags came from (null when none). */
  preset: string | null;
  /** --cpu-prof: profile the app during one extra step at this load (null: the breakpoint's); absent: no profiling. */
  cpuProfile: { load: number | null } | null;
  outDir: string;
  /** True when --out was not given (a fresh timestamped directory). */
  defaultOut: boolean;
  cpuLayout: CpuLayoutMode;
  /** The command line, for results.json. */
  command: string;
  /** --instances / --lb: every combination runs as one process, then at each count behind each balancer. */
  scaleOut: ScaleOutConfig | null;
}

export interface ScaleOutConfig {
  counts: number[];
  balancers: LoadBalancer[];
  /** shared: the instances share the app's budget; each: every instance gets it (the app's cgroup gets N budgets). */
  budget: 'shared' | 'each';
}

export function benchUsage(): string {
  return `usage: stackbench bench [flags]

selection
  --apps A,B|all        apps (${appNames().join(', ')})
  --stores S,T|all      stores (${storeNames().join(', ')}); default ${registry().baseline.store} when --apps or --conn is given
  --conn C,D|all        connection strategies (${registry().conns.join(', ')}); default ${registry().baseline.conn} when --apps or --stores is given
                        (none of the three: every app on ${registry().baseline.store} + ${registry().baseline.conn}, and ${registry().probe} on every other store and strategy)
  --runtime R,S         Node runtimes for the apps: current (default), or majors installed by \`stackbench runtimes\`
method
  --engine E            node (default: the embedded driver) | k6 (K6_BIN, else k6 on PATH) | auto (k6 when found)
  --model M             closed (default: virtual users) | open (arrival rate of journeys per second)
  --profile P           ${PROFILE_NAMES.join(' | ')} (default quick)
  --threshold T         latency threshold of a step: avg|p50|p90|p95|p99|max, < or <=, ms; several joined by commas
                        (default ${DEFAULT_LATENCY_THRESHOLD}; e.g. avg<50 or p95<100,p99<=250)
  --max-error-rate E    error-rate limit of a step, e.g. 1% (default ${DEFAULT_ERROR_RATE_LIMIT})
  --think-ms N          pause between a user's requests (default 0: closed loop)
  --repeats N           runs of each combination (default: the profile's, 1 for smoke/quick, 3 for full)
  --steps L,M,N         explicit loads instead of the profile's growth (users, or journeys/s with --model open),
                        then bisection between the last passing and the first failing one, e.g. 40,50,60,70,80
  --step-seconds N      measured seconds per step (default: the profile's); --warmup-seconds N likewise
  --preset article      the Django-vs-FastAPI article's method: think time, users 40..80 then onwards, avg<100, a
                        fresh database per combination (see the README); every flag above still overrides it
  --pool-size N         pool size for the pool strategy (default 10)
  --products N          seeded products (default 10000)
envelope (Linux cgroups; see the README)
  --envelope E          cgroup (default) | none (unconfined: app, PostgreSQL and load generator fight over the CPUs)
  --app-cpus N          CPU quota of the app in cores (default ${DEFAULT_ENVELOPE.appCpus}; "max" for none)
  --app-memory M        memory limit of the app, e.g. 512M, 1G (default ${DEFAULT_ENVELOPE.appMemoryMiB}M; "max" for none)
  --db-cpus N           CPU quota of PostgreSQL (default ${DEFAULT_ENVELOPE.dbCpus}); embedded PostgreSQL only
  --db-memory M         memory limit of PostgreSQL (default ${DEFAULT_ENVELOPE.dbMemoryMiB}M)
profiling
  --cpu-prof            after the plan, one extra step at the breakpoint with the app's V8 CPU profiler on: a
                        .cpuprofile, an SVG flame graph and where the CPU went, per combination (planned steps unprofiled)
  --cpu-prof-load N     profile at N users (or journeys/s) instead of the breakpoint (implies --cpu-prof)
scale-out
  --instances N,M       also run each combination as N, M ... instances (after one plain process), e.g. 1,2,3
  --lb B,C              cluster (default: node:cluster workers sharing the port) | nginx (N processes behind nginx
                        least_conn with upstream keep-alive; nginx must be installed)
  --instance-budget B   each (default: every instance gets the app's CPU and memory) | shared (one budget for all)
output
  --cpu-layout L        auto | pinned | shared (default auto: with 4+ CPUs pin the app and the generator apart)
  --out DIR             run directory (default results/runs/<timestamp>/)`;
}

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

/** k6: K6_BIN when set (it must be executable), else `k6` on PATH, else null. */
export function findK6(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.K6_BIN) {
    try {
      accessSync(env.K6_BIN, constants.X_OK);
      return resolve(env.K6_BIN);
    } catch {
      throw new CliError(`K6_BIN=${env.K6_BIN} is not an executable file`);
    }
  }
  return findOnPath('k6', env.PATH);
}

export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** `2026-05-01T10-00-00Z`: a run directory's name. */
export function timestampId(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

// ---- flag parsers ---------------------------------------------------------------------------------------------

/** "0.5", "2" -> cores; "max" -> null (no quota). */
export function parseCpus(value: string, flag: string): number | null {
  if (value === 'max') return null;
  const n = Number(value);
  const machine = cpus().length;
  if (!/^\d+(\.\d+)?$/.test(value) || !(n >= 0.01) || n > machine) throw new CliError(`--${flag} must be a number of CPUs from 0.01 to ${machine} (or max), got "${value}"`);
  return n;
}

/** "512M", "512MiB", "1G", "1.5GiB", "768" (MiB) -> MiB; "max" -> null. */
export function parseMemoryMiB(value: string, flag: string): number | null {
  if (value === 'max') return null;
  const m = /^(\d+(?:\.\d+)?)\s*(m|mi|mib|mb|g|gi|gib|gb)?$/i.exec(value.trim());
  const mib = m ? Number(m[1]) * (m[2] && m[2].toLowerCase().startsWith('g') ? 1024 : 1) : NaN;
  if (!(mib >= 64) || mib > 1024 * 1024) throw new CliError(`--${flag} must be a size from 64M to 1024G such as 512M or 1G (or max), got "${value}"`);
  return Math.round(mib);
}

// ---- the phases of parseBenchArgs ------------------------------------------------------------------------------

export const BENCH_OPTIONS = {
  apps: { type: 'string' },
  stores: { type: 'string' },
  conn: { type: 'string' },
  runtime: { type: 'string', default: 'current' },
  engine: { type: 'string' },
  driver: { type: 'string' },
  model: { type: 'string', default: 'closed' },
  profile: { type: 'string', default: 'quick' },
  threshold: { type: 'string', default: DEFAULT_LATENCY_THRESHOLD },
  'max-error-rate': { type: 'string', default: DEFAULT_ERROR_RATE_LIMIT },
  'think-ms': { type: 'string' },
  'pool-size': { type: 'string' },
  products: { type: 'string' },
  repeats: { type: 'string' },
  steps: { type: 'string' },
  'step-seconds': { type: 'string' },
  'warmup-seconds': { type: 'string' },
  preset: { type: 'string' },
  envelope: { type: 'string', default: 'cgroup' },
  'app-cpus': { type: 'string' },
  'app-memory': { type: 'string' },
  'db-cpus': { type: 'string' },
  'db-memory': { type: 'string' },
  'cpu-layout': { type: 'string', default: 'auto' },
  'cpu-prof': { type: 'boolean' },
  'cpu-prof-load': { type: 'string' },
  instances: { type: 'string' },
  lb: { type: 'string' },
  'instance-budget': { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type BenchValues = ReturnType<typeof parseFlags<typeof BENCH_OPTIONS>>['values'];
type Values = BenchValues;

/** The combinations: the default selection, or the product of --apps x --stores x --conn. */
export function parseSelection(values: Pick<Values, 'apps' | 'stores' | 'conn'>): Combination[] {
  const reg = registry();
  if (values.apps === undefined && values.stores === undefined && values.conn === undefined) return defaultSelection(reg);
  const apps = listFlag(values.apps, 'apps', appNames(reg), appNames(reg));
  const stores = listFlag(values.stores, 'stores', storeNames(reg), [reg.baseline.store]);
  const conns = listFlag(values.conn, 'conn', reg.conns, [reg.baseline.conn]) as ConnectionStrategy[];
  const want = new Set(apps.flatMap((app) => stores.flatMap((store) => conns.map((conn) => `${app}|${store}|${conn}`))));
  return allCombinations(reg).filter((c) => want.has(`${c.app}|${c.store}|${c.conn}`));
}

/** "40,50,60" -> [40, 50, 60]: strictly ascending positive integers. */
export function parseSteps(value: string): number[] {
  const loads = value.split(',').map((s) => s.trim());
  if (!loads.every((l) => /^\d+$/.test(l) && Number(l) >= 1 && Number(l) <= 100_000)) throw new CliError(`--steps must be positive integers separated by commas, got "${value}"`);
  const numbers = loads.map(Number);
  if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) throw new CliError(`--steps must be strictly ascending, got "${value}"`);
  return numbers;
}

/**
 * Presets: named sets of flags. `article`: the method of the Django-vs-FastAPI article this project grew from
 * (../shared/background.md, item 5), as far as this machine allows:
 * - think time 500 ms between a user's requests: the article's FastAPI broke at 60 users near 100 RPS, i.e. 0.6 s
 *   per request per user (Little's law), of which ~0.1 s was the response (its line was a 100 ms average): 0.5 s;
 * - users 40, 50, 60, 70, 80 as in the article, then onwards (Node on half a CPU holds far more), then bisection;
 * - the line at a 100 ms *average*; errors < 1 %;
 * - steps of 30 s measured after 5 s of warm-up (the article's were ~5 min: --step-seconds 300 for that);
 * - the default envelope, which already has the article's shares (app : PostgreSQL = 1 : 2) scaled to this machine;
 * - a fresh seeded database per combination, as every run does.
 */
export const PRESETS: Record<string, Record<string, string>> = {
  article: {
    'think-ms': '500',
    steps: '40,50,60,70,80,160,320,640,1280,2560,5120',
    threshold: 'avg<100',
    'step-seconds': '30',
    'warmup-seconds': '5',
  },
};

/** The preset's flags under the ones given on the command line (`args`): given flags win, defaults yield. */
export function applyPreset(values: Values, args: string[]): Values {
  if (values.preset === undefined) return values;
  const preset = PRESETS[values.preset];
  if (!preset) throw new CliError(`unknown preset "${values.preset}" (known: ${Object.keys(PRESETS).join(', ')})`);
  const given = (flag: string) => args.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  const merged: Record<string, unknown> = { ...values };
  for (const [flag, value] of Object.entries(preset)) if (!given(flag)) merged[flag] = value;
  return merged as Values;
}

/** Model, profile, threshold and the numbers of the method. */
export function parseMethod(values: Values, overrides: ProfileOverrides = {}) {
  if (!(LOAD_MODELS as readonly string[]).includes(values.model)) throw new CliError(`unknown model "${values.model}" (known: ${LOAD_MODELS.join(', ')})`);
  if (values.steps !== undefined) {
    const steps = parseSteps(values.steps);
    const costAt = Math.max(PROFILES[values.profile as keyof typeof PROFILES]?.[values.model as LoadModel].costAt ?? 1, 0);
    // The cost is read below the breakpoint: at the profile's cost load, or at the first step when the list starts above it.
    overrides = { ...overrides, [values.model]: { ...overrides[values.model as LoadModel], steps, costAt: costAt < steps[0]! ? steps[0]! : costAt } };
  }
  const stepSeconds = intFlag(values['step-seconds'], 'step-seconds', 1, 3600);
  if (stepSeconds !== undefined) overrides = { ...overrides, stepSeconds };
  const warmupSeconds = intFlag(values['warmup-seconds'], 'warmup-seconds', 0, 600);
  if (warmupSeconds !== undefined) overrides = { ...overrides, warmupSeconds, initialWarmupSeconds: Math.max(warmupSeconds, 1) };
  if (!isProfileName(values.profile)) throw new CliError(`unknown profile "${values.profile}" (known: ${PROFILE_NAMES.join(', ')})`);
  let threshold: Threshold;
  try {
    threshold = parseThreshold(values.threshold, values['max-error-rate']);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const products = intFlag(values.products, 'products', 1, 10_000_000) ?? 10_000;
  try {
    checkProductCount({ products });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  let profile: PlanProfile;
  try {
    profile = resolveProfile(values.profile, overrides);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  return {
    model: values.model as LoadModel,
    profile,
    threshold,
    thinkMs: intFlag(values['think-ms'], 'think-ms', 0, 60_000) ?? 0,
    poolSize: intFlag(values['pool-size'], 'pool-size', 1, 1000) ?? 10,
    products,
    repeats: intFlag(values.repeats, 'repeats', 1, 50) ?? profile.repeats,
  };
}

/** The parsed method's figures a configuration carries as they are. */
export function methodFields(method: ReturnType<typeof parseMethod>): Pick<BenchConfig, 'profile' | 'threshold' | 'thinkMs' | 'poolSize' | 'products'> {
  return { profile: method.profile, threshold: method.threshold, thinkMs: method.thinkMs, poolSize: method.poolSize, products: method.products };
}

/**
 * The load engine. The default is the embedded driver, whatever is installed: k6 costs about ten times more CPU per
 * request on the same machine, so a run must not silently change engine because k6 happens to be on PATH.
 */
export function parseEngine(values: Pick<Values, 'engine' | 'driver'>, env: NodeJS.ProcessEnv): EngineChoice {
  if (values.engine !== undefined && values.driver !== undefined && values.engine !== values.driver) throw new CliError('--engine and --driver (its old name) disagree: give one');
  const wanted = values.engine ?? values.driver ?? 'node';
  if (!['node', 'k6', 'auto'].includes(wanted)) throw new CliError(`unknown engine "${wanted}" (known: node, k6, auto)`);
  if (wanted === 'node') return { name: 'node', note: 'embedded driver' };
  const binary = findK6(env);
  const script = findK6Script();
  if (wanted === 'k6') {
    if (!binary) throw new CliError('--engine k6: k6 not found (set K6_BIN, or put k6 on PATH: https://grafana.com/docs/k6/latest/set-up/install-k6/; or use --engine node)');
    if (!script) throw new CliError('--engine k6: the k6 script is not built (loadtests/dist/k6/stepped.js missing: run `npm run build`)');
    return { name: 'k6', note: `k6 (${binary})`, k6: { binary, script } };
  }
  if (binary && script) return { name: 'k6', note: `k6 (auto: found ${binary})`, k6: { binary, script } };
  return { name: 'node', note: `embedded driver (auto: ${binary ? 'k6 script not built' : 'no k6 found'})` };
}

/** The resource envelope asked for, or null for `--envelope none`. */
export function parseEnvelope(values: Pick<Values, 'envelope' | 'app-cpus' | 'app-memory' | 'db-cpus' | 'db-memory'>): EnvelopeRequest | null {
  if (values.envelope === 'none') {
    const given = (['app-cpus', 'app-memory', 'db-cpus', 'db-memory'] as const).filter((k) => values[k] !== undefined);
    if (given.length) throw new CliError(`--envelope none cannot be combined with --${given.join(', --')}`);
    return null;
  }
  if (values.envelope !== 'cgroup') throw new CliError(`unknown envelope "${values.envelope}" (known: cgroup, none)`);
  return {
    appCpus: values['app-cpus'] === undefined ? DEFAULT_ENVELOPE.appCpus : parseCpus(values['app-cpus'], 'app-cpus'),
    appMemoryMiB: values['app-memory'] === undefined ? DEFAULT_ENVELOPE.appMemoryMiB : parseMemoryMiB(values['app-memory'], 'app-memory'),
    dbCpus: values['db-cpus'] === undefined ? DEFAULT_ENVELOPE.dbCpus : parseCpus(values['db-cpus'], 'db-cpus'),
    dbMemoryMiB: values['db-memory'] === undefined ? DEFAULT_ENVELOPE.dbMemoryMiB : parseMemoryMiB(values['db-memory'], 'db-memory'),
  };
}

/** Each runtime resolved once; two specs naming the same binary count once. */
export async function parseRuntimes(spec: string): Promise<RuntimeChoice[]> {
  const runtimes: RuntimeChoice[] = [];
  const specs = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length === 0) throw new CliError('--runtime needs at least one runtime (current, or a major such as 24)');
  for (const s of specs) {
    let r: SelectedRuntime;
    try {
      r = await resolveNodeBinary(s);
    } catch (err) {
      throw new CliError(`runtime "${s}": ${(err as Error).message.split('\n')[0]}`);
    }
    if (!runtimes.some((x) => x.binary === r.binary)) runtimes.push({ ...r, spec: s });
  }
  return runtimes;
}

/** Everything selected must be built: an unbuilt app would only fail after the database started. */
export function assertBuilt(combinations: Combination[]): void {
  for (const name of new Set(combinations.map((c) => c.app))) {
    const main = appMainPath(findApp(name));
    if (!existsSync(main)) throw new CliError(`app "${name}" is not built (${main} is missing): run \`npm run build\``);
  }
  for (const name of new Set(combinations.map((c) => c.store))) {
    const store = findStore(name);
    if (!existsSync(join(store.dir, 'dist'))) throw new CliError(`store "${name}" is not built (${store.package} has no dist/): run \`npm run build\``);
  }
}

/**
 * The run directory: --out relative to where the user typed the command (npm and turbo change the cwd, and the npm
 * that turbo starts in packages/bench resets INIT_CWD, so the root script passes STACKBENCH_CWD), or a fresh
 * results/runs/<timestamp>/.
 */
export function parseOutDir(out: string | undefined, env: NodeJS.ProcessEnv): { outDir: string; defaultOut: boolean } {
  const base = env.STACKBENCH_CWD ?? env.INIT_CWD ?? process.cwd();
  let outDir: string;
  if (out !== undefined) {
    if (!out.trim()) throw new CliError('--out needs a directory');
    outDir = isAbsolute(out) ? out : resolve(base, out);
  } else {
    const root = workspaceRoot() ?? base;
    outDir = join(root, 'results', 'runs', timestampId());
    for (let i = 2; existsSync(outDir); i++) outDir = join(root, 'results', 'runs', `${timestampId()}-${i}`);
  }
  if (existsSync(join(outDir, 'results.json'))) throw new CliError(`${outDir} already holds a results.json: choose another --out`);
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new CliError(`--out ${outDir} is not a directory`);
  return { outDir, defaultOut: out === undefined };
}

/** Repeat-major order: repeat 1 of every combination and runtime, then repeat 2 ..., so drift spreads over all. */
export function planRuns(combinations: Combination[], runtimes: RuntimeChoice[], repeats: number, scales: (ScaleOut | null)[] = [null]): ComboRun[] {
  const runs: ComboRun[] = [];
  for (let repeat = 1; repeat <= repeats; repeat++) {
    for (const c of combinations) for (const runtime of runtimes) for (const scale of scales) runs.push({ app: findApp(c.app), store: c.store, conn: c.conn, runtime, repeat, scale });
  }
  return runs;
}

/** --instances, --lb, --instance-budget (the last two only with the first). */
export function parseScaleOut(values: Pick<Values, 'instances' | 'lb' | 'instance-budget'>): ScaleOutConfig | null {
  const counts = parseInstances(values.instances);
  if (counts === null) {
    const stray = (['lb', 'instance-budget'] as const).filter((k) => values[k] !== undefined);
    if (stray.length) throw new CliError(`--${stray[0]} needs --instances (e.g. --instances 1,2,3)`);
    return null;
  }
  const budget = values['instance-budget'] ?? 'each';
  if (budget !== 'shared' && budget !== 'each') throw new CliError(`--instance-budget must be shared or each, got "${budget}"`);
  return { counts, balancers: parseBalancers(values.lb), budget };
}

/**
 * Parses and checks every flag of `stackbench bench` before anything starts. Any problem is a one-line CliError.
 */
export async function parseBenchArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<BenchConfig | 'help'> {
  const parsed = parseFlags(args, BENCH_OPTIONS).values;
  if (parsed.help) return 'help';
  const values = applyPreset(parsed, args);
  const combinations = parseSelection(values);
  const method = parseMethod(values);
  if (!(CPU_LAYOUT_MODES as readonly string[]).includes(values['cpu-layout'])) {
    throw new CliError(`unknown cpu layout "${values['cpu-layout']}" (known: ${CPU_LAYOUT_MODES.join(', ')})`);
  }
  const engine = parseEngine(values, env);
  const envelope = parseEnvelope(values);
  assertBuilt(combinations);
  const runtimes = await parseRuntimes(values.runtime);
  const { outDir, defaultOut } = parseOutDir(values.out, env);
  const cpuProfileLoad = intFlag(values['cpu-prof-load'], 'cpu-prof-load', 1, 100_000);
  const scaleOut = parseScaleOut(values);
  if (scaleOut && (values['cpu-prof'] || cpuProfileLoad !== undefined)) throw new CliError('--cpu-prof profiles one process: leave out --instances');
  const scales = scaleOutPlan(scaleOut?.counts ?? null, scaleOut?.balancers ?? []);
  return {
    combinations,
    runtimes,
    repeats: method.repeats,
    runs: planRuns(combinations, runtimes, method.repeats, scales),
    engine,
    model: method.model,
    ...methodFields(method),
    envelope,
    preset: values.preset ?? null,
    cpuProfile: values['cpu-prof'] || cpuProfileLoad !== undefined ? { load: cpuProfileLoad ?? null } : null,
    outDir,
    defaultOut,
    cpuLayout: values['cpu-layout'] as CpuLayoutMode,
    command: ['stackbench', 'bench', ...args].map(quoteArg).join(' '),
    scaleOut,
  };
}
