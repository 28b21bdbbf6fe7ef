/**
 * What k6 itself costs per request (not a test): the project's k6 script against a bare `http.get` loop, a
 * hand-written four-request journey with no bookkeeping, the same with the step's three samples per request, and
 * that with the step's measured window too (the floor of any script that records what a step records), all on the
 * same trivial server (contract-shaped bodies, no database), plus the embedded driver for reference.
 *
 *   npm run bench:k6-cost -w @stackbench/bench [-- --vus 16 --rounds 2]   (CPU time)
 *   npm run bench:k6-cost -w @stackbench/bench -- --instructions          (machine instructions, valgrind)
 *
 * Marginal CPU per request: each script runs twice, short and long, and (CPU long − CPU short) ÷ (requests long −
 * requests short) is what one more request costs — k6's start-up (compiling the script once per VU) cancels out.
 * CPU is read from /proc while k6 runs; requests from k6's own http_reqs (--summary-export). Needs k6 (K6_BIN or
 * PATH) and the built script (npm run build).
 *
 * `--instructions`: the same scripts counted in machine instructions instead (valgrind's cachegrind, one VU, a fixed
 * number of iterations, Go's garbage collector off), which repeat to ~1 % where CPU time moved 30 % between rounds
 * here: what k6 executes in user space per request, without the kernel's share (the same for every script) and
 * without garbage collection (more for scripts that allocate more). Slow (k6 runs ~50x slower under valgrind): the
 * default is 250 and 2 250 iterations per script. Needs valgrind (apt install valgrind).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findK6Script, processReader, runNodeStep, UsageSampler } from '@stackbench/loadtests';
import { findK6 } from '../src/orchestrator/config.js';
import { serveTrivial, spread, startTrivialServer, table } from './support.js';

const BARE = `import http from 'k6/http';
export const options = { scenarios: { s: { executor: 'constant-vus', vus: Number(__ENV.VUS), duration: __ENV.SECONDS + 's' } } };
export default function () { http.get(__ENV.BASE_URL + '/products?limit=20&after=4711'); }
export function handleSummary() { return {}; }
`;

/**
 * The journey written by hand, as lean as k6 allows: what the four requests cost before any bookkeeping. Each request
 * is named (k6 otherwise tags every sample with its URL, and the random ids make a time series per request: measured
 * at ~2x the cost of the bare loop without names).
 */
const MINIMAL_JOURNEY = handWrittenJourney('function record(res) { return res; }\nfunction proceed() { return true; }');

/** What a step records per request in the project's script: latency, latency per endpoint, server time. */
const SAMPLES = `import { Trend } from 'k6/metrics';
const latency = new Trend('sb_lat', true);
const server = new Trend('sb_srv', true);
const perEndpoint = { list: new Trend('sb_lat_list', true), product: new Trend('sb_lat_product', true), order: new Trend('sb_lat_order', true), order_view: new Trend('sb_lat_order_view', true) };
function addSamples(res, name) {
  const t = res.timings;
  const ms = t.blocked + t.connecting + t.duration;
  latency.add(ms);
  perEndpoint[name].add(ms);
  const timing = res.headers['Server-Timing'];
  if (timing) server.add(Number(timing.slice(8)));
}`;

/** The same journey plus the step's three samples per request: what they cost, apart from the shared journey code. */
const MINIMAL_WITH_SAMPLES = handWrittenJourney(`${SAMPLES}
function record(res, name) { addSamples(res, name); return res; }
function proceed() { return true; }`);

/**
 * The samples plus the step's measured window, as the project's script keeps it: no request started after the
 * window, samples only for responses completed inside it (a clock read before and after each request). What any
 * script recording a step's figures costs at least, however it were written.
 */
const MINIMAL_WITH_WINDOW = handWrittenJourney(`${SAMPLES}
import exec from 'k6/execution';
let measureFrom = 0;
let endAt = 0;
function record(res, name) {
  const done = Date.now();
  if (done >= measureFrom && done < endAt) addSamples(res, name);
  return res;
}
function proceed() {
  if (endAt === 0) {
    measureFrom = exec.scenario.startTime + Number(__ENV.WARMUP_MS || 1000);
    endAt = measureFrom + Number(__ENV.SECONDS) * 1000;
  }
  return Date.now() < endAt;
}`);

