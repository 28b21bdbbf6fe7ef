/**
 * The report of a lab run (`stackbench lab <name>`, results.json with `method.lab`): every point at every load, the
 * lab's own comparison (what the source articles measured, computed from the same steps) and its charts. The
 * figures are read from the steps; nothing here is assumed.
 */
import type { ChartSpec, Series } from './charts.js';
import { PALETTE } from './charts.js';
import { p, strong, type Block, type Cell, type Paragraph, type Section, type Table } from './doc.js';
import { fmtCount, fmtMs, fmtRatio, fmtRps, MISSING, ratio } from './format.js';
import { endpointLatency, type Analysis, type ComboSummary } from './model.js';
import type { Step } from './results.js';

/** What each lab shows and the source articles' figure it answers (../shared/background.md). */
export const LAB_TEXT: Record<string, { title: string; shows: string; source: string }> = {
  eventloop: {
    title: 'Blocking the event loop',
    shows: 'Users send three /lab/wait requests for every /lab/simple. await waits on a timer; block waits with Atomics.wait on the main thread (the sync call inside an async handler); offload runs the same blocking wait on a worker thread pool.',
    source: 'Source article: a 1 s wait, ~50 RPS blocking vs ~450 RPS non-blocking (Python, thread pool of 40).',
  },
  cpu: {
    title: 'CPU-bound work',
    shows: 'Users send three /lab/cpu requests (count primes below n) for every /lab/simple; main counts on the event loop, worker on a worker_threads pool sized to the cores.',
    source: 'Source articles: threads under one lock are slower than sequential; 12 processes gave 5.4x on 12 cores.',
  },
  fanout: {
    title: 'Fan-out to a slow upstream',
    shows: 'Each request makes C calls to a local upstream that answers after M ms: one after another (sequential), all at once (Promise.all), or at most K at once; then async PBKDF2 under two libuv thread-pool sizes.',
    source: 'Source article: 200 calls, async 2.1 s vs sequential 127 s; thread pools of 50 and 1 000 no different.',
  },
  mixed: {
    title: 'The mixed load',
    shows: 'One request per iteration, drawn by share: simple, an awaited I/O wait, a database read, and heavy CPU on the main thread. The first load at which each class goes over the line says which breaks first.',
    source: 'Source article: 50 % simple, 20 % I/O wait, 20 % database read, 10 % heavy.',
  },
  payload: {
    title: 'Payload size and serialization',
    shows: 'GET /lab/products?rows=N (the same first page every time) in each app\'s serialization variants, on each store, at a fixed number of users.',
    source: 'Source article: 1 row 74 TPS, 1 000 rows ~12 TPS; without the response model ~20 TPS; pre-validated data through a fast serializer ~4x.',
  },
  cache: {
    title: 'Caching',
    shows: 'Views of a hot set of products through /lab/cache/products/:id, with a share of iterations also ordering the product: no cache, an in-process LRU with TTL, Redis, or HTTP revalidation (ETag / If-None-Match, 304s counted apart).',
    source: 'Source article: in-process dict, TTL cache, Redis shared across workers and HTTP cache headers, with a /stats hit rate.',
  },
};

const lab = (a: Analysis) => a.results.method.lab!;
const pointOf = (c: ComboSummary) => c.rep?.lab ?? c.entries[0]?.lab;
const steps = (c: ComboSummary): Step[] => c.rep?.steps ?? [];
const stepAt = (c: ComboSummary, load: number): Step | undefined => steps(c).find((s) => s.load === load);
const peak = (c: ComboSummary): Step | undefined => [...steps(c)].sort((x, y) => y.rps - x.rps)[0];
const top = (a: Analysis) => Math.max(...lab(a).loads);

/** "fastify / pg / pool / 20.20.2" without the point: the group a point belongs to. */
function stackLabel(c: ComboSummary): string {
  const scale = c.rep?.instances ?? c.entries[0]?.instances;
  return [c.app, c.store, c.connLabel, ...(scale ? [`${scale.count} x ${scale.lb}`] : []), c.runtime].join(' / ');
}

function stacks(a: Analysis): string[] {
  return [...new Set(a.combos.map(stackLabel))];
}

