import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  analyze,
  attribution,
  fmtMs,
  fmtRatio,
  loadChartJs,
  renderLeaderboard,
  renderLeaderboardTable,
  renderReadme,
  renderSummary,
  renderSvgCharts,
  replaceMarkedSection,
  resultsSchema,
  writeReport,
  writeResultsIndex,
  type Results,
} from '../src/index.js';
import { loadFixture, parseMdTable, rowOf } from './helpers.js';

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

describe('results.schema.json', () => {
  const ajv = new Ajv2020({ allErrors: true });
  const validate = ajv.compile(resultsSchema);

  it('accepts the fixture', () => {
    const ok = validate(loadFixture());
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects invalid documents', () => {
    const broken: [string, (r: any) => void][] = [
      ['missing environment', (r) => delete r.environment],
      ['wrong schemaVersion', (r) => (r.schemaVersion = 2)],
      ['unknown status', (r) => (r.combos[0].status = 'exploded')],
      ['failed without reason', (r) => (r.combos.find((c: any) => c.status === 'failed').reason = undefined)],
      ['breakpoint users as text', (r) => (r.combos[0].breakpoint.users = '100')],
      ['unknown endpoint', (r) => (r.combos[0].steps[0].endpoints.checkout = r.combos[0].steps[0].endpoints.list)],
      ['error rate above 1', (r) => (r.combos[0].steps[0].errorRate = 3)],
      ['bad driver', (r) => (r.method.driver = 'wrk')],
      ['missing latency p95', (r) => delete r.combos[0].steps[0].latencyMs.p95],
    ];
    for (const [name, mutate] of broken) {
      const doc = JSON.parse(JSON.stringify(loadFixture()));
      mutate(doc);
      expect(validate(JSON.parse(JSON.stringify(doc))), name).toBe(false);
    }
  });

  it('is exported by the package', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(pkg.exports['./results.schema.json']).toBe('./results.schema.json');
    expect((resultsSchema as { $schema: string }).$schema).toContain('2020-12');
  });
});

describe('analysis of the fixture', () => {
  const a = analyze(loadFixture());
  const find = (label: string) => a.combos.find((c) => c.label === label)!;

  it('picks the median repeat and its breakpoint', () => {
    expect(find('fastify / pg / pool / 24.11.0').breakpoint?.users).toBe(120); // 120, 120, 100
    expect(find('fastify / pg / pool / 24.11.0').rep?.repeat).toBe(1);
    expect(find('node-http / pg / pool / 24.11.0').breakpoint?.users).toBe(100); // 100, 80, 100
    expect(find('fastify / typeorm / pool / 24.11.0').breakpoint?.users).toBe(80); // 80, 60, 80
    // repeat 2 failed; of 80 and 60 the lower middle is taken
    expect(find('nest-fastify / pg / pool / 24.11.0').breakpoint?.users).toBe(60);
    expect(find('nest-fastify / pg / pool / 24.11.0').rep?.repeat).toBe(3);
    expect(find('nest-express / pg / pool / 24.11.0').breakpoint).toBeNull();
    expect(find('nest-express / pg / pool / 24.11.0').belowUsers).toBe(10);
    expect(a.ranked[0]!.label).toBe('fastify / pg / pool / 24.11.0');
    expect(a.ranked.at(-1)!.label).toBe('nest-express / pg / pool / 24.11.0');
    expect(a.threshold).toMatchObject({ metric: 'p95', ms: 100 });
  });

  it('computes attribution ratios', () => {
    const store = attribution(a, 'store');
    expect(store.reference).toBe('pg');
    expect(store.summary.get('drizzle')?.median).toBeCloseTo(100 / 120, 6);
    expect(store.summary.get('typeorm')?.median).toBeCloseTo(80 / 120, 6);
    const conn = attribution(a, 'conn');
    expect(conn.summary.get('per-request')?.median).toBeCloseTo(0.6, 6);
    const runtime = attribution(a, 'runtime');
    expect(runtime.reference).toBe('20.19.5');
    // node-http 100/80, express 80/40, fastify 120/100 → median 1.25
    expect(runtime.summary.get('24.11.0')?.median).toBeCloseTo(1.25, 6);
    const app = attribution(a, 'app');
    // express: 80/100 on 24, 40/80 on 20 → median 0.65
    expect(app.summary.get('express')?.median).toBeCloseTo(0.65, 6);
    expect(app.summary.get('nest-express')?.median).toBeNull();
  });
});

