import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parseThreshold } from '@stackbench/loadtests';
import {
  analyze,
  attribution,
  buildCharts,
  envelopeText,
  fmtMs,
  fmtRatio,
  loadChartJs,
  readResults,
  renderHtml,
  renderLeaderboard,
  renderLeaderboardTable,
  renderReadme,
  renderStamp,
  renderSummary,
  renderSvgCharts,
  replaceMarkedSection,
  resultsSchemaPath,
  resultsSchemaText,
  validateResults,
  writeReport,
  writeResultsIndex,
  type BarChartSpec,
  type LineChartSpec,
  type Results,
} from '../src/index.js';
import { PALETTE } from '../src/charts.js';
import { rangesOverlap } from '../src/model.js';
import { entriesOf, loadFixture, openModel, parseMdTable, rowOf } from './helpers.js';

const BAD = /NaN|undefined|Infinity|\[object Object\]|null/;

const tmpDirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'stackbench-report-'));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** Null when `committed` is the schema results.ts generates; else where it first differs and how to fix it. */
function schemaStaleness(committed: string): string | null {
  const expected = resultsSchemaText();
  if (committed === expected) return null;
  const have = committed.split('\n');
  const want = expected.split('\n');
  const line = want.findIndex((l, i) => l !== have[i]);
  return `results.schema.json differs from results.ts at line ${(line === -1 ? want.length : line) + 1}: run npm run docs`;
}

describe('results.schema.json', () => {
  const committed = readFileSync(resultsSchemaPath, 'utf8');

  it('is the schema results.ts generates (stale otherwise: run npm run docs)', () => {
    expect(schemaStaleness(committed)).toBeNull();
  });

  it('the stale check fails on a copy that differs by one keyword', () => {
    const edited = committed.replace('"minimum": 0', '"minimum": 1');
    expect(edited).not.toBe(committed);
    expect(schemaStaleness(edited)).toMatch(/^results\.schema\.json differs from results\.ts at line \d+: run npm run docs$/);
    expect(schemaStaleness(committed.trimEnd())).not.toBeNull();
  });

  it('accepts the fixture, by validateResults and by an independent draft-07 validator reading the committed file', () => {
    const fixture = loadFixture();
    expect(validateResults(fixture)).toEqual([]);
    const validate = new Ajv({ allErrors: true }).compile(JSON.parse(committed));
    expect(validate(fixture), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects broken copies, naming the path of what is wrong', () => {
    const validate = new Ajv({ allErrors: true }).compile(JSON.parse(committed));
    const broken: [string, string, (r: any) => void][] = [
      ['missing environment', '/environment', (r) => delete r.environment],
      ['schemaVersion 1', '/schemaVersion', (r) => (r.schemaVersion = 1)],
      ['unknown status', '/combos/0/status', (r) => (r.combos[0].status = 'exploded')],
      ['breakpoint load as text', '/combos/0/breakpoint/load', (r) => (r.combos[0].breakpoint.load = '100')],
      ['error rate above 1', '/combos/0/steps/0/errorRate', (r) => (r.combos[0].steps[0].errorRate = 3)],
      ['unknown engine', '/method/engine', (r) => (r.method.engine = 'wrk')],
      ['missing latency p95', '/combos/0/steps/0/latencyMs/p95', (r) => delete r.combos[0].steps[0].latencyMs.p95],
      ['errors by kind without dropped', '/combos/0/steps/0/errorsByKind/dropped', (r) => delete r.combos[0].steps[0].errorsByKind.dropped],
      ['threshold without a latency condition', '/method/threshold/latency', (r) => (r.method.threshold.latency = [])],
      ['unknown envelope mechanism', '/environment/envelope/mechanism', (r) => (r.environment.envelope.mechanism = 'docker')],
      ['throttled above 100 %', '/combos/0/steps/0/app/throttledPct', (r) => (r.combos[0].steps[0].app.throttledPct = 120)],
      ['baseline without a conn', '/environment/registry/baseline/conn', (r) => delete r.environment.registry.baseline.conn],
      ['cost without exact', '/combos/0/cost/exact', (r) => delete r.combos[0].cost.exact],
      ['six error samples', '/combos/0/steps/0/errorSamples', (r) => (r.combos[0].steps[0].errorSamples = ['a', 'b', 'c', 'd', 'e', 'f'])],
      ['pool size 0', '/combos/0/poolSize', (r) => (r.combos[0].poolSize = 0)],
    ];
    for (const [name, path, mutate] of broken) {
      const doc = loadFixture();
      mutate(doc);
      const problems = validateResults(doc);
      expect(problems.some((p) => p.startsWith(`${path}: `)), `${name}: ${problems.join(' | ')}`).toBe(true);
      expect(validate(doc), name).toBe(false);
    }
  });

  it('is exported by the package', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['./results.schema.json']).toBe('./results.schema.json');
    expect(JSON.parse(committed).$schema).toBe('http://json-schema.org/draft-07/schema#');
  });
});

