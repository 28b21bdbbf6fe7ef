import { APPS, installedVersion, STORES } from '../registry.js';
import { CONNECTION_STRATEGIES } from '@stackbench/contract';
import { parseFlags } from '../cli-support.js';

export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { json: { type: 'boolean' } });
  const apps = APPS.map((a) => ({
    name: a.name,
    framework: a.frameworkPackage ? `${a.framework} ${installedVersion(a.frameworkPackage, a.package) ?? '?'}` : `${a.framework} (Node ${process.versions.node})`,
    adapter: a.adapter,
    validation: a.validation,
    serialization: a.serialization,
  }));
  const stores = Object.entries(STORES).map(([name, s]) => ({ name, library: `${s.library} ${installedVersion(s.library, s.package) ?? '?'}`, description: s.description }));
  const combinations = apps.length * stores.length * CONNECTION_STRATEGIES.length;
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
