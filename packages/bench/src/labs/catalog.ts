/**
 * The labs of `stackbench lab <name>`: what each one varies, the requests its virtual users send, the loads it
 * steps through and what it needs beside the app. A lab is a list of points; every point runs the SAME fixed list
 * of loads, every step (no stopping at the first failed one), so points compare at equal load. The points that
 * need the same app settings share one app process (a group); a point that needs other settings (a cache mode, a
 * libuv pool size) gets its own.
 *
 * Parameters and ranges are the lab routes' own (@stackbench/lab): a flag outside a route's range is refused before
 * anything starts, with the route's message.
 */
import { CPU_MODES, LAB_LIMITS, LAB_MESSAGES, WAIT_MODES } from '@stackbench/lab';
import type { MixRequest, ProfileName, ScenarioSpec } from '@stackbench/loadtests';
import type { LabCacheMode } from '@stackbench/contract';
import { CliError } from '../cli-support.js';

export const LAB_NAMES = ['eventloop', 'cpu', 'fanout', 'mixed', 'payload', 'cache'] as const;
export type LabName = (typeof LAB_NAMES)[number];
export const CACHE_MODES: readonly LabCacheMode[] = ['none', 'memory', 'redis', 'http'];

/** What a lab needs running beside the app: the fan-out's slow upstream, or Redis. */
export type LabService = 'upstream' | 'redis';

export interface LabPointPlan {
  point: string;
  params: Record<string, string | number>;
  scenario: ScenarioSpec;
  /** A path fetched once after the steps to record the response size (payload lab). */
  sizePath: string | null;
  /** Read `/lab/cache/stats` before and after the point's steps. */
  cacheStats: boolean;
  /** Read the slow upstream's counters before and after. */
  upstreamStats: boolean;
}

/** Points sharing one app process: the same environment and services. */
export interface LabGroupPlan {
  /** Extra label of the group's app process (e.g. "UV_THREADPOOL_SIZE=16", "cache redis"). */
  label: string;
  env: Record<string, string>;
  services: LabService[];
  points: LabPointPlan[];
}

/** The lab's options after defaults (what results.json records in `method.lab.options`). */
export type LabOptions = Record<string, string | number | boolean>;

export interface LabDefinition {
  name: LabName;
  title: string;
  /** One line: what it shows. */
  summary: string;
  /** The flags of this lab (beyond bench's), with their defaults (as text, parsed by `options`). */
  flags: Record<string, { default: string; help: string }>;
  /** Loads per profile (closed model: virtual users), ascending. */
  loads: Record<ProfileName, number[]>;
  /** Apps when --apps is not given: the probe app (one framework: the lab is about Node), or every app. */
  defaultApps: 'probe' | 'all';
  /** Stores when --stores is not given: the baseline store, or every store that is not a variant of another. */
  defaultStores: 'baseline' | 'all';
  /** Labs about parallelism give the app every core unless --app-cpus says otherwise (0.5 CPU would hide it). */
  appCpusDefault: 'envelope' | 'all';
  /** Parsed and checked options (a CliError naming the flag on a bad value). */
  options(flags: Record<string, string>): LabOptions;
  /** The groups of points for one app (its payload variants matter to the payload lab). */
  groups(options: LabOptions, app: { payloadVariants: readonly string[] }): LabGroupPlan[];
}

// ---- option parsing -------------------------------------------------------------------------------------------

function intOption(flags: Record<string, string>, flag: string, limits: { min: number; max: number }, message: string): number {
  const value = flags[flag]!;
  if (!/^\d+$/.test(value) || Number(value) < limits.min || Number(value) > limits.max) throw new CliError(`--${flag}: ${message}, got "${value}"`);
  return Number(value);
}

function listOption<T extends string>(flags: Record<string, string>, flag: string, known: readonly T[]): T[] {
  const items = flags[flag]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new CliError(`--${flag} needs at least one of ${known.join(', ')}`);
  for (const item of items) if (!known.includes(item as T)) throw new CliError(`--${flag}: unknown "${item}" (known: ${known.join(', ')})`);
  if (new Set(items).size !== items.length) throw new CliError(`--${flag} lists a value twice: "${flags[flag]}"`);
  return items as T[];
}

function intList(flags: Record<string, string>, flag: string, limits: { min: number; max: number }, message: string): number[] {
  const items = flags[flag]!.split(',').map((s) => s.trim());
  const numbers = items.map((item) => intOption({ [flag]: item }, flag, limits, message));
  if (numbers.some((n, i) => i > 0 && n <= numbers[i - 1]!)) throw new CliError(`--${flag} must be strictly ascending, got "${flags[flag]}"`);
  return numbers;
}

