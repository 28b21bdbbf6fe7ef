/**
 * Driver ceiling benchmark (not a test): how many requests per second can the embedded driver generate, compared
 * with autocannon at the same connection counts, against a trivial node:http server in a child process?
 *
 *   npm run bench:driver -w @stackbench/bench [-- --connections 10,50,100 --seconds 4 --warmup 1 --rounds 2]
 *
 * Both generators run the same four-request sequence on keep-alive connections, pipelining 1: autocannon with a fixed
 * `requests` list (no parsing), the driver with the real scenario (random pages, JSON parsing, HDR recording). The
 * ratio driver/autocannon says how much of a load generator's headroom the driver gives up; the driver's own CPU and
 * event-loop delay say whether it was the bottleneck (driverBound). With --rounds N each pair runs N times, the order
 * alternating (autocannon first, then the driver first), and the table shows the median round — on a shared machine
 * a single pair is at the mercy of whatever else runs at that moment.
 */
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { judgeDriver, runNodeStep, type StepMeasurement } from '@stackbench/loadtests';
import { serveTrivial, startTrivialServer, table } from './support.js';

interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p99: number; average: number };
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;

const PRODUCT_COUNT = 10_000;
const LIMIT = 20;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '10,50,100' },
      seconds: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '2' },
    },
    strict: true,
  });
  const connections = values.connections.split(',').map((s) => Number(s.trim()));
  const seconds = Number(values.seconds);
  const warmup = Number(values.warmup);
  const rounds = Number(values.rounds);
  if (
    connections.some((c) => !Number.isInteger(c) || c < 1 || c > 1000) ||
    !(seconds > 0 && seconds <= 60) ||
    !(warmup >= 0 && warmup <= 30) ||
    !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)
  ) {
    throw new Error('--connections must be integers 1..1000, --seconds 0..60, --warmup 0..30, --rounds 1..10');
  }
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon') as Autocannon;
  const server = await startTrivialServer(fileURLToPath(import.meta.url));
  const { url } = server;
  console.log(`driver ceiling: trivial node:http server at ${url} (child process), Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
  console.log(`each: ${warmup} s warm-up + ${seconds} s measured, ${rounds} round(s) (median shown); same 4-request sequence; keep-alive, pipelining 1\n`);

  const sequence = [
    { method: 'GET', path: `/products?limit=${LIMIT}&after=4711` },
    { method: 'GET', path: '/products/4712' },
    { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ productId: 4712, quantity: 1 }) },
    { method: 'GET', path: '/orders/1' },
  ];
  const rows: string[][] = [
    ['connections', 'autocannon rps', 'driver rps', 'driver/autocannon', 'ac p99 ms', 'driver p99 ms', 'server CPU % (ac/driver)', 'driver CPU %', 'driver ELD p99 ms', 'driverBound'],
  ];
  try {
    for (const c of connections) {
      const pairs: Array<{ ac: AutocannonResult; acRps: number; acServerPct: number; d: StepMeasurement; dServerPct: number }> = [];
      for (let round = 0; round < rounds; round++) {
        let acServerPct = 0;
        let dServerPct = 0;
        const runAutocannon = async () => {
          if (warmup > 0) await autocannon({ url, connections: c, duration: warmup, pipelining: 1, requests: sequence });
          const cpu0 = await server.cpuMs();
          const t0 = performance.now();
          const result = await autocannon({ url, connections: c, duration: seconds, pipelining: 1, requests: sequence });
          acServerPct = ((await server.cpuMs()) - cpu0) / (performance.now() - t0) * 100;
          return result;
        };
        const runDriver = async () => {
          let cpu0 = 0;
          let t0 = 0;
          // The server's CPU over the measured window only (sampled when the warm-up ends).
          const mark = setTimeout(() => {
            t0 = performance.now();
            void server.cpuMs().then((v) => (cpu0 = v));
          }, warmup * 1000);
          const { measurement } = await runNodeStep({
            baseUrl: url,
            model: 'closed',
            load: c,
            durationMs: seconds * 1000,
            warmupMs: warmup * 1000,
            thinkMs: 0,
            productCount: PRODUCT_COUNT,
            maxRequests: 10_000_000,
            requestTimeoutMs: 10_000,
          });
          clearTimeout(mark);
          dServerPct = t0 > 0 ? (((await server.cpuMs()) - cpu0) / (performance.now() - t0)) * 100 : 0;
          return measurement;
        };
        let ac: AutocannonResult;
        let d: StepMeasurement;
        if (round % 2 === 0) {
          ac = await runAutocannon();
          d = await runDriver();
        } else {
          d = await runDriver();
          ac = await runAutocannon();
        }
        const acRps = ac.requests.total / ac.duration;
        pairs.push({ ac, acRps, acServerPct, d, dServerPct });
        console.log(
          `  c=${c} round ${round + 1}: autocannon ${acRps.toFixed(0)} rps (server CPU ${acServerPct.toFixed(0)} %), ` +
            `driver ${d.rps.toFixed(0)} rps (server CPU ${dServerPct.toFixed(0)} %, driver CPU ${d.driver.cpuPct} %, ELD p99 ${d.driver.eventLoopDelayP99Ms} ms)` +
            (ac.errors + ac.non2xx > 0 || d.errors > 0
              ? `; errors: autocannon ${ac.errors} + ${ac.non2xx} non-2xx, driver ${d.errors} ${JSON.stringify(d.errorsByKind)}`
              : ''),
        );
      }
      // The median round by ratio (the lower middle one for an even count).
      pairs.sort((a, b) => a.d.rps / a.acRps - b.d.rps / b.acRps);
      const { ac, acRps, acServerPct, d, dServerPct } = pairs[Math.floor((pairs.length - 1) / 2)]!;
      const judged = judgeDriver({ driverCpuPct: d.driver.cpuPct, parallelism: 1, eventLoopDelayP99Ms: d.driver.eventLoopDelayP99Ms, machineCores: cpus().length, appCpuPct: dServerPct, dbCpuPct: 0 });
      rows.push([
        String(c),
        acRps.toFixed(0),
        d.rps.toFixed(0),
        (d.rps / acRps).toFixed(2),
        ac.latency.p99.toFixed(2),
        d.latencyMs.p99.toFixed(2),
        `${acServerPct.toFixed(0)} / ${dServerPct.toFixed(0)}`,
        d.driver.cpuPct.toFixed(0),
        (d.driver.eventLoopDelayP99Ms ?? 0).toFixed(2),
        judged.bound ? 'yes' : 'no',
      ]);
    }
  } finally {
    server.stop();
  }
  console.log(`\n${table(rows)}`);
}

if (process.argv.includes('--serve')) {
  serveTrivial();
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