describe('analysis of the fixture', () => {
  const a = analyze(loadFixture());
  const find = (label: string) => a.combos.find((c) => c.label === label)!;

  it('picks the median repeat and its breakpoint', () => {
    expect(find('fastify / pg / pool / 24.11.0').breakpoint?.load).toBe(150); // 150, 150, 140
    expect(find('fastify / pg / pool / 24.11.0').rep?.repeat).toBe(1);
    expect(find('node-http / pg / pool / 24.11.0').breakpoint?.load).toBe(100); // 100, 100, 110
    expect(find('fastify / drizzle / pool / 24.11.0').breakpoint?.load).toBe(90); // 90, 80, 90
    // repeat 2 failed; of 100 and 90 the lower middle is taken
    expect(find('nest-fastify / pg / pool / 24.11.0').breakpoint?.load).toBe(90);
    expect(find('nest-fastify / pg / pool / 24.11.0').rep?.repeat).toBe(3);
    expect(find('nest-express / pg / pool / 24.11.0').breakpoint).toBeNull();
    expect(find('nest-express / pg / pool / 24.11.0').belowLoad).toBe(10);
    expect(a.ranked[0]!.label).toBe('fastify / pg / pool / 24.11.0');
    expect(a.ranked.at(-1)!.label).toBe('nest-express / pg / pool / 24.11.0');
    expect(a.threshold).toMatchObject({ metric: 'p95', ms: 100, op: '<', label: 'p95 < 100 ms' });
    expect(a.unit).toEqual({ model: 'closed', short: 'users', long: 'virtual users' });
  });

  it('ranks by what beats a combination in every repeat: overlapping ranges share a rank', () => {
    expect(a.ranked.map((c) => [c.label, c.rank, c.tied])).toEqual([
      ['fastify / pg / pool / 24.11.0', 1, false], // 140..150
      ['fastify / pg / pool / 20.19.5', 2, false], // 120
      ['node-http / pg / pool / 24.11.0', 3, true], // 100..110
      ['nest-fastify / pg / pool / 24.11.0', 3, true], // 90..100: overlaps node-http at 100
      ['fastify / drizzle / pool / 24.11.0', 4, false], // 80..90: nest-fastify's 90 does not beat its 90
      ['node-http / pg / pool / 20.19.5', 5, false],
      ['express / pg / pool / 24.11.0', 7, false],
      ['fastify / typeorm / pool / 24.11.0', 8, false],
      ['express / pg / pool / 20.19.5', 9, false],
      ['node-http / pg / per-request / 24.11.0', 10, false], // 20..30
      ['nest-express / pg / pool / 24.11.0', 11, false], // below the first step in every repeat
    ]);
    const [leader, , base, nest] = a.ranked;
    expect(rangesOverlap(base!, nest!)).toBe(true);
    // fastify on Node 24 is clearly ahead of both: its worst repeat beats their best.
    expect(leader!.range!.lo).toBeGreaterThan(Math.max(base!.range!.hi, nest!.range!.hi));
    expect(rangesOverlap(leader!, base!)).toBe(false);
  });

  it('computes attribution ratios against the registry baseline, and marks the ones inside the noise', () => {
    const store = attribution(a, 'store');
    expect(store.reference).toBe('pg');
    expect(store.columns).toEqual(['pg', 'drizzle', 'typeorm']);
    expect(store.summary.get('drizzle')?.median).toBeCloseTo(90 / 150, 6);
    expect(store.summary.get('typeorm')?.median).toBeCloseTo(60 / 150, 6);
    const conn = attribution(a, 'conn');
    expect(conn.summary.get('per-request')?.median).toBeCloseTo(0.3, 6);
    const runtime = attribution(a, 'runtime');
    expect(runtime.reference).toBe('20.19.5');
    // node-http 100/80, express 70/40, fastify 150/120 → median 1.25
    expect(runtime.summary.get('24.11.0')).toMatchObject({ count: 3, withinNoise: 0 });
    expect(runtime.summary.get('24.11.0')?.median).toBeCloseTo(1.25, 6);
    const app = attribution(a, 'app');
    expect(app.columns).toEqual(['node-http', 'express', 'fastify', 'nest-express', 'nest-fastify']);
    // express: 70/100 on 24, 40/80 on 20 → median 0.6
    expect(app.summary.get('express')?.median).toBeCloseTo(0.6, 6);
    expect(app.summary.get('nest-express')).toMatchObject({ median: null, count: 0 });
    expect(app.summary.get('nest-fastify')).toMatchObject({ count: 1, withinNoise: 1 });
    const row24 = app.rows.find((r) => r.group === 'pg / pool / 24.11.0')!;
    expect(row24.cells.get('nest-fastify')?.withinNoise).toBe(true);
    expect(row24.cells.get('express')?.withinNoise).toBe(false);
    expect(row24.cells.get('node-http')?.withinNoise).toBe(false); // the reference is never "noise" with itself
  });

  it('names each row by the fixed dimensions in header order (app / store / conn / Node)', () => {
    expect(attribution(a, 'conn').rows.map((r) => r.group)).toEqual(['node-http / pg / 24.11.0']);
    expect(attribution(a, 'runtime').rows.map((r) => r.group)).toEqual(['node-http / pg / pool', 'express / pg / pool', 'fastify / pg / pool']);
    expect(attribution(a, 'store').rows.map((r) => r.group)).toEqual(['fastify / pool / 24.11.0']);
  });
});