const FANOUT_MODE = /^(sequential|all|limit:(\d+))$/;

/** "simple=50,wait=20,db=20,heavy=10" -> shares (any positive integers; they need not add up to 100). */
export function parseMix(text: string): Record<MixClass, number> {
  const shares = { simple: 0, wait: 0, db: 0, heavy: 0 } as Record<MixClass, number>;
  const seen = new Set<string>();
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(simple|wait|db|heavy)=(\d+)$/.exec(part);
    if (!m) throw new CliError(`--mix takes class=share pairs from simple, wait, db, heavy (e.g. simple=50,wait=20,db=20,heavy=10), got "${part}"`);
    if (seen.has(m[1]!)) throw new CliError(`--mix lists ${m[1]} twice`);
    seen.add(m[1]!);
    shares[m[1] as MixClass] = Number(m[2]);
  }
  if (Object.values(shares).every((v) => v === 0)) throw new CliError('--mix needs at least one class with a share above 0');
  return shares;
}
export const MIX_CLASSES = ['simple', 'wait', 'db', 'heavy'] as const;
export type MixClass = (typeof MIX_CLASSES)[number];

// ---- the labs -------------------------------------------------------------------------------------------------

const SIMPLE: MixRequest = { name: 'simple', path: '/lab/simple', weight: 1 };

/** One group, a point per mode: three requests of the route (`path(mode)`) for every /lab/simple beside them. */
function modesBesideSimple(modes: string, name: string, params: Record<string, number>, path: (mode: string) => string): LabGroupPlan[] {
  return [
    {
      label: '',
      env: {},
      services: [],
      // Three of the route for one /lab/simple: the simple requests show what the route does to everyone else.
      points: modes.split(',').map((mode) => point({ point: mode, params: { mode, ...params }, scenario: mix({ name, path: path(mode), weight: 3 }, SIMPLE) })),
    },
  ];
}
const mix = (...requests: MixRequest[]): ScenarioSpec => ({ kind: 'mix', requests });
const point = (p: Omit<LabPointPlan, 'sizePath' | 'cacheStats' | 'upstreamStats'> & Partial<LabPointPlan>): LabPointPlan => ({
  sizePath: null,
  cacheStats: false,
  upstreamStats: false,
  ...p,
});

const eventloop: LabDefinition = {
  name: 'eventloop',
  title: 'Blocking the event loop',
  summary: 'a wait that awaits a timer, blocks the main thread (Atomics.wait), or blocks a worker thread; /lab/simple beside it',
  flags: {
    'wait-ms': { default: '20', help: 'milliseconds each /lab/wait request waits' },
    modes: { default: WAIT_MODES.join(','), help: `which waits (${WAIT_MODES.join(', ')})` },
  },
  loads: { smoke: [1, 2], quick: [1, 4, 16, 64], full: [1, 2, 4, 8, 16, 32, 64, 128] },
  defaultApps: 'probe',
  defaultStores: 'baseline',
  appCpusDefault: 'envelope',
  options: (f) => ({ waitMs: intOption(f, 'wait-ms', LAB_LIMITS.ms, LAB_MESSAGES.ms), modes: listOption(f, 'modes', WAIT_MODES).join(',') }),
  groups: (o) => modesBesideSimple(String(o.modes), 'wait', { waitMs: o.waitMs as number }, (mode) => `/lab/wait?ms=${o.waitMs}&mode=${mode}`),
};

const cpu: LabDefinition = {
  name: 'cpu',
  title: 'CPU-bound work: main thread or worker threads',
  summary: 'count primes below n on the main thread or on a worker_threads pool sized to the cores; /lab/simple beside it',
  flags: {
    n: { default: '200000', help: 'primes are counted below n (200 000: ~10-20 ms of CPU here)' },
    modes: { default: CPU_MODES.join(','), help: `where (${CPU_MODES.join(', ')})` },
  },
  loads: { smoke: [1, 2], quick: [1, 2, 4, 8, 16], full: [1, 2, 3, 4, 6, 8, 12, 16, 32] },
  defaultApps: 'probe',
  defaultStores: 'baseline',
  appCpusDefault: 'all',
  options: (f) => ({ n: intOption(f, 'n', LAB_LIMITS.n, LAB_MESSAGES.n), modes: listOption(f, 'modes', CPU_MODES).join(',') }),
  groups: (o) => modesBesideSimple(String(o.modes), 'cpu', { n: o.n as number }, (mode) => `/lab/cpu?n=${o.n}&mode=${mode}`),
};