describe('README.md tables', () => {
  const results = loadFixture();
  const md = renderReadme(results);

  it('stamps machine, versions, method and the exact command', () => {
    for (const s of ['AMD EPYC 7B13', '2 cores', '7.8 GiB', 'PostgreSQL:** 16.4', '20.19.5 (driver)', 'apps on 20.19.5, 24.11.0', 'node driver', 'profile commerce-flow', 'p95 < 100 ms', 'fastify | 5.6.1', 'typeorm | 0.3.27', 'e9c38c3', 'app: cpu 0; postgres + driver: cpu 1 (taskset)']) {
      expect(md).toContain(s);
    }
    expect(md).toContain('`' + results.command + '`');
  });

  it('leaderboard: breakpoints and ratios to the node-http + pg + pool baseline on the same runtime', () => {
    const t = parseMdTable(renderLeaderboardTable(results));
    expect(t.rows.map((r) => r[1])).toEqual([
      'fastify / pg / pool / 24.11.0',
      'node-http / pg / pool / 24.11.0',
      'fastify / pg / pool / 20.19.5',
      'fastify / drizzle / pool / 24.11.0',
      'node-http / pg / pool / 20.19.5',
      'express / pg / pool / 24.11.0',
      'fastify / typeorm / pool / 24.11.0',
      'nest-fastify / pg / pool / 24.11.0',
      'node-http / pg / per-request / 24.11.0',
      'express / pg / pool / 20.19.5',
      'nest-express / pg / pool / 24.11.0',
    ]);
    const f = rowOf(t, 'fastify / pg / pool / 24.11.0', 1);
    expect(f['Breakpoint users']).toBe('120 (1.20x)');
    expect(f['RPS']).toBe('960.0 (1.20x)');
    expect(f['p95 ms']).toBe('75.0 (1.07x)'); // 75 / 70
    expect(f['p99 ms']).toBe('97.5 (1.07x)');
    expect(f['App CPU %']).toBe('66 (1.10x)'); // 66 / 60
    expect(f['Peak RSS MiB']).toBe('75 (1.25x)'); // 75 / 60
    expect(f['Notes']).toContain('driver-bound');
    const base = rowOf(t, 'node-http / pg / pool / 24.11.0', 1);
    expect(base['Breakpoint users']).toBe('100 (1.00x)');
    expect(base['Notes']).toContain('baseline');
    // Node 20 rows compare with the Node 20 baseline (80 users), not the Node 24 one.
    expect(rowOf(t, 'express / pg / pool / 20.19.5', 1)['Breakpoint users']).toBe('40 (0.50x)');
    expect(rowOf(t, 'fastify / pg / pool / 20.19.5', 1)['Breakpoint users']).toBe('100 (1.25x)');
    expect(rowOf(t, 'fastify / typeorm / pool / 24.11.0', 1)['Peak RSS MiB']).toBe('130 (2.17x)');
    const nest = rowOf(t, 'nest-express / pg / pool / 24.11.0', 1);
    expect(nest['Breakpoint users']).toBe('< 10 (–)');
    expect(nest['RPS']).toBe('–');
    expect(nest['Notes']).toContain('over the threshold at the first step');
    expect(rowOf(t, 'nest-fastify / pg / pool / 24.11.0', 1)['Notes']).toContain('1 of 3 repeats not measured');
    expect(rowOf(t, 'fastify / drizzle / pool / 24.11.0', 1)['Notes']).toContain('integrity check failed');
  });

  it('says "no baseline in this run" when the baseline is missing', () => {
    const r: Results = { ...results, combos: results.combos.filter((c) => !(c.app === 'node-http' && c.store === 'pg' && c.conn === 'pool' && c.runtime === '20.19.5')) };
    const lb = renderLeaderboard(r);
    const t = parseMdTable(lb);
    const row = rowOf(t, 'express / pg / pool / 20.19.5', 1);
    expect(row['Breakpoint users']).toBe('40');
    expect(row['Notes']).toContain('no baseline in this run');
    expect(lb).toContain('Node 20.19.5: no baseline in this run');
    // Node 24 rows still have ratios
    expect(rowOf(t, 'express / pg / pool / 24.11.0', 1)['Breakpoint users']).toBe('80 (0.80x)');
  });

  it('attribution tables as ratios, with the cost in words', () => {
    const stores = parseMdTable(md, '### Stores');
    expect(rowOf(stores, 'fastify / pool / 24.11.0')).toMatchObject({ pg: '120 (1.00x)', drizzle: '100 (0.83x)', typeorm: '80 (0.67x)' });
    expect(md).toContain('**drizzle** costs 17 % of breakpoint users vs pg (0.83x');
    expect(md).toContain('**typeorm** costs 33 % of breakpoint users vs pg (0.67x');

    const apps = parseMdTable(md, '### Apps');
    expect(rowOf(apps, 'pg / pool / 24.11.0')).toMatchObject({ 'node-http': '100 (1.00x)', express: '80 (0.80x)', fastify: '120 (1.20x)', 'nest-fastify': '60 (0.60x)', 'nest-express': '< 10 (–)' });
    expect(rowOf(apps, 'pg / pool / 20.19.5')).toMatchObject({ express: '40 (0.50x)', fastify: '100 (1.25x)', 'nest-express': '–' });
    expect(rowOf(apps, 'median ratio to node-http')).toMatchObject({ express: '0.65x', fastify: '1.23x' });

    const conns = parseMdTable(md, '### Connections');
    expect(rowOf(conns, 'node-http / pg / 24.11.0')).toMatchObject({ pool: '100 (1.00x)', 'per-request': '60 (0.60x)' });
    expect(md).toContain('**per-request** costs 40 % of breakpoint users vs pool');

    const runtimes = parseMdTable(md, '### Runtimes');
    expect(rowOf(runtimes, 'express / pg / pool')).toMatchObject({ 'Node 20.19.5': '40 (1.00x)', 'Node 24.11.0': '80 (2.00x)' });
    expect(md).toContain('**Node 24.11.0** gains 25 % of breakpoint users vs Node 20.19.5 (1.25x, median of 3 comparisons, range 1.20x..2.00x)');
  });

  it('per-endpoint p95 at the breakpoint and the request that breaks first', () => {
    const t = parseMdTable(md, '## Per endpoint');
    const typeorm = rowOf(t, 'fastify / typeorm / pool / 24.11.0');
    expect(typeorm).toMatchObject({ Users: '80', 'list p95 ms': '88.0', 'product p95 ms': '44.0', 'order p95 ms': '110.0', 'order_view p95 ms': '35.2' });
    expect(typeorm['First over p95 < 100 ms']).toBe('order at 80 users (110.0 ms)');
    expect(md).toContain('| **110.0** |'); // the slowest endpoint is bold
    const f = rowOf(t, 'fastify / pg / pool / 24.11.0');
    expect(f['list p95 ms']).toBe('82.5'); // 75 × 1.1
    expect(f['First over p95 < 100 ms']).toMatch(/^list at 140 users/);
  });

  it('lists unverified and failed combinations with reasons', () => {
    const t = parseMdTable(md, '## Not measured');
    expect(rowOf(t, 'express / typeorm / pool / 24.11.0')).toMatchObject({ Status: 'unverified', Reason: 'verify: GET /orders/{id} returned 500 (expected 200)' });
    expect(rowOf(t, 'nest-fastify / pg / pool / 24.11.0')).toMatchObject({ Repeat: '2', Status: 'failed', Reason: 'app exited with code 1 during the 60-user step' });
    expect(rowOf(t, 'nest-express / pg / pool / 24.11.0')).toMatchObject({ Repeat: '1, 2, 3', Status: 'measured, no breakpoint' });
  });

  it('flags driver-bound steps', () => {
    const t = parseMdTable(md, '## Driver-bound steps');
    expect(t.rows).toHaveLength(2);
    expect(t.rows.map((r) => [r[0], r[1], r[2], r[3], r[4], r[6]])).toEqual([
      ['fastify / pg / pool / 24.11.0', '1', '120', 'passed', '45.2', 'yes'],
      ['fastify / pg / pool / 24.11.0', '1', '140', 'failed', '45.2', 'yes'],
    ]);
    expect(md).toContain('† The load driver was saturated');
  });

  it('repeats: median breakpoint and spread', () => {
    const t = parseMdTable(md, '## Repeats');
    expect(rowOf(t, 'fastify / pg / pool / 24.11.0')).toMatchObject({ Measured: '3 of 3', 'Median users (repeat)': '120 (#1)', 'Users min..max': '100..120', Spread: '17 %', 'RPS min..max': '800.0..960.0' });
    expect(rowOf(t, 'nest-fastify / pg / pool / 24.11.0')).toMatchObject({ Measured: '2 of 3', 'Median users (repeat)': '60 (#3)', 'Users min..max': '60..80' });
    expect(rowOf(t, 'express / pg / pool / 24.11.0')).toMatchObject({ 'Users min..max': '80', Spread: '0 %' });
  });

  it('reports integrity problems', () => {
    expect(md).toContain('**fastify / drizzle / pool / 24.11.0**, repeat 2: product 17: sold 101 exceeds stock 100');
  });

  it('never prints NaN, undefined, null or Infinity', () => {
    expect(md).not.toMatch(BAD);
    for (const s of renderSvgCharts(results)) expect(s.svg, s.file).not.toMatch(BAD);
  });
});