describe('README.md tables', () => {
  const results = loadFixture();
  const md = renderReadme(results);

  it('stamps machine, envelope, versions, method and the exact command', () => {
    for (const s of [
      'AMD EPYC 7B13',
      '2 cores',
      '7.8 GiB',
      '**Envelope:** app 0.5 CPU / 512 MiB, PostgreSQL 1 CPU / 1024 MiB (cgroup-v1, 10 ms CPU period)',
      'PostgreSQL:** 16.4',
      '20.19.5 (load engine)',
      'apps on 20.19.5, 24.11.0',
      'embedded Node driver, closed model (virtual users)',
      'profile full,',
      'threshold p95 < 100 ms and errors < 1.0 %',
      '30 s per step after 10.0 s warm-up, 3 repeats, cost read at 40 users; pool size 10',
      'fastify | 5.6.1',
      'typeorm | 0.3.27',
      'e9c38c3',
      'app: cpu 0; postgres + driver: cpu 1 (taskset)',
    ]) {
      expect(md).toContain(s);
    }
    expect(md).not.toContain('(preset ');
    expect(md).toContain('`' + results.command + '`');
    expect(renderStamp({ ...results, method: { ...results.method, preset: 'article' } })).toContain('profile full (preset article),');
  });

  it('leaderboard: columns, tie-aware ranks, and ratios to the node-http + pg + pool baseline on the same runtime', () => {
    const t = parseMdTable(renderLeaderboardTable(results));
    expect(t.headers).toEqual(['#', 'app / store / conn / Node', 'Breakpoint users', 'Repeats', 'RPS', 'p95 ms', 'Server p95 ms', 'App µs/req', 'DB µs/req', 'App CPU %', 'Peak RSS MiB', 'Notes']);
    expect(t.rows.map((r) => [r[0], r[1]])).toEqual([
      ['1', 'fastify / pg / pool / 24.11.0'],
      ['2', 'fastify / pg / pool / 20.19.5'],
      ['=3', 'node-http / pg / pool / 24.11.0'],
      ['=3', 'nest-fastify / pg / pool / 24.11.0'],
      ['4', 'fastify / drizzle / pool / 24.11.0'],
      ['5', 'node-http / pg / pool / 20.19.5'],
      ['7', 'express / pg / pool / 24.11.0'],
      ['8', 'fastify / typeorm / pool / 24.11.0'],
      ['9', 'express / pg / pool / 20.19.5'],
      ['10', 'node-http / pg / per-request / 24.11.0'],
      ['11', 'nest-express / pg / pool / 24.11.0'],
    ]);
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0', 1)).toMatchObject({
      'Breakpoint users': '150 (1.50x)',
      Repeats: '140..150',
      RPS: '1200.0 (1.50x)',
      'p95 ms': '75.0',
      'Server p95 ms': '45.0',
      'App µs/req': '300 (0.75x)', // 300 / 400
      'DB µs/req': '400 (1.00x)',
      'App CPU %': '36 (72 % of 0.5)', // 36 % of one core is 72 % of the app's 0.5-CPU quota
      'Peak RSS MiB': '75',
    });
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0', 1)['Notes']).toContain('driver-bound †');
    const base = rowOf(t, 'node-http / pg / pool / 24.11.0', 1);
    expect(base).toMatchObject({ 'Breakpoint users': '100 (1.00x)', Repeats: '100..110', 'App µs/req': '400 (1.00x)', Notes: 'baseline' });
    // Node 20 rows compare with the Node 20 baseline (80 users, 500 µs), not the Node 24 one.
    expect(rowOf(t, 'node-http / pg / pool / 20.19.5', 1)).toMatchObject({ 'Breakpoint users': '80 (1.00x)', Notes: 'baseline' });
    expect(rowOf(t, 'express / pg / pool / 20.19.5', 1)).toMatchObject({ 'Breakpoint users': '40 (0.50x)', 'App µs/req': '600 (1.20x)' });
    expect(rowOf(t, 'fastify / pg / pool / 20.19.5', 1)).toMatchObject({ 'Breakpoint users': '120 (1.50x)', 'App µs/req': '400 (0.80x)' });
    // Per-request: PostgreSQL does the connection work; its 40-user cost step failed, so the cost is from 30 users.
    const perRequest = rowOf(t, 'node-http / pg / per-request / 24.11.0', 1);
    expect(perRequest).toMatchObject({ 'Breakpoint users': '30 (0.30x)', Repeats: '20..30', 'DB µs/req': '2400 (6.00x)', Notes: 'cost at 30 users' });
    const nest = rowOf(t, 'nest-express / pg / pool / 24.11.0', 1);
    expect(nest).toMatchObject({ 'Breakpoint users': '< 10 (–)', Repeats: '< 10', RPS: '–', 'Server p95 ms': '–', 'App µs/req': '–' });
    expect(nest['Notes']).toContain('over the threshold at the first step');
    expect(rowOf(t, 'nest-fastify / pg / pool / 24.11.0', 1)['Notes']).toContain('1 of 3 repeats not measured');
    expect(rowOf(t, 'fastify / drizzle / pool / 24.11.0', 1)['Notes']).toContain('integrity check failed ‡');
    // Sorted by rank: the # column never goes back up.
    const ranks = t.rows.map((r) => Number(r[0]!.replace('=', '')));
    expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
  });

  it('leaderboard prose explains the tie mark, server time and cost, and the footnotes link to their sections', () => {
    const lb = renderLeaderboard(results);
    expect(lb).toContain('Breakpoint: the most virtual users whose step kept p95 < 100 ms and errors < 1.0 %');
    expect(lb).toContain('`=2` marks a tie');
    expect(lb).toContain('CPU microseconds per request at 40 users');
    expect(lb).toContain('the ratio to **node-http + pg + pool** on the same Node version');
    expect(lb).toContain('† The load generator was the limit at or just past the breakpoint: the app may sustain more; see [driver-bound steps](#driver-bound-steps).');
    expect(lb).toContain('‡ The post-run data check found problems: see [data integrity](#data-integrity).');
    expect(lb).not.toContain('One repeat');
  });

  it('says "no baseline in this run" when the baseline is missing', () => {
    const r: Results = { ...results, combos: results.combos.filter((c) => !(c.app === 'node-http' && c.store === 'pg' && c.conn === 'pool' && c.runtime === '20.19.5')) };
    const lb = renderLeaderboard(r);
    const t = parseMdTable(lb);
    const row = rowOf(t, 'express / pg / pool / 20.19.5', 1);
    expect(row['Breakpoint users']).toBe('40');
    expect(row['App µs/req']).toBe('600');
    expect(row['Notes']).toContain('no baseline in this run');
    expect(lb).toContain('Node 20.19.5: no baseline in this run');
    // Node 24 rows still have ratios
    expect(rowOf(t, 'express / pg / pool / 24.11.0', 1)['Breakpoint users']).toBe('70 (0.70x)');
  });

  it('warns that one repeat does not test the ranks against noise', () => {
    const one: Results = { ...results, method: { ...results.method, repeats: 1 }, combos: results.combos.filter((c) => c.repeat === 1) };
    expect(renderLeaderboard(one)).toContain('One repeat: the ranks are not tested against noise');
    expect(renderReadme(one)).not.toContain('## Repeats');
  });

  it('attribution tables as ratios, with the cost in words and "noise" where the repeat ranges overlap', () => {
    const stores = parseMdTable(md, '### Stores');
    expect(stores.headers).toEqual(['app / conn / Node', 'pg', 'drizzle', 'typeorm']);
    expect(rowOf(stores, 'fastify / pool / 24.11.0')).toMatchObject({ pg: '150 (ref.)', drizzle: '90 (0.60x)', typeorm: '60 (0.40x)' });
    expect(rowOf(stores, 'median ratio to pg')).toMatchObject({ pg: '1.00x', drizzle: '0.60x', typeorm: '0.40x' });
    expect(md).toContain('**drizzle** costs 40 % of breakpoint users vs pg (0.60x, median of 1 comparison).');
    expect(md).toContain('**typeorm** costs 60 % of breakpoint users vs pg (0.40x, median of 1 comparison).');

    const apps = parseMdTable(md, '### Apps');
    expect(apps.headers).toEqual(['store / conn / Node', 'node-http', 'express', 'fastify', 'nest-express', 'nest-fastify']);
    expect(rowOf(apps, 'pg / pool / 24.11.0')).toMatchObject({ 'node-http': '100 (ref.)', express: '70 (0.70x)', fastify: '150 (1.50x)', 'nest-express': '< 10 (–)', 'nest-fastify': '90 (0.90x, noise)' });
    expect(rowOf(apps, 'pg / pool / 20.19.5')).toMatchObject({ 'node-http': '80 (ref.)', express: '40 (0.50x)', fastify: '120 (1.50x)', 'nest-express': '–' });
    expect(rowOf(apps, 'median ratio to node-http')).toMatchObject({ express: '0.60x', fastify: '1.50x', 'nest-express': '–', 'nest-fastify': '0.90x' });
    expect(md).toContain('**express** costs 40 % of breakpoint users vs node-http (0.60x, median of 2 comparisons, range 0.50x..0.70x).');
    expect(md).toContain('**nest-express**: not comparable (no node-http counterpart with a breakpoint).');
    expect(md).toContain('**nest-fastify** vs node-http: within noise (0.90x, median of 1 comparison; the repeat ranges overlap).');
    expect(md).not.toMatch(/nest-fastify\*\* (costs|gains)/);

    const conns = parseMdTable(md, '### Connections');
    expect(conns.headers).toEqual(['app / store / Node', 'pool', 'per-request']);
    expect(rowOf(conns, 'node-http / pg / 24.11.0')).toMatchObject({ pool: '100 (ref.)', 'per-request': '30 (0.30x)' });
    expect(md).toContain('**per-request** costs 70 % of breakpoint users vs pool');

    const runtimes = parseMdTable(md, '### Runtimes');
    expect(runtimes.headers).toEqual(['app / store / conn', 'Node 20.19.5', 'Node 24.11.0']);
    expect(rowOf(runtimes, 'express / pg / pool')).toMatchObject({ 'Node 20.19.5': '40 (ref.)', 'Node 24.11.0': '70 (1.75x)' });
    expect(md).toContain('**Node 24.11.0** gains 25 % of breakpoint users vs Node 20.19.5 (1.25x, median of 3 comparisons, range 1.25x..1.75x).');
  });

  it('counts the comparisons inside the noise when only some of them are', () => {
    const r = loadFixture();
    // node-http on Node 20: 80, 100, 80 — its range now reaches Node 24's 100..110.
    entriesOf(r, 'node-http', 'pg', 'pool', '20.19.5').find((e) => e.repeat === 2)!.breakpoint!.load = 100;
    const out = renderReadme(r);
    expect(rowOf(parseMdTable(out, '### Runtimes'), 'node-http / pg / pool')).toMatchObject({ 'Node 20.19.5': '80 (ref.)', 'Node 24.11.0': '100 (1.25x, noise)' });
    expect(rowOf(parseMdTable(out, '### Runtimes'), 'fastify / pg / pool')['Node 24.11.0']).toBe('150 (1.25x)');
    expect(out).toContain('**Node 24.11.0** gains 25 % of breakpoint users vs Node 20.19.5 (1.25x, median of 3 comparisons, range 1.25x..1.75x; 1 of 3 within noise).');
  });

  it('cost per request: app and PostgreSQL CPU at the cost load, * where that step failed', () => {
    const t = parseMdTable(md, '## Cost per request');
    expect(t.headers).toEqual(['app / store / conn / Node', 'users', 'RPS', 'App CPU µs/req', 'PostgreSQL CPU µs/req', 'Total µs/req', 'In PostgreSQL']);
    expect(t.rows.map((r) => r[0])).toEqual(parseMdTable(renderLeaderboardTable(results)).rows.map((r) => r[1]));
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0')).toMatchObject({ users: '40', RPS: '320.0', 'App CPU µs/req': '300', 'PostgreSQL CPU µs/req': '400', 'Total µs/req': '700', 'In PostgreSQL': '57 %' });
    expect(rowOf(t, 'node-http / pg / pool / 24.11.0')).toMatchObject({ 'Total µs/req': '800', 'In PostgreSQL': '50 %' });
    expect(rowOf(t, 'node-http / pg / per-request / 24.11.0')).toMatchObject({ users: '30 *', RPS: '240.0', 'App CPU µs/req': '600', 'PostgreSQL CPU µs/req': '2400', 'Total µs/req': '3000', 'In PostgreSQL': '80 %' });
    expect(rowOf(t, 'nest-express / pg / pool / 24.11.0')).toMatchObject({ users: '–', 'Total µs/req': '–', 'In PostgreSQL': '–' });
    expect(md).toContain('CPU time per completed request at 40 users');
    expect(md).toContain('\\* that step failed the threshold: the figures are from the highest passing step below it.');

    const exact = loadFixture();
    for (const e of entriesOf(exact, 'node-http', 'pg', 'per-request', '24.11.0')) e.cost = e.cost && { ...e.cost, load: 40, exact: true };
    const out = renderReadme(exact);
    expect(rowOf(parseMdTable(out, '## Cost per request'), 'node-http / pg / per-request / 24.11.0')['users']).toBe('40');
    expect(out).not.toContain('that step failed the threshold');
  });

  it('per-endpoint p95 at the breakpoint and the request that breaks first', () => {
    const t = parseMdTable(md, '## Per endpoint');
    expect(t.headers).toEqual(['app / store / conn / Node', 'users', 'list p95 ms', 'product p95 ms', 'order p95 ms', 'order_view p95 ms', 'First over p95 < 100 ms']);
    const typeorm = rowOf(t, 'fastify / typeorm / pool / 24.11.0');
    expect(typeorm).toMatchObject({ users: '60', 'list p95 ms': '88.0', 'product p95 ms': '44.0', 'order p95 ms': '110.0', 'order_view p95 ms': '35.2' });
    expect(typeorm['First over p95 < 100 ms']).toBe('order at 60 users (110.0 ms)');
    expect(md).toContain('| **110.0** |'); // the slowest endpoint is bold
    const f = rowOf(t, 'fastify / pg / pool / 24.11.0');
    expect(f['list p95 ms']).toBe('82.5'); // 75 × 1.1
    expect(f['First over p95 < 100 ms']).toMatch(/^list at 160 users/);
  });

  it('lists unverified and failed combinations with reasons', () => {
    const t = parseMdTable(md, '## Not measured');
    expect(rowOf(t, 'express / typeorm / pool / 24.11.0')).toMatchObject({ Repeat: '1', Status: 'unverified', Reason: 'failed 1 of 24 contract checks: GET /orders/{id} returns the order' });
    expect(rowOf(t, 'nest-fastify / pg / pool / 24.11.0')).toMatchObject({ Repeat: '2', Status: 'failed', Reason: 'app exited (code 1) during the steps: Error: Connection terminated unexpectedly' });
    expect(rowOf(t, 'nest-express / pg / pool / 24.11.0')).toMatchObject({
      Repeat: '1, 2, 3',
      Status: 'measured, no breakpoint',
      Reason: 'already over p95 < 100 ms at the first step (10 users: p95 150.0 ms, errors 0.2 %)',
    });
  });

  it('flags driver-bound steps with the rule\'s reasons', () => {
    const t = parseMdTable(md, '## Driver-bound steps');
    expect(t.headers).toEqual(['app / store / conn / Node', 'Repeat', 'users', 'Step', 'Generator CPU %', 'Why', 'At the breakpoint']);
    expect(t.rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[6]])).toEqual([
      ['fastify / pg / pool / 24.11.0', '1', '150', 'passed', '96', 'yes'],
      ['fastify / pg / pool / 24.11.0', '1', '160', 'failed', '96', 'yes'],
      // repeat 2 is not the median repeat: not at the breakpoint the tables show
      ['fastify / pg / pool / 24.11.0', '2', '160', 'failed', '96', ''],
    ]);
    const step = entriesOf(results, 'fastify', 'pg', 'pool', '24.11.0')[0]!.steps.find((s) => s.load === 150)!;
    expect(step.driverBoundReasons).toHaveLength(2);
    expect(t.rows[0]![5]).toBe(step.driverBoundReasons.join('; '));
    expect(t.rows[0]![5]).toContain('event-loop delay p99 45.2 ms');
    expect(md).toContain('its CPU at ≥ 90 % of what it could use, or its event loop ≥ 10 ms late');
  });

  it('repeats: median breakpoint and spread', () => {
    const t = parseMdTable(md, '## Repeats');
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0')).toMatchObject({ Measured: '3 of 3', 'Median users (repeat)': '150 (#1)', 'users min..max': '140..150', Spread: '7 %', 'RPS min..max': '1120.0..1200.0' });
    expect(rowOf(t, 'nest-fastify / pg / pool / 24.11.0')).toMatchObject({ Measured: '2 of 3', 'Median users (repeat)': '90 (#3)', 'users min..max': '90..100' });
    expect(rowOf(t, 'express / pg / pool / 24.11.0')).toMatchObject({ 'users min..max': '70', Spread: '0 %' });
    expect(rowOf(t, 'nest-express / pg / pool / 24.11.0')).toMatchObject({ 'Median users (repeat)': '< 10 (#2)', 'users min..max': '< 10', Spread: '–' });
  });

  it('a repeat already over the threshold at its first step counts as "< that load" in the ranges', () => {
    const r = loadFixture();
    const third = entriesOf(r, 'express', 'pg', 'pool', '24.11.0').find((e) => e.repeat === 3)!;
    third.breakpoint = null;
    third.steps = [{ ...third.steps[0]!, passed: false }];
    const out = renderReadme(r);
    expect(rowOf(parseMdTable(out, '## Repeats'), 'express / pg / pool / 24.11.0')).toMatchObject({ 'Median users (repeat)': '70 (#1)', 'users min..max': '< 10..70' });
    expect(rowOf(parseMdTable(out, '## Leaderboard'), 'express / pg / pool / 24.11.0', 1)).toMatchObject({ 'Breakpoint users': '70 (0.70x)', Repeats: '< 10..70' });
  });

  it('reports integrity problems', () => {
    expect(md).toContain('1 of 32 checked runs failed the data check');
    expect(md).toContain('**fastify / drizzle / pool / 24.11.0**, repeat 2: product 17: oversold, sold 101 exceeds stock 100; product 17: sold is 101 but its orders add up to 100');
    expect(md).not.toContain('could not be audited');
  });

  it('says which measured runs could not be audited', () => {
    const r = loadFixture();
    entriesOf(r, 'express', 'pg', 'pool', '24.11.0').find((e) => e.repeat === 1)!.integrity = null;
    const out = renderReadme(r);
    expect(out).toContain('1 of 31 checked runs failed the data check');
    expect(out).toContain('1 measured run could not be audited (see their notes).');
    const none = loadFixture();
    for (const c of none.combos) c.integrity = null;
    expect(renderReadme(none)).toContain('No data check in this run.');
  });

  it('never prints NaN, undefined, null or Infinity', () => {
    expect(md).not.toMatch(BAD);
    for (const s of renderSvgCharts(results)) expect(s.svg, s.file).not.toMatch(BAD);
  });
});

