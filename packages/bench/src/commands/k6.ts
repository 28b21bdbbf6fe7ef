import { K6JsonRunnerReader, K6MergeError, mergeK6Runners, parseThreshold, renderMergedK6Text, type K6RunnerSamples } from '@stackbench/loadtests';
import { createReadStream } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { CliError, parseFlags } from '../cli-support.js';

const USAGE = 'usage: stackbench k6 merge FILE... [--threshold p95<100] [--max-error-rate 1%] [--out DIR]';

const HELP = `${USAGE}

Merges the k6 JSON outputs (k6 run --out json=FILE, or FILE.gz) of the runners of one run of
loadtests/dist/k6/stepped.js (k6-operator pods, or k6 processes started with --execution-segment) and judges
every step over all runners' raw samples: requests, rps, errors, latency avg/p50/p90/p95/p99/max, the verdict and
the breakpoint. The runners must have run the same plan, with ABORT_ON_FAIL=false (a runner's own thresholds see
only its share), and their execution segments must cover 0:1 once. Exit 0 once merged, whatever the verdicts.

  --threshold T        latency threshold, e.g. p95<100 or avg<50,p99<=250 (default: the runners' THRESHOLD)
  --max-error-rate R   error-rate limit, e.g. 1% (default: the runners' ERROR_RATE)
  --out DIR            also write DIR/merged.json (default: print only)`;

/** `stackbench k6 merge ...`: the only k6 subcommand so far. */
export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    console.log(HELP);
    return 0;
  }
  if (sub !== 'merge') throw new CliError(sub === undefined ? USAGE : `unknown k6 command "${sub}" (known: merge)`);
  const { values, positionals } = parseFlags(
    rest,
    { threshold: { type: 'string' }, 'max-error-rate': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new CliError(USAGE);
  // Judge the flags before reading what may be gigabytes of samples.
  if (values.threshold !== undefined || values['max-error-rate'] !== undefined) {
    try {
      parseThreshold(values.threshold ?? 'p95<100', values['max-error-rate'] ?? '1%');
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  }
  const base = process.env.STACKBENCH_CWD ?? process.env.INIT_CWD ?? process.cwd();
  const runners: K6RunnerSamples[] = [];
  for (const file of positionals) runners.push(await readRunnerFile(resolve(base, file), file));
  let merged;
  try {
    merged = mergeK6Runners(runners, { threshold: values.threshold, errorRate: values['max-error-rate'] });
  } catch (err) {
    if (err instanceof K6MergeError) throw new CliError(err.message);
    throw err;
  }
  process.stdout.write(renderMergedK6Text(merged));
  if (values.out !== undefined) {
    const dir = resolve(base, values.out);
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'merged.json');
    await writeFile(path, JSON.stringify(merged, null, 2) + '\n');
    const rel = relative(process.cwd(), path);
    console.log(`merged: ${rel && !rel.startsWith('..') ? rel : path}`);
  }
  return 0;
}

/** Streams one runner's file (gzip when it starts with gzip's magic bytes, whatever its name) through the reader. */
async function readRunnerFile(path: string, label: string): Promise<K6RunnerSamples> {
  let gzip: boolean;
  try {
    const handle = await open(path, 'r');
    try {
      const head = Buffer.alloc(2);
      const { bytesRead } = await handle.read(head, 0, 2, 0);
      gzip = bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${label}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
  const reader = new K6JsonRunnerReader(label);
  const source = createReadStream(path);
  // pipeline() passes a read error on to the gunzip stream, whose iteration below then throws.
  const input = gzip ? pipeline(source, createGunzip(), () => undefined) : source;
  const decoder = new StringDecoder('utf8');
  let rest = '';
  try {
    for await (const chunk of input) {
      const text = rest + decoder.write(chunk as Buffer);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        reader.addLine(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    reader.addLine(rest + decoder.end());
    return reader.finish();
  } catch (err) {
    if (err instanceof K6MergeError) throw new CliError(err.message);
    throw new CliError(`cannot read ${label}: ${gzip ? 'not a valid gzip file' : (err as Error).message.split('\n')[0]}`);
  } finally {
    source.destroy();
  }
}
