import { CliError } from './cli-support.js';

type Command = { summary: string; load: () => Promise<{ run(args: string[]): Promise<number> }> };

const COMMANDS: Record<string, Command> = {
  db: { summary: 'db up|down|reset [--products N]   the database (DATABASE_URL or embedded)', load: () => import('./commands/db.js') },
  serve: { summary: 'serve --app A --store S --conn C [--pool-size N] [--port P] [--host H] [--runtime R] [--instances N --lb cluster|nginx] [--app-cpus N ...]', load: () => import('./commands/serve.js') },
  verify: { summary: 'verify --url URL   run the contract suite against a running server', load: () => import('./commands/verify.js') },
  list: { summary: 'list   apps, stores and connection strategies', load: () => import('./commands/list.js') },
  bench: { summary: 'bench [--apps ...] [--stores ...] [--conn ...] [--profile P] ...   stepped load to the breakpoint', load: () => import('./commands/bench.js') },
  lab: { summary: 'lab eventloop|cpu|fanout|mixed|payload|cache [--apps ...] [--profile P] ...   the labs (stackbench lab --help)', load: () => import('./commands/lab.js') },
  report: { summary: 'report RUN_DIR   Markdown tables, SVG and HTML charts from results.json', load: () => import('./commands/report.js') },
  runtimes: { summary: 'runtimes install 20 22 24 | runtimes list   Node runtimes for the apps', load: () => import('./commands/runtimes.js') },
  k6: { summary: 'k6 merge FILE... [--threshold T] [--max-error-rate R] [--out DIR]   merge the k6 runners\' JSON outputs of one stepped run', load: () => import('./commands/k6.js') },
};

function usage(): string {
  return ['usage: stackbench <command> [flags]', '', ...Object.entries(COMMANDS).map(([, c]) => `  ${c.summary}`)].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`stackbench: unknown command "${name}" (known: ${Object.keys(COMMANDS).join(', ')})`);
    return 1;
  }
  try {
    const mod = await command.load();
    return await mod.run(args);
  } catch (err) {
    // A user error is one line; anything else is a bug worth its stack only when asked for.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`stackbench ${name}: ${err instanceof CliError ? message : message.split('\n')[0]}`);
    if (!(err instanceof CliError) && process.env.STACKBENCH_DEBUG) console.error(err);
    return 1;
  }
}