const fanout: LabDefinition = {
  name: 'fanout',
  title: 'Fan-out: sequential await, Promise.all, a bounded pool; and the libuv thread pool',
  summary: 'C calls to a slow local upstream per request, one after another, all at once, or K at a time; async PBKDF2 with UV_THREADPOOL_SIZE 4 and 16',
  flags: {
    calls: { default: '20', help: 'outgoing calls per request' },
    'upstream-ms': { default: '20', help: 'the upstream answers after this many ms' },
    modes: { default: 'sequential,all,limit:5', help: 'sequential, all, limit:K' },
    iterations: { default: '20000', help: 'PBKDF2-SHA512 iterations per /lab/pbkdf2 request' },
    threadpool: { default: '4,16', help: 'UV_THREADPOOL_SIZE values for the PBKDF2 points (0 skips them)' },
  },
  loads: { smoke: [1, 2], quick: [1, 4, 16, 64], full: [1, 2, 4, 8, 16, 32, 64, 128] },
  defaultApps: 'probe',
  defaultStores: 'baseline',
  appCpusDefault: 'all',
  options(f) {
    const modes = f.modes!.split(',').map((s) => s.trim());
    for (const m of modes) {
      const match = FANOUT_MODE.exec(m);
      if (!match || (match[2] !== undefined && (Number(match[2]) < LAB_LIMITS.limit.min || Number(match[2]) > LAB_LIMITS.limit.max))) throw new CliError(`--modes: ${LAB_MESSAGES.fanoutMode}, got "${m}"`);
    }
    const threadpool = f.threadpool === '0' ? [] : intList(f, 'threadpool', { min: 1, max: 1024 }, 'UV_THREADPOOL_SIZE values are integers from 1 to 1024');
    return {
      calls: intOption(f, 'calls', LAB_LIMITS.calls, LAB_MESSAGES.calls),
      upstreamMs: intOption(f, 'upstream-ms', LAB_LIMITS.ms, LAB_MESSAGES.ms),
      modes: modes.join(','),
      iterations: intOption(f, 'iterations', LAB_LIMITS.iterations, LAB_MESSAGES.iterations),
      threadpool: threadpool.join(','),
    };
  },
  groups(o) {
    const groups: LabGroupPlan[] = [
      {
        label: '',
        env: {},
        services: ['upstream'],
        points: String(o.modes)
          .split(',')
          .map((mode) =>
            point({
              point: mode,
              params: { mode, calls: o.calls as number, upstreamMs: o.upstreamMs as number },
              scenario: mix({ name: 'fanout', path: `/lab/fanout?calls=${o.calls}&ms=${o.upstreamMs}&mode=${mode}`, weight: 1 }),
              upstreamStats: true,
            }),
          ),
      },
    ];
    for (const size of String(o.threadpool).split(',').filter(Boolean)) {
      groups.push({
        label: `UV_THREADPOOL_SIZE=${size}`,
        env: { UV_THREADPOOL_SIZE: size },
        services: [],
        points: [point({ point: `pbkdf2 threads=${size}`, params: { threadpool: Number(size), iterations: o.iterations as number }, scenario: mix({ name: 'pbkdf2', path: `/lab/pbkdf2?iterations=${o.iterations}`, weight: 1 }) })],
      });
    }
    return groups;
  },
};

const mixed: LabDefinition = {
  name: 'mixed',
  title: 'The mixed load',
  summary: 'the articles\' mix: simple, I/O wait, database read and heavy CPU requests by share; which class breaks first',
  flags: {
    mix: { default: 'simple=50,wait=20,db=20,heavy=10', help: 'shares of simple, wait (await a timer), db (GET /products/:id), heavy (/lab/cpu on the main thread)' },
    'wait-ms': { default: '20', help: 'ms of the wait class' },
    n: { default: '100000', help: 'n of the heavy class' },
  },
  loads: { smoke: [1, 2], quick: [1, 4, 16, 64, 256], full: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] },
  defaultApps: 'probe',
  defaultStores: 'baseline',
  appCpusDefault: 'envelope',
  options(f) {
    const shares = parseMix(f.mix!);
    return { mix: MIX_CLASSES.map((c) => `${c}=${shares[c]}`).join(','), waitMs: intOption(f, 'wait-ms', LAB_LIMITS.ms, LAB_MESSAGES.ms), n: intOption(f, 'n', LAB_LIMITS.n, LAB_MESSAGES.n) };
  },
  groups(o) {
    const shares = parseMix(String(o.mix));
    const paths: Record<MixClass, string> = { simple: '/lab/simple', wait: `/lab/wait?ms=${o.waitMs}&mode=await`, db: '/products/{product}', heavy: `/lab/cpu?n=${o.n}&mode=main` };
    const requests = MIX_CLASSES.filter((c) => shares[c] > 0).map((c) => ({ name: c, path: paths[c], weight: shares[c] }));
    return [{ label: '', env: {}, services: [], points: [point({ point: 'mix', params: { ...shares }, scenario: mix(...requests) })] }];
  },
};

