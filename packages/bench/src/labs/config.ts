import type { ConnectionStrategy } from '@stackbench/contract';
import { PROFILE_NAMES } from '@stackbench/loadtests';
import { cpus } from 'node:os';
import { CliError, intFlag, listFlag, parseFlags } from '../cli-support.js';
import {
  assertBuilt,
  BENCH_OPTIONS,
  methodFields,
  parseEngine,
  parseEnvelope,
  parseMethod,
  parseOutDir,
  parseScaleOut,
  parseRuntimes,
  parseSteps,
  quoteArg,
  type BenchConfig,
  type BenchValues,
  type ComboRun,
} from '../orchestrator/config.js';
import { CPU_LAYOUT_MODES, type CpuLayoutMode } from '../orchestrator/cpu-layout.js';
import { scaleOutPlan } from '../instances.js';
import { allCombinations, appNames, findApp, registry, storeNames } from '../registry.js';
import { allLabFlags, findLab, LAB_NAMES, LABS, type LabDefinition, type LabGroupPlan, type LabOptions } from './catalog.js';

/** One app process of a lab run: a combination, its lab environment and the points it runs. */
export interface LabGroupRun extends ComboRun {
  env: Record<string, string>;
  plan: LabGroupPlan;
}

export interface LabConfig extends BenchConfig {
  lab: {
    definition: LabDefinition;
    options: LabOptions;
    /** Every point runs every one of these loads (virtual users). */
    loads: number[];
    groups: LabGroupRun[];
  };
}

/** bench's flags that make sense for a lab (no --model: labs run closed-model users; no --preset, no --repeats). */
const SHARED = ['apps', 'stores', 'conn', 'runtime', 'engine', 'driver', 'profile', 'threshold', 'max-error-rate', 'think-ms', 'pool-size', 'products', 'steps', 'step-seconds', 'warmup-seconds', 'envelope', 'app-cpus', 'app-memory', 'db-cpus', 'db-memory', 'cpu-layout', 'instances', 'lb', 'instance-budget', 'cpu-prof', 'cpu-prof-load', 'out', 'help'] as const;

const LAB_OPTIONS = {
  ...Object.fromEntries(SHARED.map((k) => [k, BENCH_OPTIONS[k]])),
  ...Object.fromEntries(allLabFlags().map((k) => [k, { type: 'string' }])),
} as Record<string, { type: 'string' | 'boolean'; default?: string; short?: string }>;

export function labUsage(name?: string): string {
  const labs = name ? [findLab(name)] : Object.values(LABS);
  const flags = labs
    .map(
      (l) =>
        `  ${l.name}: ${l.summary}\n` +
        Object.entries(l.flags)
          .map(([flag, f]) => `    --${flag.padEnd(14)} ${f.help} (default ${f.default})`)
          .join('\n') +
        `\n    loads: ${PROFILE_NAMES.map((p) => `${p} ${l.loads[p].join(',')}`).join('; ')}`,
    )
    .join('\n');
  return `usage: stackbench lab <${LAB_NAMES.join('|')}> [flags]

Starts the apps with their lab routes on (/lab/..., 404 otherwise), runs the contract suite, then every point of the
lab at every load of a fixed list (--steps to change it), and writes results.json and a report section per lab.

labs and their flags
${flags}

flags shared with bench (see stackbench bench --help)
  --apps --stores --conn --runtime --engine --profile --threshold --max-error-rate --think-ms --pool-size --products
  --steps (the loads) --step-seconds --warmup-seconds --envelope --app-cpus --app-memory --db-cpus --db-memory
  --cpu-layout --instances --lb --instance-budget --out
  --cpu-prof [--cpu-prof-load N]: one extra step per point at the top load (or N) with the app's CPU profiler on
  defaults: the probe app (${registry().probe}) on ${registry().baseline.store} + ${registry().baseline.conn} (payload: every app and every store
  that is not a variant); cpu and fanout give the app every core (--app-cpus), the others the envelope's default`;
}