describe('charts of the fixture', () => {
  const charts = buildCharts(analyze(loadFixture()));

  it('one breakpoint bar per ranked combination, in rank order, marking ties and driver-bound breakpoints', () => {
    const bar = charts[0] as BarChartSpec;
    expect(bar).toMatchObject({ kind: 'bar', file: 'breakpoints.svg', title: 'Breakpoint: most virtual users with p95 < 100 ms', xLabel: 'virtual users' });
    expect(bar.bars.map((b) => [b.label, b.text])).toEqual([
      ['fastify / pg / pool / 24.11.0', '150 †'],
      ['fastify / pg / pool / 20.19.5', '120'],
      ['node-http / pg / pool / 24.11.0', '100 (tie)'],
      ['nest-fastify / pg / pool / 24.11.0', '90 (tie)'],
      ['fastify / drizzle / pool / 24.11.0', '90'],
      ['node-http / pg / pool / 20.19.5', '80'],
      ['express / pg / pool / 24.11.0', '70'],
      ['fastify / typeorm / pool / 24.11.0', '60'],
      ['express / pg / pool / 20.19.5', '40'],
      ['node-http / pg / per-request / 24.11.0', '30'],
      ['nest-express / pg / pool / 24.11.0', '< 10'],
    ]);
    expect(bar.footnote).toContain('†');
  });

  it('latency and throughput against users, one pair per runtime, with the threshold line', () => {
    expect(charts.map((c) => c.file)).toEqual(['breakpoints.svg', 'p95-vs-users-node-20.19.5.svg', 'rps-vs-users-node-20.19.5.svg', 'p95-vs-users-node-24.11.0.svg', 'rps-vs-users-node-24.11.0.svg']);
    const lat24 = charts.find((c) => c.id === 'latency-node-24.11.0') as LineChartSpec;
    expect(lat24).toMatchObject({ xLabel: 'virtual users', yLabel: 'p95 latency (ms, log scale)', yLog: true, threshold: { y: 100, label: 'p95 < 100 ms' } });
    // Registry order of apps, then stores, then conns; unverified express / typeorm has no steps.
    expect(lat24.series.map((s) => s.label)).toEqual([
      'node-http / pg / pool',
      'node-http / pg / per-request',
      'express / pg / pool',
      'fastify / pg / pool',
      'fastify / drizzle / pool',
      'fastify / typeorm / pool',
      'nest-express / pg / pool',
      'nest-fastify / pg / pool',
    ]);
    const fastify = lat24.series.find((s) => s.label === 'fastify / pg / pool')!;
    expect(fastify.points.map((p) => p.x)).toEqual([10, 20, 40, 60, 80, 100, 120, 140, 150, 160]); // 150: the bisection step
    expect(fastify.points.filter((p) => p.driverBound).map((p) => p.x)).toEqual([150, 160]);
    expect(fastify.points.filter((p) => !p.passed).map((p) => p.x)).toEqual([160]);
  });
});

