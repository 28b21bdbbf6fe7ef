/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Opens report.html in headless Chromium (the system's, else the npm build from @sparticuz/chromium, driven by
 * playwright-core) and checks the charts rendered, the tooltips and legend work, and the page logs no errors and
 * makes no network requests. Without any Chromium the tests are skipped and say why (or fail when
 * STACKBENCH_REQUIRE names chromium).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { chromiumLaunch, HEADLESS_ARGS } from '@stackbench/test-support/chromium';
import { describeWithPart } from '@stackbench/test-support/optional';
import { writeReport, writeSummaryInto } from '../src/index.js';
import { loadFixture } from './helpers.js';

/** A PNG's first bytes: the screenshot really is an image. */
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

declare global {
  interface Window {
    Chart: any;
    stackbenchCharts: Record<string, any>;
  }
}

describeWithPart('chromium', 'report.html in headless Chromium', (browser) => {
  let ctx: BrowserContext;
  let page: Page;
  let runDir: string;
  let profileDir: string;
  let htmlUrl: string;
  const consoleMessages: string[] = [];
  const requests: string[] = [];
  const failed: string[] = [];

  beforeAll(async () => {
    const launch = await chromiumLaunch(browser);
    runDir = mkdtempSync(join(tmpdir(), 'stackbench-report-html-'));
    profileDir = mkdtempSync(join(tmpdir(), 'stackbench-chromium-profile-'));
    writeFileSync(join(runDir, 'results.json'), JSON.stringify(loadFixture()));
    const out = await writeReport(runDir);
    htmlUrl = pathToFileURL(out.html).href;
    ctx = await chromium.launchPersistentContext(profileDir, {
      executablePath: launch.executablePath,
      ...(launch.env ? { env: { ...process.env, ...launch.env } as Record<string, string> } : {}),
      headless: true,
      args: HEADLESS_ARGS,
      viewport: { width: 1360, height: 900 },
    });
    ctx.on('request', (r) => requests.push(r.url()));
    ctx.on('requestfailed', (r) => failed.push(r.url()));
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') consoleMessages.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleMessages.push(`pageerror: ${e.message}`));
    await page.goto(htmlUrl, { waitUntil: 'load' });
    await page.waitForFunction(() => window.stackbenchCharts && Object.keys(window.stackbenchCharts).length > 0, undefined, { timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  it('draws every chart with the right datasets', async () => {
    const charts = await page.evaluate(() =>
      [...document.querySelectorAll('canvas')].map((c) => {
        const chart = window.Chart.getChart(c);
        // Non-white pixels: proof something was drawn.
        const g = (c as HTMLCanvasElement).getContext('2d')!;
        const d = g.getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && (d[i]! < 240 || d[i + 1]! < 240 || d[i + 2]! < 240)) ink++;
        return {
          id: c.id,
          type: chart?.config.type,
          datasets: chart?.data.datasets.map((ds: any) => ({ label: ds.label, points: ds.data.length })),
          width: c.clientWidth,
          height: c.clientHeight,
          ink,
        };
      }),
    );
    expect(charts.map((c) => c.id)).toEqual([
      'chart-breakpoints',
      'chart-latency-node-20.19.5',
      'chart-rps-node-20.19.5',
      'chart-latency-node-24.11.0',
      'chart-rps-node-24.11.0',
    ]);
    for (const c of charts) {
      expect(c.type, c.id).toBeDefined();
      expect(c.width, c.id).toBeGreaterThan(600);
      expect(c.height, c.id).toBeGreaterThan(150);
      expect(c.ink, c.id).toBeGreaterThan(2000);
    }
    const byId = Object.fromEntries(charts.map((c) => [c.id, c]));
    expect(byId['chart-breakpoints']!.type).toBe('bar');
    expect(byId['chart-breakpoints']!.datasets).toEqual([{ label: 'breakpoint', points: 11 }]);
    // Node 24: 8 measured combinations + the threshold line; Node 20: 3 + threshold.
    const lat24 = byId['chart-latency-node-24.11.0']!;
    expect(lat24.type).toBe('line');
    expect(lat24.datasets).toHaveLength(9);
    expect(lat24.datasets!.at(-1)).toEqual({ label: 'threshold p95 < 100 ms', points: 2 });
    expect(lat24.datasets!.find((d: any) => d.label === 'fastify / pg / pool')!.points).toBe(10); // 10, 20, 40, ..., 140, 150 (bisection), 160 users
    expect(byId['chart-rps-node-24.11.0']!.datasets).toHaveLength(8);
    expect(byId['chart-latency-node-20.19.5']!.datasets).toHaveLength(4);
    expect(byId['chart-rps-node-20.19.5']!.datasets).toHaveLength(3);
  });

  it('renders the same tables as README.md', async () => {
    const rows = await page.$$eval('table[data-table="leaderboard"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toHaveLength(11);
    expect(rows[0]!.slice(0, 5)).toEqual(['1', 'fastify / pg / pool / 24.11.0', '150 (1.50x)', '140..150', '1200.0 (1.50x)']);
    expect(rows.filter((r) => r[0] === '=3').map((r) => r[1])).toEqual(['node-http / pg / pool / 24.11.0', 'nest-fastify / pg / pool / 24.11.0']);
    const cost = await page.$$eval('table[data-table="cost"] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(cost.find((r) => r[0] === 'node-http / pg / per-request / 24.11.0')!.slice(1, 2)).toEqual(['30 *']);
    for (const id of ['cost', 'attribution-store', 'attribution-app', 'attribution-conn', 'attribution-runtime', 'endpoints', 'repeats', 'not-measured', 'driver-bound', 'packages']) {
      expect(await page.locator(`table[data-table="${id}"]`).count(), id).toBe(1);
    }
    const text = await page.locator('main').innerText();
    expect(text).not.toMatch(/NaN|undefined|Infinity/);
    expect(text).toContain('AMD EPYC 7B13');
    expect(text).toContain('Envelope: app 0.5 CPU / 512 MiB, PostgreSQL 1 CPU / 1024 MiB (cgroup-v1, 10 ms CPU period)');
    expect(text).toContain('per-request costs 70 %');
    expect(text).toContain('nest-fastify vs node-http: within noise');
  });

  it('shows values on hover and toggles series from the legend', async () => {
    await page.locator('#chart-latency-node-24\\.11\\.0').scrollIntoViewIfNeeded();
    const canvas = page.locator('#chart-latency-node-24\\.11\\.0');
    const box = (await canvas.boundingBox())!;
    const pt = await page.evaluate(() => {
      const chart = window.stackbenchCharts['latency-node-24.11.0'];
      const el = chart.getDatasetMeta(2).data[3]; // express / pg / pool at 60 users
      return { x: el.x, y: el.y };
    });
    await page.mouse.move(box.x + pt.x, box.y + pt.y);
    await page.waitForFunction(() => window.stackbenchCharts['latency-node-24.11.0'].tooltip.getActiveElements().length > 0);
    const tip = await page.evaluate(() => {
      const t = window.stackbenchCharts['latency-node-24.11.0'].tooltip;
      return { title: t.title, body: t.body.flatMap((b: any) => b.lines) };
    });
    expect(tip.title).toEqual(['60 virtual users']);
    expect(tip.body[0]).toMatch(/^express \/ pg \/ pool: \d+\.\d ms$/);
    expect((await page.screenshot({ clip: box })).subarray(0, 8)).toEqual(PNG_SIGNATURE);

    const hit = await page.evaluate(() => {
      const chart = window.stackbenchCharts['latency-node-24.11.0'];
      const h = chart.legend.legendHitBoxes[0];
      return { x: h.left + h.width / 2, y: h.top + h.height / 2, label: chart.legend.legendItems[0].text };
    });
    expect(hit.label).toBe('node-http / pg / pool');
    // Chart.js handles events on the next animation frame: wait for the effect.
    await page.mouse.click(box.x + hit.x, box.y + hit.y);
    await page.waitForFunction(() => !window.stackbenchCharts['latency-node-24.11.0'].isDatasetVisible(0), undefined, { timeout: 5_000 });
    await page.mouse.click(box.x + hit.x, box.y + hit.y);
    await page.waitForFunction(() => window.stackbenchCharts['latency-node-24.11.0'].isDatasetVisible(0), undefined, { timeout: 5_000 });
  });

  it('logs no errors and makes no network requests', async () => {
    expect((await page.screenshot({ fullPage: true })).subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(consoleMessages).toEqual([]);
    expect(failed).toEqual([]);
    expect(requests.filter((u) => u !== htmlUrl)).toEqual([]);
  });
});

describe('report files', () => {
  let runDir: string;
  let outside: string;
  beforeAll(() => {
    runDir = mkdtempSync(join(tmpdir(), 'stackbench-report-links-'));
    outside = mkdtempSync(join(tmpdir(), 'stackbench-report-outside-'));
    writeFileSync(join(runDir, 'results.json'), JSON.stringify(loadFixture()));
  });
  afterAll(() => {
    rmSync(runDir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('are never written through a symbolic link planted in the run directory', async () => {
    symlinkSync(join(outside, 'elsewhere.html'), join(runDir, 'report.html'));
    await expect(writeReport(runDir)).rejects.toThrow(/^stackbench report: refusing to write \S+\/report\.html: it is a symbolic link$/);
    expect(existsSync(join(outside, 'elsewhere.html'))).toBe(false);
  });

  it('never update a Markdown file through a symbolic link', async () => {
    const real = join(outside, 'README.md');
    const text = '# elsewhere\n<!-- stackbench:results:start -->\nold\n<!-- stackbench:results:end -->\n';
    writeFileSync(real, text);
    symlinkSync(real, join(runDir, 'README.link.md'));
    await expect(writeSummaryInto(join(runDir, 'README.link.md'), runDir)).rejects.toThrow(/refusing to write \S+README\.link\.md: it is a symbolic link$/);
    expect(readFileSync(real, 'utf8')).toBe(text);
  });
});