/** Every point at every load: rps, latency, each request's p95, errors, CPU. */
export function labStepsTable(a: Analysis): Table {
  const names = [...new Set(a.combos.flatMap((c) => (pointOf(c)?.requests ?? []).map((r) => r.name)))];
  const endpointCols = names.length > 1 ? names : [];
  const rows: Cell[][] = [];
  for (const c of a.combos) {
    for (const s of steps(c)) {
      rows.push([
        c.label,
        fmtCount(s.load),
        fmtRps(s.rps),
        fmtMs(s.latencyMs.p50),
        fmtMs(s.latencyMs.p95),
        ...endpointCols.map((n) => fmtMs(endpointLatency(s, n, 'p95'))),
        `${(s.errorRate * 100).toFixed(2)} %`,
        s.app ? fmtCount(s.app.cpuPct) : MISSING,
        s.app?.cpuUsPerRequest != null ? fmtCount(s.app.cpuUsPerRequest) : MISSING,
        s.db?.cpuUsPerRequest != null ? fmtCount(s.db.cpuUsPerRequest) : MISSING,
        `${s.passed ? 'pass' : 'FAIL'}${s.driverBound ? ' †' : ''}`,
      ]);
    }
  }
  return {
    id: 'lab-steps',
    headers: ['stack / point', 'users', 'RPS', 'p50 ms', 'p95 ms', ...endpointCols.map((n) => `${n} p95 ms`), 'errors', 'app CPU %', 'app µs/req', 'DB µs/req', 'step'],
    align: ['left', ...Array(9 + endpointCols.length).fill('right')],
    rows,
  };
}

// ---- per-lab findings ------------------------------------------------------------------------------------------

function byPoint(a: Analysis, stack: string): Map<string, ComboSummary> {
  const m = new Map<string, ComboSummary>();
  for (const c of a.combos) if (stackLabel(c) === stack && pointOf(c)) m.set(pointOf(c)!.point, c);
  return m;
}

function eventloopFindings(a: Analysis): Paragraph[] {
  const out: Paragraph[] = [];
  const load = top(a);
  const waitMs = Number(lab(a).options.waitMs);
  for (const stack of stacks(a)) {
    const pts = byPoint(a, stack);
    const rps = (m: string) => stepAt(pts.get(m) ?? ({} as ComboSummary), load)?.rps ?? null;
    const simpleP95 = (m: string) => endpointLatency(pts.get(m) ? stepAt(pts.get(m)!, load) : undefined, 'simple', 'p95');
    const parts = ['await', 'block', 'offload'].filter((m) => pts.has(m)).map((m) => `${m} ${fmtRps(rps(m))} rps (/lab/simple p95 ${fmtMs(simpleP95(m))} ms)`);
    out.push([strong(stack), `, ${fmtCount(load)} users, ${waitMs} ms waits: ${parts.join(', ')}.`]);
    if (pts.has('await') && pts.has('block')) {
      out.push([`Non-blocking over blocking: ${fmtRatio(ratio(rps('await'), rps('block')))} the throughput. Blocking serializes every request behind the waits: a /lab/simple request waits for the blocked ones ahead of it (its p95 ${fmtMs(simpleP95('block'))} ms against ${waitMs} ms per wait).`]);
    }
  }
  return out;
}

function cpuFindings(a: Analysis): Paragraph[] {
  const out: Paragraph[] = [];
  const env = a.results.environment;
  const cores = env.envelope?.app.cpus ?? env.cores;
  for (const stack of stacks(a)) {
    const pts = byPoint(a, stack);
    const main = pts.get('main');
    const worker = pts.get('worker');
    const pm = main ? peak(main) : undefined;
    const pw = worker ? peak(worker) : undefined;
    if (!pm || !pw) continue;
    out.push([
      strong(stack),
      `: peak ${fmtRps(pm.rps)} rps on the main thread (at ${pm.load} users), ${fmtRps(pw.rps)} rps on the worker pool (at ${pw.load} users): `,
      strong(`${fmtRatio(ratio(pw.rps, pm.rps))}`),
      ` with ${cores} core${cores === 1 ? '' : 's'} for the app (PostgreSQL idle, the load generator beside it). /lab/simple p95 at ${top(a)} users: main ${fmtMs(endpointLatency(stepAt(main!, top(a)), 'simple', 'p95'))} ms, worker ${fmtMs(endpointLatency(stepAt(worker!, top(a)), 'simple', 'p95'))} ms.`,
    ]);
  }
  return out;
}

