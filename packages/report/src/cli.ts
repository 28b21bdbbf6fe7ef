#!/usr/bin/env node
/**
 * stackbench-report RUN_DIR [--index RESULTS_DIR] [--summary-into FILE]
 *
 * Writes RUN_DIR/README.md, RUN_DIR/report.html and the SVG charts from RUN_DIR/results.json; with --index, also
 * regenerates RESULTS_DIR/README.md publishing this run; with --summary-into, refreshes the
 * `<!-- stackbench:results:start/end -->` section of FILE (e.g. the top-level README.md).
 * The bench CLI's `stackbench report` calls the same functions.
 */
import { writeReport, writeResultsIndex, writeSummaryInto } from './report.js';

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  let index: string | undefined;
  let summaryInto: string | undefined;
  const positional: string[] = [];
  while (args.length) {
    const a = args.shift()!;
    if (a === '--index') index = args.shift();
    else if (a === '--summary-into') summaryInto = args.shift();
    else if (a === '-h' || a === '--help') {
      console.log('usage: stackbench-report RUN_DIR [--index RESULTS_DIR] [--summary-into FILE]');
      return 0;
    } else positional.push(a);
  }
  const runDir = positional[0];
  if (!runDir || positional.length > 1 || (argv.includes('--index') && !index) || (argv.includes('--summary-into') && !summaryInto)) {
    console.error('usage: stackbench-report RUN_DIR [--index RESULTS_DIR] [--summary-into FILE]');
    return 2;
  }
  await writeReport(runDir, { log: (l) => console.log(l) });
  if (index) console.log(`index: ${await writeResultsIndex(index, runDir)}`);
  if (summaryInto) {
    await writeSummaryInto(summaryInto, runDir);
    console.log(`summary: ${summaryInto}`);
  }
  return 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
