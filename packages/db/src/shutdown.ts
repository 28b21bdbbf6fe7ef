/**
 * One place that decides what happens on Ctrl-C (SIGINT) and SIGTERM, so that everything stackbench started —
 * app processes, the embedded PostgreSQL — is stopped, in reverse order of starting, before the process exits.
 *
 * - A command that waits for the user to stop it (`db up`, `serve`) calls `waitForSignal()`: the signal then
 *   resolves that promise and the command cleans up and returns its own exit code.
 * - Otherwise the registered cleanups run and the process exits with 128 + signal number.
 * - A second signal during cleanup exits at once. On any exit, child processes registered with `killOnExit`
 *   get a synchronous SIGINT, the last resort that still runs after an uncaught error.
 */
type Cleanup = () => Promise<void>;

const cleanups: Cleanup[] = [];
const exitKills = new Set<number>();
let waiters: Array<(signal: NodeJS.Signals) => void> = [];
let installed = false;
let cleaning = false;

function install(): void {
  if (installed) return;
  installed = true;
  const handle = (signal: NodeJS.Signals) => {
    if (cleaning) process.exit(signal === 'SIGINT' ? 130 : 143);
    if (waiters.length > 0) {
      const current = waiters;
      waiters = [];
      for (const resolve of current) resolve(signal);
      return;
    }
    cleaning = true;
    void runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  process.on('exit', () => {
    for (const pid of exitKills) {
      try {
        process.kill(pid, 'SIGINT');
      } catch {
        /* already gone */
      }
    }
  });
}

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    await fn().catch(() => undefined);
  }
}

/** Registers a cleanup; the returned function unregisters it (call it once you have cleaned up yourself). */
export function onShutdown(fn: Cleanup): () => void {
  install();
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i !== -1) cleanups.splice(i, 1);
  };
}

/** Sends SIGINT to `pid` if this process exits while it still runs. */
export function killOnExit(pid: number): () => void {
  install();
  exitKills.add(pid);
  return () => exitKills.delete(pid);
}

/** Resolves on the next SIGINT/SIGTERM, which the caller then handles itself. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  install();
  // Signal handlers do not keep Node's event loop alive; this timer does, until the signal comes.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  return new Promise((resolve) =>
    waiters.push((signal) => {
      clearInterval(keepAlive);
      resolve(signal);
    }),
  );
}

/** Whether a process exists (EPERM: it does, owned by another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