describe('open model', () => {
  const results = openModel(loadFixture());
  const md = renderReadme(results);

  it('reads loads as offered journeys per second in every header, sentence and axis', () => {
    expect(parseMdTable(md, '## Leaderboard').headers[2]).toBe('Breakpoint journeys/s');
    expect(parseMdTable(md, '## Cost per request').headers[1]).toBe('journeys/s');
    expect(parseMdTable(md, '## Per endpoint').headers[1]).toBe('journeys/s');
    expect(parseMdTable(md, '## Repeats').headers.slice(2, 4)).toEqual(['Median journeys/s (repeat)', 'journeys/s min..max']);
    expect(parseMdTable(md, '## Driver-bound steps').headers[2]).toBe('journeys/s');
    expect(md).toContain('open model (offered journeys per second)');
    expect(md).toContain('cost read at 40 journeys/s');
    expect(md).toContain('Breakpoint: the most offered journeys per second whose step kept p95 < 100 ms');
    expect(md).toContain('cost at 30 journeys/s');
    expect(md).toContain('The offered arrival rate of journeys (list → product → order → view order) is stepped up');
    expect(md).toContain('**drizzle** costs 40 % of breakpoint journeys/s vs pg');
    expect(md).not.toMatch(/\busers\b/);
  });

  it('names its charts *-vs-rate and labels the axis with the rate', () => {
    const charts = buildCharts(analyze(results));
    expect(charts.map((c) => c.file)).toEqual(['breakpoints.svg', 'p95-vs-rate-node-20.19.5.svg', 'rps-vs-rate-node-20.19.5.svg', 'p95-vs-rate-node-24.11.0.svg', 'rps-vs-rate-node-24.11.0.svg']);
    expect(charts[0]).toMatchObject({ title: 'Breakpoint: most offered journeys per second with p95 < 100 ms', xLabel: 'offered journeys per second' });
    const lat = charts[3] as LineChartSpec;
    expect(lat).toMatchObject({ title: 'p95 latency vs offered journeys per second — Node 24.11.0', xLabel: 'offered journeys per second' });
    const svg = renderSvgCharts(results).find((s) => s.file === 'p95-vs-rate-node-24.11.0.svg')!.svg;
    expect(svg).toContain('>offered journeys per second</text>');
  });

  it('a report rewritten in the open model replaces the closed model\'s charts', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'results.json'), JSON.stringify(loadFixture()));
    await writeReport(dir);
    expect(readdirSync(dir).filter((f) => f.includes('-vs-users'))).toHaveLength(4);
    writeFileSync(join(dir, 'results.json'), JSON.stringify(results));
    await writeReport(dir);
    const svgs = readdirSync(dir).filter((f) => f.endsWith('.svg')).sort();
    expect(svgs).toEqual(['breakpoints.svg', 'p95-vs-rate-node-20.19.5.svg', 'p95-vs-rate-node-24.11.0.svg', 'rps-vs-rate-node-20.19.5.svg', 'rps-vs-rate-node-24.11.0.svg']);
  });
});

