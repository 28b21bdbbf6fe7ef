import { CliError, parseFlags } from '../cli-support.js';
import { directorySize, installPlanned, listRuntimes, planInstall, runtimesDir, type InstallPlan } from '../runtimes.js';

const USAGE = 'usage: stackbench runtimes install <major|x.y.z>... | runtimes list [--json]';

/**
 * `runtimes install 20 22 24`: every spec is checked (and resolved on the registry) before anything is
 * downloaded; each line printed is the version the binary itself reports.
 * `runtimes list`: the current Node and the installed runtimes.
 */
export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'install') return install(rest);
  if (sub === 'list') return list(rest);
  throw new CliError(sub ? `unknown runtimes subcommand "${sub}"; ${USAGE}` : USAGE);
}

async function install(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {}, true);
  if (positionals.length === 0) throw new CliError('runtimes install needs at least one Node major, e.g. runtimes install 22 24');
  const plans: InstallPlan[] = [];
  for (const spec of [...new Set(positionals)]) plans.push(await planInstall(spec));
  for (const plan of plans) {
    const r = await installPlanned(plan);
    const what = r.status === 'current' ? 'the Node running stackbench' : r.status === 'installed' ? 'installed' : 'already installed';
    console.log(`node ${plan.spec.text.padEnd(8)} v${r.version.padEnd(9)} ${what}: ${r.binary}`);
  }
  return 0;
}

async function list(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean' } });
  const dir = runtimesDir();
  const installed = await listRuntimes({ dir });
  const current = { spec: 'current', version: process.versions.node, binary: process.execPath };
  if (values.json) {
    console.log(JSON.stringify({ runtimesDir: dir, current, installed }, null, 2));
    return 0;
  }
  console.log(`runtimes directory: ${dir}${process.env.STACKBENCH_RUNTIMES_DIR ? ' (STACKBENCH_RUNTIMES_DIR)' : ''}`);
  console.log(`  ${'current'.padEnd(9)} v${current.version.padEnd(9)} ${current.binary}`);
  for (const r of installed) {
    const mb = Math.round((await directorySize(r.dir)) / 1e6);
    console.log(`  ${r.spec.padEnd(9)} v${r.version.padEnd(9)} ${r.binary} (${r.package}, ${mb} MB)`);
  }
  if (installed.length === 0) console.log('  (none installed: npx stackbench runtimes install 22 24)');
  return 0;
}