describe('robustness', () => {
  const minimal = (): Results => {
    const r = loadFixture();
    return { ...r, combos: [] };
  };

  it('renders an empty run', () => {
    const md = renderReadme(minimal());
    expect(md).toContain('No combination was measured in this run.');
    expect(md).not.toMatch(BAD);
  });

  it('renders partial data (missing samples, odd threshold, single runtime, no baseline) without NaN', () => {
    const r = loadFixture();
    const c = JSON.parse(JSON.stringify(r.combos.find((x) => x.app === 'express' && x.runtime === '24.11.0' && x.repeat === 1)));
    c.appUsage = null;
    c.integrity = null;
    for (const s of c.steps) {
      s.app = null;
      s.driver = null;
      s.endpoints = {};
    }
    c.steps[1].latencyMs.p95 = Number.NaN; // JSON would make it null
    const doc = JSON.parse(JSON.stringify({ ...r, method: { ...r.method, threshold: 'fast' }, environment: { ...r.environment, packages: {} }, combos: [c] })) as Results;
    const md = renderReadme(doc);
    expect(md).not.toMatch(BAD);
    expect(md).toContain('no baseline in this run');
    for (const s of renderSvgCharts(doc)) expect(s.svg).not.toMatch(BAD);
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
    expect((p95.match(/<path d="M/g) ?? []).length).toBe(7); // 8 series, one of them a single point
    const html = readFileSync(out.html, 'utf8');
    // Chart.js inlined; nothing else refers to the network (the library's own licence header names its site).
    const lib = loadChartJs();
    expect(html.includes(lib)).toBe(true);
    const ours = html.replace(lib, '');
    expect(/<script[^>]+src=|<link[^>]+(stylesheet|preload)|<img[^>]+src="?https?:/i.test(ours)).toBe(false);
    expect(ours.match(/https?:\/\/[^\s"'<)]+/g) ?? []).toEqual([]);
    expect(BAD.test(ours.replace(/<script[^>]*>[\s\S]*?<\/script>/g, ''))).toBe(false);
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
    expect(runs.rows.map((x) => x[0])).toEqual(['[2026-05-01-new](2026-05-01-new/README.md) (published)', '[2026-04-01-old](2026-04-01-old/README.md)']);
    expect(rowOf(parseMdTable(md, '## Leaderboard'), 'fastify / pg / pool / 24.11.0', 1)['Breakpoint users']).toBe('120 (1.20x)');
    expect(md).not.toMatch(BAD);
  });

  it('renderSummary and replaceMarkedSection fill a marked README section', () => {
    const summary = renderSummary(loadFixture(), { runLink: 'results/run-1', headingLevel: 3 });
    expect(summary).toContain('[Full report](results/run-1/README.md)');
    expect(summary).toContain('### Leaderboard');
    expect(summary).toContain('drizzle** costs 17 %');
    expect(summary).toContain('[driver-bound steps](results/run-1/README.md#driver-bound-steps)');
    const readme = '# x\n\n<!-- stackbench:results:start -->\nold\n<!-- stackbench:results:end -->\n\nrest\n';
    const next = replaceMarkedSection(readme, 'results', summary);
    expect(next).not.toContain('\nold\n');
    expect(next).toContain('rest');
    expect(next.indexOf('### Leaderboard')).toBeGreaterThan(next.indexOf('stackbench:results:start'));
    expect(() => replaceMarkedSection('# none', 'results', 'x')).toThrow(/markers/);
  });
});