function fanoutFindings(a: Analysis): Paragraph[] {
  const out: Paragraph[] = [];
  const o = lab(a).options;
  const calls = Number(o.calls);
  const ms = Number(o.upstreamMs);
  const first = lab(a).loads[0]!;
  for (const stack of stacks(a)) {
    const pts = byPoint(a, stack);
    const modes = [...pts.keys()].filter((k) => !k.startsWith('pbkdf2'));
    if (modes.length) {
      out.push([
        strong(stack),
        `, ${calls} calls of ${ms} ms each, at ${first} user${first === 1 ? '' : 's'} (one call: ${ms} ms; all in a row: ${calls * ms} ms): `,
        modes.map((m) => `${m} p50 ${fmtMs(stepAt(pts.get(m)!, first)?.latencyMs.p50)} ms, peak ${fmtRps(peak(pts.get(m)!)?.rps)} rps`).join('; '),
        '.',
      ]);
    }
    const pools = [...pts.keys()].filter((k) => k.startsWith('pbkdf2'));
    if (pools.length) {
      out.push([`Async PBKDF2 (${o.iterations} iterations) on libuv's thread pool: `, pools.map((k) => `${k.replace('pbkdf2 ', '')}: peak ${fmtRps(peak(pts.get(k)!)?.rps)} rps, p95 at ${top(a)} users ${fmtMs(stepAt(pts.get(k)!, top(a))?.latencyMs.p95)} ms`).join('; '), '. More threads than cores cannot add CPU: they only add queueing inside the pool instead of before it.']);
    }
  }
  return out;
}

/** Per request class: the first load whose p95 for that class broke the line. */
export function firstOverByEndpoint(c: ComboSummary, limitMs: number): { name: string; load: number | null }[] {
  const names = (pointOf(c)?.requests ?? []).map((r) => r.name);
  return names.map((name) => ({ name, load: steps(c).find((s) => (endpointLatency(s, name, 'p95') ?? 0) >= limitMs)?.load ?? null }));
}

/** Which class breaks first; classes crossing at the same step are a tie, told apart only by their p95 there. */
function firstToBreak(c: ComboSummary, broke: { name: string; load: number | null }[]): string {
  if (!broke.length) return '.';
  const together = broke.filter((f) => f.load === broke[0]!.load);
  if (together.length === 1) return `. ${broke[0]!.name} breaks first.`;
  const step = steps(c).find((s) => s.load === broke[0]!.load);
  const p95 = (name: string) => (step ? (endpointLatency(step, name, 'p95') ?? 0) : 0);
  const worst = [...together].sort((x, y) => p95(y.name) - p95(x.name))[0]!;
  return `. ${together.map((f) => f.name).join(', ')} cross the line in the same step (${broke[0]!.load} users): no class breaks first at this resolution; the highest p95 there is ${worst.name}'s (${fmtMs(p95(worst.name))} ms).`;
}

function mixedFindings(a: Analysis): Paragraph[] {
  const limit = a.threshold.ms;
  return a.combos.map((c) => {
    const firsts = firstOverByEndpoint(c, limit).sort((x, y) => (x.load ?? Infinity) - (y.load ?? Infinity));
    const broke = firsts.filter((f) => f.load !== null);
    return [
      strong(stackLabel(c)),
      `: p95 per class first at or over ${fmtMs(limit)} ms — `,
      firsts.map((f) => `${f.name} ${f.load === null ? 'never (up to ' + top(a) + ' users)' : `at ${f.load} users`}`).join(', '),
      firstToBreak(c, broke),
    ];
  });
}

interface PayloadLine {
  stack: string;
  variant: string;
  byRows: Map<number, ComboSummary>;
}

function payloadLines(a: Analysis): PayloadLine[] {
  const lines = new Map<string, PayloadLine>();
  for (const c of a.combos) {
    const pt = pointOf(c);
    if (!pt) continue;
    const variant = String(pt.params.variant);
    const key = `${stackLabel(c)}|${variant}`;
    let line = lines.get(key);
    if (!line) lines.set(key, (line = { stack: stackLabel(c), variant, byRows: new Map() }));
    line.byRows.set(Number(pt.params.rows), c);
  }
  return [...lines.values()];
}