describe('a threshold of several conditions', () => {
  const results = loadFixture();
  results.method.threshold = parseThreshold('avg<50,p99<=250', '1%');
  const a = analyze(results);

  it('is described in words, and its first condition is the one charts and endpoint tables show', () => {
    expect(results.method.threshold.text).toBe('avg<50,p99<=250');
    expect(a.threshold).toMatchObject({ metric: 'avg', ms: 50, op: '<', label: 'avg < 50 ms and p99 ≤ 250 ms', metricLabel: 'avg < 50 ms' });
    const md = renderReadme(results);
    expect(md).toContain('threshold avg < 50 ms and p99 ≤ 250 ms and errors < 1.0 %');
    expect(md).toContain('whose step kept avg < 50 ms and p99 ≤ 250 ms and errors < 1.0 %');
    expect(md).toContain('A step passes when avg < 50 ms and p99 ≤ 250 ms and errors stay < 1.0 %.');
    const endpoints = parseMdTable(md, '## Per endpoint');
    expect(endpoints.headers.slice(2)).toEqual(['list avg ms', 'product avg ms', 'order avg ms', 'order_view avg ms', 'First over avg < 50 ms']);
  });

  it('charts the first condition\'s statistic, its line labelled with that condition alone', () => {
    const charts = buildCharts(a);
    expect(charts[0]!.title).toBe('Breakpoint: most virtual users with avg < 50 ms and p99 ≤ 250 ms');
    const lat = charts.find((c) => c.id === 'latency-node-24.11.0') as LineChartSpec;
    expect(lat).toMatchObject({ file: 'avg-vs-users-node-24.11.0.svg', yLabel: 'avg latency (ms, log scale)', threshold: { y: 50, label: 'avg < 50 ms' } });
    const fastify = lat.series.find((s) => s.label === 'fastify / pg / pool')!;
    const step = entriesOf(results, 'fastify', 'pg', 'pool', '24.11.0')[0]!.steps[0]!;
    expect(fastify.points[0]).toMatchObject({ x: step.load, y: step.latencyMs.avg });
    expect(renderSvgCharts(results).find((s) => s.file === 'avg-vs-users-node-24.11.0.svg')!.svg).toContain('threshold avg &lt; 50 ms</text>');
  });

  it('a "≤" limit is kept by a value equal to it, a "<" limit is not', () => {
    // fastify / pg / pool / 24.11.0: its list p95 is exactly 82.5 ms at 150 users, 144.1 ms at 160
    expect(rowOf(parseMdTable(renderReadme(loadFixture()), '## Per endpoint'), 'fastify / pg / pool / 24.11.0')['list p95 ms']).toBe('82.5');
    const cell = (text: string) => {
      const r = loadFixture();
      r.method.threshold = parseThreshold(text, '1%');
      const t = parseMdTable(renderReadme(r), '## Per endpoint');
      return rowOf(t, 'fastify / pg / pool / 24.11.0')[t.headers.at(-1)!];
    };
    expect(cell('p95<82.5')).toBe('list at 150 users (82.5 ms)');
    expect(cell('p95<=82.5')).toBe('list at 160 users (144.1 ms)');
  });
});

describe('the registry decides names, order and the baseline', () => {
  /** A sixth app no list in this package knows: a copy of node-http's runs under another name. */
  function withHono(): Results {
    const r = loadFixture();
    const apps = r.environment.registry.apps;
    const hono = { name: 'hono', framework: 'Hono', adapter: '@hono/node-server', validation: 'zod', serialization: 'c.json' };
    apps.splice(apps.findIndex((x) => x.name === 'fastify'), 0, hono);
    const copies = entriesOf(r, 'node-http', 'pg', 'pool', '24.11.0').map((e) => ({ ...structuredClone(e), app: 'hono' }));
    r.combos.push(...copies);
    return r;
  }

  it('a sixth app appears in registry order, with its own colour, without code changes', () => {
    const r = withHono();
    expect(validateResults(r)).toEqual([]);
    const md = renderReadme(r);
    expect(parseMdTable(md, '### Apps').headers).toEqual(['store / conn / Node', 'node-http', 'express', 'hono', 'fastify', 'nest-express', 'nest-fastify']);
    expect(rowOf(parseMdTable(md, '### Apps'), 'pg / pool / 24.11.0')['hono']).toBe('100 (1.00x, noise)');
    expect(rowOf(parseMdTable(md, '## Leaderboard'), 'hono / pg / pool / 24.11.0', 1)['Breakpoint users']).toBe('100 (1.00x)');
    const lat = buildCharts(analyze(r)).find((c) => c.id === 'latency-node-24.11.0') as LineChartSpec;
    const labels = lat.series.map((s) => s.label);
    expect(labels.indexOf('hono / pg / pool')).toBe(labels.indexOf('express / pg / pool') + 1);
    expect(lat.series.find((s) => s.label === 'hono / pg / pool')!.color).toBe(PALETTE[2]);
    expect(lat.series.find((s) => s.label === 'fastify / pg / pool')!.color).toBe(PALETTE[3]);
  });

  it('the registry\'s order is the display order; an app missing from it comes after the known ones', () => {
    const r = loadFixture();
    r.environment.registry.apps.reverse();
    expect(attribution(analyze(r), 'app').columns).toEqual(['node-http', 'nest-fastify', 'nest-express', 'fastify', 'express']);
    r.environment.registry.apps = r.environment.registry.apps.filter((x) => x.name !== 'nest-fastify');
    expect(attribution(analyze(r), 'app').columns).toEqual(['node-http', 'nest-express', 'fastify', 'express', 'nest-fastify']);
  });

  it('the registry\'s baseline is what ratios divide by', () => {
    const r = loadFixture();
    r.environment.registry.baseline = { app: 'fastify', store: 'pg', conn: 'pool' };
    const lb = renderLeaderboard(r);
    const t = parseMdTable(lb);
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0', 1)).toMatchObject({ 'Breakpoint users': '150 (1.00x)', Notes: 'baseline; driver-bound †' });
    expect(rowOf(t, 'node-http / pg / pool / 24.11.0', 1)['Notes']).toBe('');
    expect(rowOf(t, 'node-http / pg / pool / 24.11.0', 1)['Breakpoint users']).toBe('100 (0.67x)');
    expect(rowOf(t, 'node-http / pg / pool / 20.19.5', 1)['Breakpoint users']).toBe('80 (0.67x)');
    expect(lb).toContain('the ratio to **fastify + pg + pool**');
    const app = attribution(analyze(r), 'app');
    expect(app.reference).toBe('fastify');
    expect(app.columns[0]).toBe('fastify');
  });
});