/** The journey written once: each response passed through `record`, `proceed()` asked before each request. */
function handWrittenJourney(hooks: string): string {
  return `import http from 'k6/http';
${hooks}
export const options = { scenarios: { s: { executor: 'constant-vus', vus: Number(__ENV.VUS), duration: __ENV.SECONDS + 's' } }, discardResponseBodies: true };
const LIST = { responseType: 'text', tags: { name: 'list' } };
const PRODUCT = { tags: { name: 'product' } };
const ORDER = { headers: { 'Content-Type': 'application/json' }, responseType: 'text', tags: { name: 'order' } };
const ORDER_VIEW = { tags: { name: 'order_view' } };
export default function () {
  if (!proceed()) return;
  const list = record(http.get(__ENV.BASE_URL + '/products?limit=20&after=' + (5 + Math.floor(Math.random() * 9000)), LIST), 'list');
  const id = Number(String(list.body).slice(16, 22).replace(/[^0-9]/g, '')) || 6;
  if (!proceed()) return;
  record(http.get(__ENV.BASE_URL + '/products/' + id, PRODUCT), 'product');
  if (!proceed()) return;
  const order = record(http.post(__ENV.BASE_URL + '/orders', JSON.stringify({ productId: id, quantity: 1 }), ORDER), 'order');
  if (!proceed()) return;
  record(http.get(__ENV.BASE_URL + '/orders/' + (Number(String(order.body).slice(6, 14).replace(/[^0-9]/g, '')) || 1), ORDER_VIEW), 'order_view');
}
export function handleSummary() { return {}; }
`;
}

/** What one k6 run cost (CPU seconds, or machine instructions with --instructions) and the requests it made. */
interface K6Run {
  cost: number;
  requests: number;
}

/** `k6 run` of a script with its environment, writing its summary (requests made) to exportFile. */
function k6RunArgs(script: string, env: Record<string, string>, exportFile: string, extra: string[] = []): string[] {
  return ['run', '--quiet', '--no-usage-report', ...extra, '--summary-export', exportFile, ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), script];
}

/** The requests k6 made, from its --summary-export file. */
function requestsIn(exportFile: string): number {
  const summary = JSON.parse(readFileSync(exportFile, 'utf8')) as { metrics: { http_reqs?: { count?: number } } };
  return summary.metrics.http_reqs?.count ?? 0;
}

function runK6(binary: string, script: string, env: Record<string, string>, exportFile: string): Promise<K6Run> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(binary, k6RunArgs(script, env, exportFile), { stdio: ['ignore', 'ignore', 'inherit'] });
    const sampler = new UsageSampler(processReader(child.pid!), 50).start();
    child.once('error', reject);
    child.once('exit', (code) => {
      sampler.stop();
      const last = sampler.samples[sampler.samples.length - 1];
      if (code !== 0 || !last || !existsSync(exportFile)) return reject(new Error(`k6 exited ${code} for ${script}`));
      resolveRun({ cost: last.cpuSeconds, requests: requestsIn(exportFile) });
    });
  });
}

/**
 * Instructions k6 executes for `iterations` iterations of one VU, under cachegrind. Go needs its CPU feature
 * detection off (valgrind does not emulate every instruction it would pick) and no asynchronous preemption (its
 * signals upset valgrind); one processor and no garbage collection make the count repeatable.
 */