const payload: LabDefinition = {
  name: 'payload',
  title: 'Payload size and serialization',
  summary: 'GET /lab/products?rows=N on every app and store, each app in its serialization variants: rps, p95, CPU per request and bytes against rows',
  flags: {
    rows: { default: '1,10,100,1000', help: `rows per response (${LAB_LIMITS.rows.min}..${LAB_LIMITS.rows.max})` },
    variants: { default: 'all', help: "the app's serialization variants to run (all: every one it lists)" },
  },
  loads: { smoke: [2], quick: [16], full: [4, 16, 64] },
  defaultApps: 'all',
  defaultStores: 'all',
  appCpusDefault: 'envelope',
  options: (f) => ({ rows: intList(f, 'rows', LAB_LIMITS.rows, LAB_MESSAGES.rows).join(','), variants: f.variants! }),
  groups(o, app) {
    const wanted = o.variants === 'all' ? app.payloadVariants : String(o.variants).split(',').filter((v) => app.payloadVariants.includes(v));
    const rows = String(o.rows).split(',').map(Number);
    // The same first page every time (after=0): the rows are the variable, not which rows.
    const points = wanted.flatMap((variant) =>
      rows.map((r) => {
        const path = `/lab/products?rows=${r}&variant=${variant}&after=0`;
        return point({ point: `${variant} rows=${r}`, params: { variant, rows: r }, scenario: mix({ name: 'products', path, weight: 1 }), sizePath: path });
      }),
    );
    return points.length ? [{ label: '', env: {}, services: [], points }] : [];
  },
};

const cache: LabDefinition = {
  name: 'cache',
  title: 'Caching: none, in-process LRU, Redis, HTTP revalidation',
  summary: 'product views of a hot set through each cache mode, with orders placed meanwhile: rps, p95, hit rate and PostgreSQL CPU per request',
  flags: {
    cache: { default: CACHE_MODES.join(','), help: `modes (${CACHE_MODES.join(', ')})` },
    'ttl-ms': { default: '1000', help: 'time to live (http: whole seconds of max-age); the stale window' },
    'hot-products': { default: '100', help: 'products the views are spread over' },
    'order-share': { default: '5', help: '% of iterations that also order the viewed product' },
  },
  loads: { smoke: [1, 2], quick: [4, 16, 64], full: [4, 8, 16, 32, 64, 128] },
  defaultApps: 'probe',
  defaultStores: 'baseline',
  appCpusDefault: 'envelope',
  options: (f) => ({
    cache: listOption(f, 'cache', CACHE_MODES).join(','),
    ttlMs: intOption(f, 'ttl-ms', { min: 1, max: 3_600_000 }, 'the TTL is an integer number of ms from 1 to 3600000'),
    hotProducts: intOption(f, 'hot-products', { min: 1, max: 100_000 }, 'an integer from 1 to 100000'),
    orderShare: intOption(f, 'order-share', { min: 0, max: 100 }, 'a percentage from 0 to 100'),
  }),
  groups: (o) =>
    String(o.cache)
      .split(',')
      .map((mode) => ({
        label: `cache ${mode}`,
        env: { STACKBENCH_LAB_CACHE: mode, STACKBENCH_LAB_CACHE_TTL_MS: String(o.ttlMs) },
        services: mode === 'redis' ? (['redis'] as LabService[]) : [],
        points: [
          point({
            point: mode,
            params: { cache: mode, ttlMs: o.ttlMs as number, hotProducts: o.hotProducts as number, orderShare: o.orderShare as number },
            scenario: { kind: 'cache-views', hotProducts: o.hotProducts as number, orderShare: (o.orderShare as number) / 100, conditional: mode === 'http' },
            cacheStats: true,
          }),
        ],
      })),
};

export const LABS: Record<LabName, LabDefinition> = { eventloop, cpu, fanout, mixed, payload, cache };

export function findLab(name: string | undefined): LabDefinition {
  if (!name) throw new CliError(`which lab? stackbench lab <${LAB_NAMES.join('|')}> [flags]`);
  if (!(LAB_NAMES as readonly string[]).includes(name)) throw new CliError(`unknown lab "${name}" (known: ${LAB_NAMES.join(', ')})`);
  return LABS[name as LabName];
}

/** Every lab flag of every lab (the parser knows them all, so a flag of another lab is a clear error, not "unknown"). */
export function allLabFlags(): string[] {
  return [...new Set(Object.values(LABS).flatMap((l) => Object.keys(l.flags)))];
}
