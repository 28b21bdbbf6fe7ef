import { parseFlags } from '../cli-support.js';
import { installedVersion, registry } from '../registry.js';

/** `stackbench list`: what the registry holds (see @stackbench/server's registry), with installed versions. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean' }, markdown: { type: 'boolean' } });
  const reg = registry();
  const CONNECTION_STRATEGIES = reg.conns;
  const apps = reg.apps.map((a) => ({
    name: a.name,
    framework: a.frameworkPackage ? `${a.framework} ${installedVersion(a.frameworkPackage, a.dir) ?? '?'}` : a.framework,
    adapter: a.adapter,
    validation: a.validation,
    serialization: a.serialization,
  }));
  const stores = reg.stores.map((s) => ({ name: s.name, library: `${s.library} ${installedVersion(s.library, s.dir) ?? '?'}`, description: s.description }));
  const combinations = apps.length * stores.length * CONNECTION_STRATEGIES.length;
  if (values.markdown) {
    console.log(matrixMarkdown(apps, stores, CONNECTION_STRATEGIES));
    return 0;
  }
  if (values.json) {
    console.log(JSON.stringify({ apps, stores, connectionStrategies: CONNECTION_STRATEGIES, combinations }, null, 2));
    return 0;
  }
  console.log('apps:');
  for (const a of apps) console.log(`  ${a.name.padEnd(13)} ${a.framework}${a.adapter !== '-' ? ` on ${a.adapter}` : ''}; validation: ${a.validation}; serialization: ${a.serialization}`);
  console.log('stores:');
  for (const s of stores) console.log(`  ${s.name.padEnd(13)} ${s.library}: ${s.description}`);
  console.log(`connection strategies: ${CONNECTION_STRATEGIES.join(', ')}`);
  console.log(`combinations: ${apps.length} apps x ${stores.length} stores x ${CONNECTION_STRATEGIES.length} strategies = ${combinations}`);
  return 0;
}

type AppRow = { name: string; framework: string; adapter: string; validation: string; serialization: string };
type StoreRow = { name: string; library: string; description: string };

/** The README's matrix table: one row per combination, generated from the registry. */
export function matrixMarkdown(apps: AppRow[], stores: StoreRow[], conns: readonly string[] = registry().conns): string {
  const rows = [
    '| # | app | framework | adapter | validation | serialization | store | data library | connection |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  let n = 0;
  for (const a of apps) {
    for (const s of stores) {
      for (const conn of conns) {
        rows.push(`| ${++n} | ${a.name} | ${a.framework} | ${a.adapter} | ${a.validation} | ${a.serialization} | ${s.name} | ${s.library} | ${conn} |`);
      }
    }
  }
  return rows.join('\n');
}