function labSelection(lab: LabDefinition, values: BenchValues) {
  const reg = registry();
  const apps = listFlag(values.apps, 'apps', appNames(reg), lab.defaultApps === 'all' ? appNames(reg) : [reg.probe]);
  const plainStores = reg.stores.filter((s) => s.variantOf === null).map((s) => s.name);
  const stores = listFlag(values.stores, 'stores', storeNames(reg), lab.defaultStores === 'all' ? plainStores : [reg.baseline.store]);
  const conns = listFlag(values.conn, 'conn', reg.conns, [reg.baseline.conn]) as ConnectionStrategy[];
  const want = new Set(apps.flatMap((app) => stores.flatMap((store) => conns.map((conn) => `${app}|${store}|${conn}`))));
  return allCombinations(reg).filter((c) => want.has(`${c.app}|${c.store}|${c.conn}`));
}

/**
 * Parses and checks every flag of `stackbench lab <name>` before anything starts; a flag of another lab, a value out
 * of a lab route's range or an unknown name is one line and exit 1.
 */
export async function parseLabArgs(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<LabConfig | 'help'> {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h') return 'help';
  // The lab's name comes first: `stackbench lab --profile smoke` has none.
  const lab = findLab(name?.startsWith('-') ? undefined : name);
  const parsed = parseFlags(rest, LAB_OPTIONS).values as Record<string, string | boolean | undefined>;
  if (parsed.help) return 'help';
  const foreign = allLabFlags().filter((f) => parsed[f] !== undefined && !(f in lab.flags));
  if (foreign.length) throw new CliError(`--${foreign[0]} is not a flag of lab ${lab.name} (its flags: ${Object.keys(lab.flags).map((f) => `--${f}`).join(', ')})`);
  const flags = Object.fromEntries(Object.entries(lab.flags).map(([f, d]) => [f, (parsed[f] as string | undefined) ?? d.default]));
  const options = lab.options(flags);

  const values = { ...parsed, model: 'closed' } as unknown as BenchValues;
  const profileName = values.profile as keyof LabDefinition['loads'];
  if (!(PROFILE_NAMES as readonly string[]).includes(profileName)) throw new CliError(`unknown profile "${values.profile}" (known: ${PROFILE_NAMES.join(', ')})`);
  const loads = values.steps !== undefined ? parseSteps(values.steps) : lab.loads[profileName];
  // The method with the lab's loads as explicit steps (so results.json's method records them), cost at the first.
  const method = parseMethod({ ...values, steps: loads.join(',') });
  if (!(CPU_LAYOUT_MODES as readonly string[]).includes(values['cpu-layout'])) throw new CliError(`unknown cpu layout "${values['cpu-layout']}" (known: ${CPU_LAYOUT_MODES.join(', ')})`);
  const engine = parseEngine(values, env);
  const envelope = parseEnvelope(values);
  if (envelope && lab.appCpusDefault === 'all' && values['app-cpus'] === undefined) envelope.appCpus = cpus().length;
  const combinations = labSelection(lab, values);
  assertBuilt(combinations);
  const runtimes = await parseRuntimes(values.runtime);
  const { outDir, defaultOut } = parseOutDir(values.out, env);

  const scaleOut = parseScaleOut(values);
  const cpuProfileLoad = intFlag(values['cpu-prof-load'], 'cpu-prof-load', 1, 100_000);
  if (scaleOut && (values['cpu-prof'] || cpuProfileLoad !== undefined)) throw new CliError('--cpu-prof profiles one process: leave out --instances');
  const groups: LabGroupRun[] = [];
  for (const runtime of runtimes) {
    for (const c of combinations) {
      const app = findApp(c.app);
      for (const scale of scaleOutPlan(scaleOut?.counts ?? null, scaleOut?.balancers ?? [])) {
        for (const plan of lab.groups(options, app)) {
          groups.push({ app, store: c.store, conn: c.conn, runtime, repeat: 1, scale, env: { STACKBENCH_LAB: '1', ...plan.env }, plan });
        }
      }
    }
  }
  if (groups.length === 0) throw new CliError(`lab ${lab.name}: nothing to run (no selected app has the variants asked for: ${String(options.variants ?? '')})`);
  return {
    combinations,
    runtimes,
    repeats: 1,
    runs: groups,
    engine,
    model: 'closed',
    ...methodFields(method),
    envelope,
    preset: null,
    cpuProfile: values['cpu-prof'] || cpuProfileLoad !== undefined ? { load: cpuProfileLoad ?? null } : null,
    outDir,
    defaultOut,
    cpuLayout: values['cpu-layout'] as CpuLayoutMode,
    command: ['stackbench', 'lab', ...args].map(quoteArg).join(' '),
    scaleOut,
    lab: { definition: lab, options, loads, groups },
  };
}