describe('robustness', () => {
  it('renders an empty run', () => {
    const md = renderReadme({ ...loadFixture(), combos: [] });
    expect(md).toContain('No combination was measured in this run.');
    expect(md).toContain('No cost figures in this run.');
    expect(md).not.toMatch(BAD);
  });

  it('renders what the schema lets be missing (samples, server time, cost, audit, endpoints, envelope) without NaN', () => {
    const r = loadFixture();
    const c = structuredClone(entriesOf(r, 'express', 'pg', 'pool', '24.11.0').find((e) => e.repeat === 1)!);
    c.appUsage = null;
    c.integrity = null;
    c.cost = null;
    c.breakpoint!.serverP95Ms = null;
    for (const s of c.steps) {
      s.app = null;
      s.db = null;
      s.serverMs = null;
      s.endpoints = {};
    }
    c.steps[1]!.latencyMs.p95 = Number.NaN; // JSON makes it null
    const doc = JSON.parse(
      JSON.stringify({ ...r, environment: { ...r.environment, packages: {}, envelope: { mechanism: 'none', periodUs: null, app: { cpus: null, memoryMiB: null, applied: false }, db: { cpus: null, memoryMiB: null, applied: false } } }, combos: [c] }),
    ) as Results;
    const md = renderReadme(doc);
    expect(md).not.toMatch(BAD);
    expect(md).toContain('no baseline in this run');
    expect(md).toContain('**Envelope:** none: app, PostgreSQL and load generator share the machine unconfined');
    expect(rowOf(parseMdTable(md, '## Leaderboard'), 'express / pg / pool / 24.11.0', 1)).toMatchObject({ 'Server p95 ms': '–', 'App µs/req': '–', 'App CPU %': '–', 'Peak RSS MiB': '–' });
    expect(md).toContain('No per-endpoint figures in this run.');
    for (const s of renderSvgCharts(doc)) expect(s.svg).not.toMatch(BAD);
  });

  it('describes every kind of envelope', () => {
    const e = loadFixture().environment.envelope;
    expect(envelopeText(e)).toBe('app 0.5 CPU / 512 MiB, PostgreSQL 1 CPU / 1024 MiB (cgroup-v1, 10 ms CPU period)');
    expect(envelopeText({ ...e, mechanism: 'cgroup-v2', instances: 'each', app: { ...e.app, cpus: 2, memoryMiB: null } })).toBe(
      'app 2 CPU / memory unlimited, PostgreSQL 1 CPU / 1024 MiB (cgroup-v2, 10 ms CPU period; instances get one budget each)',
    );
    expect(envelopeText({ ...e, db: { cpus: 1, memoryMiB: 1024, applied: false, note: 'DATABASE_URL: not our server' } })).toBe(
      'app 0.5 CPU / 512 MiB, PostgreSQL not applied (DATABASE_URL: not our server) (cgroup-v1, 10 ms CPU period)',
    );
  });

  it('formats consistently', () => {
    expect(fmtRatio(0.4166)).toBe('0.42x');
    expect(fmtRatio(Number.NaN)).toBe('–');
    expect(fmtRatio(null)).toBe('–');
    expect(fmtMs(undefined)).toBe('–');
    expect(fmtMs(Infinity)).toBe('–');
    expect(fmtMs(12)).toBe('12.0');
  });
});

describe('files', () => {
  it('writeReport writes README.md, report.html and the SVGs it links', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'results.json'), JSON.stringify(loadFixture()));
    const out = await writeReport(dir);
    expect(out.readme).toBe(join(dir, 'README.md'));
    const md = readFileSync(out.readme, 'utf8');
    const linked = [...md.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)].map((m) => m[1]!);
    expect(linked.sort()).toEqual(readdirSync(dir).filter((f) => f.endsWith('.svg')).sort());
    expect(linked).toEqual(expect.arrayContaining(['breakpoints.svg', 'p95-vs-users-node-24.11.0.svg', 'rps-vs-users-node-20.19.5.svg']));
    for (const f of linked) {
      const svg = readFileSync(join(dir, f), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg).not.toMatch(BAD);
    }
    const p95 = readFileSync(join(dir, 'p95-vs-users-node-24.11.0.svg'), 'utf8');
    expect(p95).toContain('p95 &lt; 100 ms'); // the threshold line's label
    expect((p95.match(/<path d="M/g) ?? []).length).toBe(7); // 8 series, one of them (nest-express) a single point
    const html = readFileSync(out.html, 'utf8');
    // Chart.js inlined; nothing else refers to the network (the library's own licence header names its site).
    const lib = loadChartJs();
    expect(html.includes(lib)).toBe(true);
    const ours = html.replace(lib, '');
    expect(/<script[^>]+src=|<link[^>]+(stylesheet|preload)|<img[^>]+src="?https?:/i.test(ours)).toBe(false);
    expect(ours.match(/https?:\/\/[^\s"'<)]+/g) ?? []).toEqual([]);
    expect(BAD.test(ours.replace(/<script[^>]*>[\s\S]*?<\/script>/g, ''))).toBe(false);
    for (const id of ['leaderboard', 'cost', 'attribution-app', 'driver-bound', 'repeats']) expect(html, id).toContain(`data-table="${id}"`);
  });

  it('renderHtml shows the same leaderboard cells as README.md, ties included', () => {
    const results = loadFixture();
    const html = renderHtml(results, { chartJs: '' });
    const table = html.slice(html.indexOf('<table data-table="leaderboard">'), html.indexOf('</table>', html.indexOf('<table data-table="leaderboard">')));
    const cells = (tr: string) => [...tr.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
    const htmlRows = [...table.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => cells(m[1]!)).filter((r) => r.length > 0);
    expect(htmlRows).toEqual(parseMdTable(renderLeaderboardTable(results)).rows);
    expect(htmlRows[2]!.slice(0, 2)).toEqual(['=3', 'node-http / pg / pool / 24.11.0']);
    expect(html).toContain('<strong>node-http / pg / pool / 24.11.0</strong>'); // the baseline stands out
    expect(html).toContain('90 (0.90x, noise)');
  });

  it('readResults refuses an older schemaVersion, and names the path of what breaks the schema', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'results.json'), JSON.stringify({ ...loadFixture(), schemaVersion: 1 }));
    await expect(readResults(dir)).rejects.toThrow(/is not a schemaVersion 2 results document \(it has schemaVersion 1;/);
    const broken = loadFixture() as any;
    delete broken.environment.registry;
    writeFileSync(join(dir, 'results.json'), JSON.stringify(broken));
    await expect(readResults(dir)).rejects.toThrow(/does not match results\.schema\.json:\n {2}\/environment\/registry: Expected required property/);
    writeFileSync(join(dir, 'results.json'), JSON.stringify(loadFixture()));
    expect((await readResults(dir)).combos).toHaveLength(34);
  });

  it('writeResultsIndex regenerates results/README.md with the published run and links to every run', async () => {
    const root = tmp();
    const r = loadFixture();
    for (const [name, startedAt] of [
      ['2026-04-01-old', '2026-04-01T10:00:00Z'],
      ['2026-05-01-new', '2026-05-01T10:00:00Z'],
    ] as const) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'results.json'), JSON.stringify({ ...r, runId: name, startedAt }));
    }
    await writeReport(join(root, '2026-05-01-new'));
    const file = await writeResultsIndex(root, join(root, '2026-05-01-new'));
    expect(file).toBe(join(root, 'README.md'));
    const md = readFileSync(file, 'utf8');
    expect(md).toContain('Do not edit by hand');
    expect(md).toContain('Published run: [2026-05-01-new](2026-05-01-new/README.md)');
    expect(md).toContain('![Breakpoint: most virtual users with p95 < 100 ms](2026-05-01-new/breakpoints.svg)');
    expect(existsSync(join(root, '2026-05-01-new', 'breakpoints.svg'))).toBe(true);
    const runs = parseMdTable(md, '## All runs');
    expect(runs.rows.map((x) => x[0])).toEqual(['[2026-05-01-new](2026-05-01-new/README.md) (shown above)', '[2026-04-01-old](2026-04-01-old/README.md)']);
    expect(runs.headers).toEqual(['Run', 'Kind', 'Started', 'CPU', 'Node', 'Combinations', 'Best']);
    expect(runs.rows[0]![1]).toBe('bench');
    expect(runs.rows[0]![6]).toBe('fastify / pg / pool / 24.11.0 (150 users)');
    expect(rowOf(parseMdTable(md, '## Leaderboard'), 'fastify / pg / pool / 24.11.0', 1)['Breakpoint users']).toBe('150 (1.50x)');
    expect(md).not.toMatch(BAD);
  });

  it('renderSummary and replaceMarkedSection fill a marked README section', () => {
    const summary = renderSummary(loadFixture(), { runLink: 'results/run-1', headingLevel: 3 });
    expect(summary).toContain('[Full report](results/run-1/README.md)');
    expect(summary).toContain('### Leaderboard');
    expect(summary).toContain('drizzle** costs 40 %');
    expect(summary).toContain('nest-fastify** vs node-http: within noise');
    expect(summary).toContain('[driver-bound steps](results/run-1/README.md#driver-bound-steps)');
    expect(summary).toContain('![Breakpoint: most virtual users with p95 < 100 ms](results/run-1/breakpoints.svg)');
    const readme = '# x\n\n<!-- stackbench:results:start -->\nold\n<!-- stackbench:results:end -->\n\nrest\n';
    const next = replaceMarkedSection(readme, 'results', summary);
    expect(next).not.toContain('\nold\n');
    expect(next).toContain('rest');
    expect(next.indexOf('### Leaderboard')).toBeGreaterThan(next.indexOf('stackbench:results:start'));
    expect(() => replaceMarkedSection('# none', 'results', 'x')).toThrow(/markers/);
  });
});

