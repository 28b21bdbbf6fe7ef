/** Which Node binary runs the apps. `current` is the Node running stackbench; majors come from `runtimes`. */
export interface SelectedRuntime {
  binary: string;
  version: string;
}

export async function resolveNodeBinary(spec: string): Promise<SelectedRuntime> {
  if (spec === 'current') return { binary: process.execPath, version: process.versions.node };
  const { resolveRuntime } = await import('./runtimes.js');
  return resolveRuntime(spec);
}