/** rps, µs/req and bytes per rows for each app/store/variant, the rps ratio of the fewest to the most rows, and each variant's cost against the cheapest at the most rows. */
export function payloadTable(a: Analysis): Table {
  const lines = payloadLines(a);
  const rows = [...new Set(lines.flatMap((l) => [...l.byRows.keys()]))].sort((x, y) => x - y);
  const lo = rows[0]!;
  const hi = rows[rows.length - 1]!;
  const load = lab(a).loads[0]!;
  const us = (c: ComboSummary | undefined) => (c ? (stepAt(c, load)?.app?.cpuUsPerRequest ?? null) : null);
  const cheapest = Math.min(...lines.map((l) => us(l.byRows.get(hi)) ?? Infinity));
  return {
    id: 'lab-payload',
    headers: ['app / store / conn / Node', 'variant', ...rows.map((r) => `RPS ${r} rows`), `RPS ${lo}:${hi}`, ...rows.map((r) => `µs/req ${r} rows`), `bytes ${hi} rows`, `cost vs cheapest at ${hi}`],
    align: ['left', 'left', ...Array(rows.length * 2 + 3).fill('right')],
    rows: lines.map((l) => [
      l.stack,
      l.variant,
      ...rows.map((r) => fmtRps(l.byRows.get(r) ? stepAt(l.byRows.get(r)!, load)?.rps : null)),
      fmtRatio(ratio(stepAt(l.byRows.get(lo) ?? ({} as ComboSummary), load)?.rps, stepAt(l.byRows.get(hi) ?? ({} as ComboSummary), load)?.rps)),
      ...rows.map((r) => fmtCount(us(l.byRows.get(r)))),
      fmtCount(pointOf(l.byRows.get(hi) ?? ({} as ComboSummary))?.responseBytes),
      fmtRatio(ratio(us(l.byRows.get(hi)), Number.isFinite(cheapest) ? cheapest : null)),
    ]),
  };
}

export function cacheTable(a: Analysis): Table {
  const loads = lab(a).loads;
  return {
    id: 'lab-cache',
    headers: ['app / store / conn / Node / mode', ...loads.map((l) => `RPS ${l} users`), ...loads.map((l) => `p95 ms ${l}`), 'hit rate', 'DB µs/req', 'app µs/req', '304s'],
    align: ['left', ...Array(loads.length * 2 + 4).fill('right')],
    rows: a.combos.map((c) => {
      const pt = pointOf(c);
      const hi = stepAt(c, Math.max(...loads));
      const s304 = steps(c).reduce((n, s) => n + (s.endpoints?.view_304?.requests ?? 0), 0);
      return [
        c.label,
        ...loads.map((l) => fmtRps(stepAt(c, l)?.rps)),
        ...loads.map((l) => fmtMs(stepAt(c, l)?.latencyMs.p95)),
        pt?.cache?.hitRate != null ? `${(pt.cache.hitRate * 100).toFixed(1)} %` : MISSING,
        fmtCount(hi?.db?.cpuUsPerRequest),
        fmtCount(hi?.app?.cpuUsPerRequest),
        fmtCount(s304),
      ];
    }),
  };
}

function cacheFindings(a: Analysis): Paragraph[] {
  const ttl = Number(lab(a).options.ttlMs);
  return [
    [
      `Orders stay correct: the order path reads and writes PostgreSQL directly, placing an order drops the product from the memory and Redis caches, and a cached view is at most the TTL (${ttl} ms) old — `,
      'a product\'s stock in a cached view may lag by that long, never an order that does not exist (the data audit below checks every order and stock figure after the run).',
    ],
  ];
}

// ---- charts ----------------------------------------------------------------------------------------------------

function lineSeries(items: { label: string; points: { x: number; y: number | null; passed: boolean; driverBound: boolean }[] }[]): Series[] {
  const dashes = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4]];
  const markers: Series['marker'][] = ['circle', 'rect', 'triangle', 'rectRot'];
  return items.map((it, i) => ({ label: it.label, color: PALETTE[i % PALETTE.length]!, dash: dashes[Math.floor(i / PALETTE.length) % dashes.length]!, marker: markers[i % markers.length]!, points: it.points }));
}

