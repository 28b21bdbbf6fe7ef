import { writeReport, writeResultsIndex } from '@stackbench/report';
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { CliError, parseFlags } from '../cli-support.js';

/** Writes RUN_DIR's README.md, report.html and SVG charts; returns one line saying where. */
export async function writeRunReport(runDir: string): Promise<string> {
  const { readme, html, svgs } = await writeReport(runDir);
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };
  return `report: ${rel(readme)}, ${rel(html)}, ${svgs.length} SVG chart${svgs.length === 1 ? '' : 's'}`;
}

/**
 * `stackbench report RUN_DIR [--index]`: Markdown tables, SVG and HTML charts from RUN_DIR/results.json.
 * `--index` also regenerates the README.md of the directory holding the runs (e.g. results/runs/README.md),
 * publishing RUN_DIR there.
 */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, { index: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, true);
  if (values.help || positionals.length !== 1) {
    if (values.help) {
      console.log('usage: stackbench report RUN_DIR [--index]');
      return 0;
    }
    throw new CliError('usage: stackbench report RUN_DIR [--index]');
  }
  const dir = resolve(process.env.STACKBENCH_CWD ?? process.env.INIT_CWD ?? process.cwd(), positionals[0]!);
  if (!existsSync(join(dir, 'results.json'))) throw new CliError(`${dir} has no results.json`);
  try {
    console.log(await writeRunReport(dir));
    if (values.index) console.log(`index: ${await writeResultsIndex(dirname(dir), dir)}`);
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]!);
  }
  return 0;
}