function countK6Instructions(binary: string, script: string, env: Record<string, string>, iterations: number, exportFile: string): Promise<K6Run> {
  return new Promise((resolveRun, reject) => {
    const k6Args = k6RunArgs(script, env, exportFile, ['--vus', '1', '--iterations', String(iterations)]);
    const child = spawn('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--cachegrind-out-file=/dev/null', binary, ...k6Args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GOGC: 'off', GOMAXPROCS: '1', GODEBUG: 'cpu.all=off,asyncpreemptoff=1' },
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      if (code !== 0 || !refs || !existsSync(exportFile)) return reject(new Error(`k6 under valgrind exited ${code} for ${script}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      resolveRun({ cost: Number(refs[1]!.replace(/,/g, '')), requests: requestsIn(exportFile) });
    });
  });
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      vus: { type: 'string', default: '16' },
      rounds: { type: 'string' },
      short: { type: 'string' },
      long: { type: 'string' },
      instructions: { type: 'boolean', default: false },
    },
  });
  const instructions = values.instructions;
  // Seconds per run when timing CPU; iterations of one VU when counting instructions (deterministic: one round).
  const rounds = Number(values.rounds ?? (instructions ? '1' : '2'));
  const [short, long] = [Number(values.short ?? (instructions ? '250' : '3')), Number(values.long ?? (instructions ? '2250' : '9'))];
  const vus = instructions ? 1 : Number(values.vus);
  if (![rounds, short, long, vus].every((n) => Number.isInteger(n) && n > 0) || long <= short) {
    console.error('k6-cost: --rounds, --vus, --short and --long are positive integers, and --long is more than --short');
    return 1;
  }
  const binary = findK6();
  const script = findK6Script();
  if (!binary || !script) {
    console.error(`k6-cost: needs k6 (K6_BIN or PATH) and the built script (npm run build); found ${binary ?? 'no k6'}, ${script ?? 'no script'}`);
    return 1;
  }
  if (instructions && spawnSync('valgrind', ['--version']).status !== 0) {
    console.error('k6-cost: --instructions needs valgrind on PATH (apt install valgrind)');
    return 1;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'stackbench-k6-cost-'));
  const server = await startTrivialServer(fileURLToPath(import.meta.url));
  try {
    writeFileSync(join(tmp, 'bare.js'), BARE);
    writeFileSync(join(tmp, 'minimal.js'), MINIMAL_JOURNEY);
    writeFileSync(join(tmp, 'minimal-samples.js'), MINIMAL_WITH_SAMPLES);
    writeFileSync(join(tmp, 'minimal-window.js'), MINIMAL_WITH_WINDOW);
    // The bare and hand-written scripts: a constant-vus scenario of the given length. Counting instructions, k6's
    // --vus/--iterations replace the scenario, and the window opens at once and stays open.
    const constantVus = (seconds: number): Record<string, string> =>
      instructions ? { BASE_URL: server.url, VUS: '1', SECONDS: '100000', WARMUP_MS: '0' } : { BASE_URL: server.url, VUS: String(vus), SECONDS: String(seconds) };
    const stepped = (seconds: number): Record<string, string> => {
      const common = { BASE_URL: server.url, ABORT_ON_FAIL: 'false', SUMMARY_PATH: join(tmp, 'summary.json') };
      // One step whose window (normally set by the step's scenario) holds every request of the fixed iterations.
      if (instructions) return { ...common, STEPS: '1', STEP_SECONDS: '600', INITIAL_WARMUP_SECONDS: '0', STACKBENCH_STEP_MS: String(1e9) };
      return { ...common, STEPS: String(vus), STEP_SECONDS: String(seconds - 1), INITIAL_WARMUP_SECONDS: '1' };
    };
    const scripts: Array<{ name: string; file: string; env: (length: number) => Record<string, string> }> = [
      { name: 'bare http.get loop', file: join(tmp, 'bare.js'), env: constantVus },
      { name: 'hand-written 4-request journey', file: join(tmp, 'minimal.js'), env: constantVus },
      { name: 'the same + the step\'s 3 samples per request', file: join(tmp, 'minimal-samples.js'), env: constantVus },
      { name: 'the same + the step\'s measured window', file: join(tmp, 'minimal-window.js'), env: constantVus },
      { name: 'stackbench script (dist/k6/stepped.js)', file: script, env: stepped },
    ];
    const run = (file: string, env: Record<string, string>, length: number, exportFile: string) =>
      instructions ? countK6Instructions(binary, file, env, length, exportFile) : runK6(binary, file, env, exportFile);
    const unit = instructions ? 'k instructions/request' : 'µs/request';
    const lengths = instructions ? `${short} and ${long} iterations of 1 VU under valgrind, GOGC=off` : `${vus} VUs, ${short} s and ${long} s runs`;
    console.log(`k6-cost: ${binary}, ${lengths}, ${rounds} round(s); trivial server ${server.url}; ${cpus().length} CPUs\n`);
    const perScript = new Map<string, number[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const s of scripts) {
        const a = await run(s.file, s.env(short), short, join(tmp, 'a.json'));
        const b = await run(s.file, s.env(long), long, join(tmp, 'b.json'));
        // CPU seconds to µs, instructions to thousands.
        const perRequest = ((b.cost - a.cost) * (instructions ? 1e-3 : 1e6)) / (b.requests - a.requests);
        console.log(`  round ${round}: ${s.name}: ${perRequest.toFixed(1)} ${unit} (${a.requests} and ${b.requests} requests)`);
        perScript.set(s.name, [...(perScript.get(s.name) ?? []), perRequest]);
      }
    }
    const median = (name: string) => spread(perScript.get(name)!)!.median;
    const bare = median(scripts[0]!.name);
    const floor = median(scripts[3]!.name);
    const rows = [
      ['load generator', `${unit} (median)`, 'x bare k6 loop', 'x floor (+ window)'],
      ...scripts.map((s) => [s.name, median(s.name).toFixed(1), (median(s.name) / bare).toFixed(2), (median(s.name) / floor).toFixed(2)]),
    ];
    if (!instructions) {
      const { measurement } = await runNodeStep({ baseUrl: server.url, model: 'closed', load: vus, durationMs: long * 1000, warmupMs: 1000, thinkMs: 0, productCount: 10_000, maxRequests: 100_000_000, requestTimeoutMs: 10_000 });
      const nodeUs = ((measurement.driver.cpuPct / 100) * measurement.seconds * 1e6) / measurement.requests;
      rows.push(['embedded driver (same journey)', nodeUs.toFixed(1), (nodeUs / bare).toFixed(2), (nodeUs / floor).toFixed(2)]);
    }
    console.log(`\n${table(rows)}`);
    return 0;
  } finally {
    server.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) {
  serveTrivial();
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