export function buildLabCharts(a: Analysis): ChartSpec[] {
  const name = lab(a).name;
  if (name === 'payload') {
    const lines = payloadLines(a);
    const load = lab(a).loads[0]!;
    const series = (y: (s: Step) => number | null) =>
      lineSeries(
        lines.map((l) => ({
          label: `${l.stack.split(' / ').slice(0, 2).join(' / ')} / ${l.variant}`,
          points: [...l.byRows.entries()].sort(([x], [y2]) => x - y2).map(([rows, c]) => {
            const s = stepAt(c, load);
            return { x: rows, y: s ? y(s) : null, passed: s?.passed ?? false, driverBound: s?.driverBound ?? false };
          }),
        })),
      );
    return [
      { kind: 'line', id: 'payload-rps', file: 'payload-rps-vs-rows.svg', title: `Throughput vs rows per response (${load} users)`, xLabel: 'rows per response (log scale)', yLabel: 'requests per second (log scale)', yUnit: 'req/s', yLog: true, xLog: true, legendTitle: 'app / store / variant', series: series((s) => s.rps), threshold: null },
      { kind: 'line', id: 'payload-cpu', file: 'payload-cpu-vs-rows.svg', title: `App CPU per request vs rows (${load} users)`, xLabel: 'rows per response (log scale)', yLabel: 'app CPU µs per request (log scale)', yUnit: 'µs', yLog: true, xLog: true, legendTitle: 'app / store / variant', series: series((s) => s.app?.cpuUsPerRequest ?? null), threshold: null },
    ];
  }
  const series = (y: (s: Step) => number | null) =>
    lineSeries(a.combos.map((c) => ({ label: c.label, points: steps(c).map((s) => ({ x: s.load, y: y(s), passed: s.passed, driverBound: s.driverBound })) })));
  const thresholdOk = Number.isFinite(a.threshold.ms);
  return [
    { kind: 'line', id: 'lab-rps', file: `${name}-rps-vs-users.svg`, title: `${LAB_TEXT[name]?.title ?? name}: throughput vs users`, xLabel: 'virtual users', yLabel: 'requests per second', yUnit: 'req/s', yLog: false, legendTitle: 'stack / point', series: series((s) => s.rps), threshold: null },
    { kind: 'line', id: 'lab-p95', file: `${name}-p95-vs-users.svg`, title: `${LAB_TEXT[name]?.title ?? name}: p95 latency vs users`, xLabel: 'virtual users', yLabel: 'p95 latency (ms, log scale)', yUnit: 'ms', yLog: true, legendTitle: 'stack / point', series: series((s) => s.latencyMs.p95), threshold: thresholdOk ? { y: a.threshold.ms, label: a.threshold.metricLabel } : null },
  ];
}

/** The lab's sections of the report (before the shared ones: not measured, driver-bound, data, method). */
export function labSections(a: Analysis, charts: ChartSpec[]): Section[] {
  const m = lab(a);
  const t = LAB_TEXT[m.name];
  const options = Object.entries(m.options).map(([k, v]) => `${k} ${v}`).join(', ');
  const findings: Paragraph[] =
    m.name === 'eventloop' ? eventloopFindings(a) : m.name === 'cpu' ? cpuFindings(a) : m.name === 'fanout' ? fanoutFindings(a) : m.name === 'mixed' ? mixedFindings(a) : m.name === 'cache' ? cacheFindings(a) : [];
  const blocks: Block[] = [p(t?.shows ?? ''), p(`Options: ${options}. Every point ran every load (${m.loads.join(', ')} users), so points compare at equal load.`)];
  if (m.name === 'payload') blocks.push({ kind: 'table', table: payloadTable(a) }, p('RPS and µs/req at the same users for every point; µs/req is the app process\'s CPU per request (all its threads). "cost vs cheapest" divides by the cheapest variant at the most rows.'));
  if (m.name === 'cache') blocks.push({ kind: 'table', table: cacheTable(a) });
  if (findings.length) blocks.push({ kind: 'list', items: findings });
  blocks.push(p(t?.source ?? ''));
  blocks.push(...charts.map((c) => ({ kind: 'chart', chartId: c.id, svgFile: c.file, alt: c.title }) as Block));
  return [
    { id: 'lab', title: `Lab: ${t?.title ?? m.name}`, blocks },
    { id: 'lab-steps', title: 'Every point at every load', blocks: [{ kind: 'table', table: labStepsTable(a) }, p('† the load generator was the limit in that step (see Driver-bound steps).')] },
  ];
}