describe('queries per request, profiles, and the evidence behind each ratio', () => {
  const census = (orderTrips: number) => ({
    list: { requests: 40, statements: 1, roundTrips: 1, transactions: 1, top: [] },
    product: { requests: 40, statements: 1, roundTrips: 1, transactions: 1, top: [] },
    order: { requests: 40, statements: orderTrips + 1, roundTrips: orderTrips, transactions: 1, top: [] },
    order_view: { requests: 40, statements: 1, roundTrips: 1, transactions: 1, top: [] },
  });
  const profile = (shares: Record<string, number>): NonNullable<Results['combos'][number]['profile']> => ({
    load: 40,
    step: { requests: 1000, rps: 250, p95Ms: 50 },
    unprofiledRps: 300,
    profileWindow: { startMs: 10, stopMs: 4000 },
    stepWindow: { startMs: 0, endMs: 4000 },
    file: 'profiles/x.cpuprofile',
    flameGraph: 'profiles/x.svg',
    summary: {
      busyMs: 1000,
      idleMs: 100,
      sampleCount: 1100,
      categories: Object.entries(shares).map(([category, percent]) => ({ category, ms: percent * 10, percent, topFunctions: [] })),
      owners: [{ owner: 'TypeORM', ms: 300, percent: 30 }],
      packages: [],
    },
  });
  function withEvidence(): Results {
    const r = loadFixture();
    for (const c of entriesOf(r, 'fastify', 'pg', 'pool', '24.11.0')) c.sql = census(1);
    for (const c of entriesOf(r, 'fastify', 'drizzle', 'pool', '24.11.0')) c.sql = census(5);
    for (const c of entriesOf(r, 'fastify', 'typeorm', 'pool', '24.11.0')) {
      c.sql = census(5);
      c.profile = profile({ orm: 30, 'pg-driver': 25, framework: 10, validation: 2 });
    }
    for (const c of entriesOf(r, 'fastify', 'pg', 'pool', '24.11.0')) c.profile = profile({ 'pg-driver': 35, framework: 12, validation: 3 });
    return r;
  }

  it('tabulates round trips, statements and transactions, and names the stacks that send more', () => {
    const md = renderReadme(withEvidence());
    const t = parseMdTable(md, '## Queries per request');
    expect(t.headers[3]).toBe('order: round trips / statements / transactions');
    expect(rowOf(t, 'fastify / typeorm / pool / 24.11.0')[t.headers[3]!]).toBe('5 / 6 / 1');
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0')[t.headers[3]!]).toBe('1 / 2 / 1');
    expect(md).toMatch(/- \*\*order\*\*: drizzle, typeorm send 5 round trips per request, where pg sends 1\./);
    expect(renderReadme(loadFixture())).toMatch(/No SQL census in this run/);
  });

  it('shows where the time goes with links to the flame graphs, and the profiler\'s own cost', () => {
    const md = renderReadme(withEvidence());
    const t = parseMdTable(md, '## Where the time goes');
    const row = rowOf(t, 'fastify / typeorm / pool / 24.11.0');
    expect(row['orm %']).toBe('30');
    expect(row['top product']).toBe('TypeORM 30 %');
    expect(row['flame graph']).toBe('profiles/x.svg');
    expect(md).toMatch(/the profiled steps served 83 % of the rps of the same load unprofiled/);
  });

  it('says why a store costs what it costs, from the census, the profiles and the cost per request', () => {
    const md = renderReadme(withEvidence());
    const line = md.split('\n').find((l) => l.startsWith('- **typeorm**'))!;
    expect(line).toMatch(/Why: Its order takes 5 round trips per request where pg takes 1; the ORM takes 30 % of the app's CPU and the pg driver 25 % \(pg: pg driver 35 %\); the app spends \d+ µs of CPU per request against \d+ µs\./);
    // Without a census or profiles, the cost per request alone.
    const plain = renderReadme(loadFixture()).split('\n').find((l) => l.startsWith('- **typeorm**'))!;
    expect(plain).toMatch(/Why: The app spends \d+ µs of CPU per request against \d+ µs\./);
    expect(plain).not.toMatch(/round trips/);
  });
});

describe('lab findings', () => {
  // A published mixed-lab run (fastify, Node 20): every class crossed the line in the same step (64 users).
  const mixed = (): Results => JSON.parse(readFileSync(new URL('./fixtures/lab-mixed.json', import.meta.url), 'utf8')) as Results;

  it('calls classes that cross the line in the same step a tie, not "X breaks first"', () => {
    const md = renderReadme(mixed());
    expect(md).toContain('simple at 64 users, wait at 64 users, db at 64 users, heavy at 64 users');
    expect(md).toMatch(/simple, wait, db, heavy cross the line in the same step \(64 users\): no class breaks first at this resolution; the highest p95 there is (wait|db|heavy)'s/);
    expect(md).not.toMatch(/(simple|wait|db|heavy) breaks first/);
  });

  it('names the class that broke first when it crossed a step before the others', () => {
    const r = mixed();
    const at16 = r.combos[0]!.steps.find((s) => s.load === 16)!;
    at16.endpoints!.heavy!.latencyMs.p95 = 180;
    const md = renderReadme(r);
    expect(md).toContain('heavy at 16 users');
    expect(md).toContain('heavy breaks first.');
  });
});
