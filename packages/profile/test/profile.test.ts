import { beforeAll, describe, expect, it } from 'vitest';
import {
  analyzeProfile,
  buildFlameGraph,
  CATEGORIES,
  CATEGORY_ORDER,
  classifyProfile,
  NODE_SOCKET_MODULES,
  profileSummary,
  readProfile,
  renderFlameGraphSvg,
  type CpuProfileJson,
  type Profile,
  type ProfileNode,
} from '../src/index.js';
import { recordServerProfile, type RecordedProfile } from './record.js';
import { sampleDurations, selfTimes } from './samples.js';
import { findAll, parseXml } from './xml-check.js';

const ODD_NAME = 'render<&>"quote';

let recorded: RecordedProfile;
let raw: CpuProfileJson;
let profile: Profile;

beforeAll(async () => {
  recorded = await recordServerProfile();
  raw = JSON.parse(recorded.text) as CpuProfileJson;
  profile = readProfile(recorded.text);
}, 60_000);

const nodesWhere = (match: (n: ProfileNode) => boolean) => profile.nodes.filter(match);
const selfUsOf = (nodes: ProfileNode[]) => nodes.reduce((s, n) => s + n.selfUs, 0);

describe('a real profile of a Fastify server under load', () => {
  it('the server really answered the requests', () => {
    expect(recorded.statuses.get(200)).toBe(401); // 400 listings + the shutdown
    expect(recorded.statuses.get(201)).toBe(200);
    expect(recorded.statuses.get(400)).toBe(20); // Ajv rejected the invalid orders
  });

  it('parses, and self times add up to the sampled time', () => {
    expect(profile.sampleCount).toBe(raw.samples.length);
    expect(profile.nodes).toHaveLength(raw.nodes.length);
    const durations = sampleDurations(raw);
    const expectedTotal = durations.reduce((s, d) => s + d.us, 0);
    expect(profile.totalUs).toBeCloseTo(expectedTotal, 3);
    expect(selfUsOf(profile.nodes)).toBeCloseTo(profile.totalUs, 3);
    expect(profile.root.totalUs).toBeCloseTo(profile.totalUs, 3);
    // Per node, from samples x time, not hitCount (V8's hitCount disagrees with `samples` for a few nodes).
    const perNode = selfTimes(raw);
    for (const n of profile.nodes) expect(n.selfUs).toBeCloseTo(perNode.get(n.id) ?? 0, 3);

    const a = analyzeProfile(profile);
    expect(a.categories.map((c) => c.category)).toEqual(CATEGORY_ORDER);
    expect(a.categories.reduce((s, c) => s + c.selfMs, 0)).toBeCloseTo(a.totalMs, 6);
    expect(a.busyMs + a.idleMs).toBeCloseTo(a.totalMs, 6);
    const busyPercents = a.categories.filter((c) => c.category !== 'idle').reduce((s, c) => s + c.percentOfBusy!, 0);
    expect(busyPercents).toBeCloseTo(100, 6);
    expect(a.categories.find((c) => c.category === 'idle')!.percentOfBusy).toBeNull();
  });

  it('reports its window on the clock of process.hrtime in the profiled process', () => {
    expect(profile.window).toEqual({ startUs: raw.startTime, endUs: raw.endTime });
    // The child read its clock right after starting and right before exiting: both inside the window.
    expect(recorded.childStartUs).toBeGreaterThanOrEqual(profile.window.startUs);
    expect(recorded.childEndUs).toBeLessThanOrEqual(profile.window.endUs);
  });

  it('groups node_modules frames by innermost package and its rule', () => {
    const classes = classifyProfile(profile);
    const fastifyNodes = nodesWhere((n) => n.callFrame.url.includes('/node_modules/fastify/'));
    expect(fastifyNodes.length).toBeGreaterThan(10);
    for (const n of fastifyNodes) expect(classes.get(n)).toMatchObject({ category: 'framework', package: 'fastify', owner: 'Fastify' });
    const router = nodesWhere((n) => n.callFrame.url.includes('/node_modules/find-my-way/'));
    expect(router.length).toBeGreaterThan(0);
    for (const n of router) expect(classes.get(n)).toMatchObject({ category: 'framework', package: 'find-my-way' });
    const ajv = nodesWhere((n) => n.callFrame.url.includes('/node_modules/ajv/'));
    expect(ajv.length).toBeGreaterThan(0);
    for (const n of ajv) expect(classes.get(n)).toMatchObject({ category: 'validation', package: 'ajv', owner: 'Ajv' });
    const innermost = (url: string) => url.slice(url.lastIndexOf('/node_modules/') + '/node_modules/'.length);
    const scoped = nodesWhere((n) => n.callFrame.url.includes('/node_modules/') && innermost(n.callFrame.url).startsWith('@fastify/'));
    expect(scoped.length).toBeGreaterThan(0);
    for (const n of scoped) expect(classes.get(n)!.package).toMatch(/^@fastify\/[^/]+$/);
    // Fastify's compilers bring their own fast-uri: the innermost node_modules names the package.
    const nested = nodesWhere((n) => /\/node_modules\/@fastify\/[^/]+\/node_modules\/fast-uri\//.test(n.callFrame.url));
    expect(nested.length).toBeGreaterThan(0);
    for (const n of nested) expect(classes.get(n)!.package).toBe('fast-uri');

    // The package's time: its own frames, plus natives (RegExp, JSON builtins...) it called.
    const charged = nodesWhere((n) => classes.get(n)!.package === 'fastify');
    for (const n of charged.filter((x) => !fastifyNodes.includes(x))) {
      expect(n.callFrame.url).toBe('');
      expect(classes.get(n.parent!)!.package).toBe('fastify');
    }
    const a = analyzeProfile(profile);
    const fastify = a.packages.find((p) => p.package === 'fastify');
    expect(fastify).toMatchObject({ rule: 'framework' });
    expect(fastify!.selfMs).toBeCloseTo(selfUsOf(charged) / 1000, 6);
    const framework = a.categories.find((c) => c.category === 'framework')!;
    expect(framework.selfMs).toBeGreaterThan(0);
    expect(framework.topFunctions.every((f) => f.category === 'framework')).toBe(true);
    expect(a.owners.find((o) => o.owner === 'Fastify')!.selfMs).toBeGreaterThan(0);
  });

  it("puts the fixture's own functions in app (under packages/) or other (outside the app roots)", () => {
    const catalogue = nodesWhere((n) => n.callFrame.functionName === 'buildCatalogue');
    expect(catalogue.length).toBeGreaterThan(0);
    const asApp = classifyProfile(profile);
    for (const n of catalogue) {
      expect(asApp.get(n)).toMatchObject({ category: 'app', package: 'packages/profile', owner: 'stackbench' });
      expect(asApp.get(n)!.location).toBe(`packages/profile/test/fixtures/profiled-server.mjs:${n.callFrame.lineNumber + 1}`);
    }
    const noAppRoots = classifyProfile(profile, { appRoots: [] });
    for (const n of catalogue) expect(noAppRoots.get(n)).toMatchObject({ category: 'other', package: null, owner: null });

    const top = analyzeProfile(profile).categories.find((c) => c.category === 'app')!.topFunctions.map((f) => f.name);
    expect(top).toContain('buildCatalogue');
    expect(top).toContain(ODD_NAME);
  });

  it('puts V8 pseudo-frames in gc, idle and program', () => {
    const classes = classifyProfile(profile);
    const a = analyzeProfile(profile);
    const categoryMs = (c: string) => a.categories.find((x) => x.category === c)!.selfMs;
    for (const [name, category] of [
      ['(garbage collector)', 'gc'],
      ['(idle)', 'idle'],
      ['(program)', 'program'],
    ] as const) {
      const nodes = nodesWhere((n) => n.callFrame.functionName === name && n.callFrame.url === '');
      expect(nodes.length, name).toBeGreaterThan(0);
      for (const n of nodes) expect(classes.get(n)!.category).toBe(category);
      // The root has no self time, so each category is exactly its pseudo-frame.
      expect(categoryMs(category)).toBeCloseTo(selfUsOf(nodes) / 1000, 6);
    }
    expect(a.idleMs).toBeGreaterThan(0);
  });

  it('puts pg and its parsers in pg-driver, with the socket writes it makes', () => {
    const classes = classifyProfile(profile);
    const driver = nodesWhere((n) => /\/node_modules\/(pg|pg-pool|pg-protocol|pg-types|postgres-[a-z]+)\//.test(n.callFrame.url));
    expect(driver.length).toBeGreaterThan(5);
    for (const n of driver) expect(classes.get(n)).toMatchObject({ category: 'pg-driver', owner: 'node-postgres' });
    expect(new Set(driver.map((n) => classes.get(n)!.package))).toContain('pg');

    // Socket and stream frames go to the nearest caller outside Node.js, and to node-http when Node called them.
    const isSocketModule = (url: string) =>
      url.startsWith('node:') && NODE_SOCKET_MODULES.some((m) => (m.endsWith('/') ? url.slice(5).startsWith(m) : url.slice(5) === m));
    const sockets = nodesWhere((n) => isSocketModule(n.callFrame.url));
    expect(sockets.length).toBeGreaterThan(0);
    for (const n of sockets) {
      let caller = n.parent;
      while (caller && (isSocketModule(caller.callFrame.url) || caller.callFrame.url === '')) caller = caller.parent;
      const callerUrl = caller?.callFrame.url ?? '';
      const expected = !caller || callerUrl.startsWith('node:') ? 'node-http' : classes.get(caller)!.category;
      expect(classes.get(n)!.category, `${n.callFrame.functionName} ${n.callFrame.url} <- ${callerUrl}`).toBe(expected);
    }
    const driverWrites = sockets.filter((n) => classes.get(n)!.category === 'pg-driver');
    expect(driverWrites.length).toBeGreaterThan(0);
    expect(sockets.some((n) => classes.get(n)!.category === 'node-http')).toBe(true);
  });

  it('puts the HTTP server in node-http and other node: internals in node-other, and charges natives to their caller', () => {
    const classes = classifyProfile(profile);
    const byModule = (prefix: string) => nodesWhere((n) => n.callFrame.url.startsWith(prefix));
    for (const prefix of ['node:_http_server', 'node:_http_outgoing', 'node:_http_incoming']) {
      expect(byModule(prefix).length, prefix).toBeGreaterThan(0);
      for (const n of byModule(prefix)) expect(classes.get(n)).toMatchObject({ category: 'node-http', owner: 'Node.js', package: null });
    }
    const tasks = byModule('node:internal/process/task_queues');
    expect(tasks.length).toBeGreaterThan(0);
    for (const n of tasks) expect(classes.get(n)!.category).toBe('node-other');

    const natives = nodesWhere((n) => n.callFrame.url === '' && !n.callFrame.functionName.startsWith('('));
    expect(natives.length).toBeGreaterThan(0);
    for (const n of natives) {
      const caller = classes.get(n.parent!)!;
      const own = classes.get(n)!;
      if (['program', 'gc', 'idle'].includes(caller.category)) expect(own.category).toBe('node-other');
      else expect({ category: own.category, package: own.package }).toEqual({ category: caller.category, package: caller.package });
    }
  });

  it('summarizes into plain JSON', () => {
    const summary = profileSummary(profile);
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    expect(summary.window).toMatchObject({ startUs: raw.startTime, endUs: raw.endTime });
    expect(summary.categories.map((c) => c.category)).toEqual(CATEGORY_ORDER);
    // Each figure is rounded to 0.1, so the sum may drift by 0.05 per category.
    const sum = summary.categories.reduce((s, c) => s + c.ms, 0);
    expect(Math.abs(sum - summary.totalMs)).toBeLessThanOrEqual(0.05 * (CATEGORY_ORDER.length + 1));
    expect(summary.categories.every((c) => c.topFunctions.length <= 5)).toBe(true);
    expect(summary.packages.length).toBeLessThanOrEqual(15);
    expect(summary.packages.find((p) => p.package === 'fastify')).toMatchObject({ rule: 'framework' });
    expect(summary.packages.find((p) => p.package === 'pg')).toMatchObject({ rule: 'pg-driver' });
    expect(summary.owners.map((o) => o.owner)).toEqual(expect.arrayContaining(['Fastify', 'Ajv', 'node-postgres', 'Node.js', 'V8', 'stackbench']));
    expect(summary.packages.find((p) => p.package === 'packages/profile')).toMatchObject({ rule: 'app' });
    expect(summary.sampleCount).toBe(raw.samples.length);
  });
});

describe('the flame graph of that profile', () => {
  const keyOf = (n: { functionName: string; url: string; lineNumber: number; columnNumber: number }) =>
    [n.functionName, n.url, n.lineNumber, n.columnNumber].join('|');

  /** Time of every call path (root excluded), summed over samples by walking each sample's stack. */
  function pathTimes(includeIdle: boolean): { byPath: Map<string, number>; rootUs: number } {
    const parentOf = new Map<number, number>();
    for (const n of raw.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
    const nodeById = new Map(raw.nodes.map((n) => [n.id, n]));
    const byPath = new Map<string, number>();
    let rootUs = 0;
    for (const { nodeId, us } of sampleDurations(raw)) {
      const stack: string[] = [];
      for (let id: number | undefined = nodeId; parentOf.has(id!); id = parentOf.get(id!)) stack.unshift(keyOf(nodeById.get(id!)!.callFrame));
      if (!includeIdle && stack[0]?.startsWith('(idle)|')) continue;
      rootUs += us;
      for (let depth = 1; depth <= stack.length; depth++) {
        const path = stack.slice(0, depth).join('>');
        byPath.set(path, (byPath.get(path) ?? 0) + us);
      }
    }
    return { byPath, rootUs };
  }

  it('merges call paths, sizes frames by total time and omits frames under 0.1 %', () => {
    const graph = buildFlameGraph(profile);
    const { byPath, rootUs } = pathTimes(false);
    expect(graph.rootMs).toBeCloseTo(rootUs / 1000, 6);
    expect(graph.rootMs).toBeCloseTo((profile.totalUs - selfUsOf(nodesWhere((n) => n.callFrame.functionName === '(idle)'))) / 1000, 6);
    const pathOf = (id: number): string => {
      const f = graph.frames[id]!;
      return f.parentId === null ? '' : [pathOf(f.parentId), keyOf(f.callFrame)].filter(Boolean).join('>');
    };
    const drawn = new Set<string>();
    for (const f of graph.frames) {
      if (f.parentId === null) {
        expect(f.width).toBeCloseTo(graph.plotWidth, 6);
        continue;
      }
      const path = pathOf(f.id);
      expect(drawn.has(path), `path drawn twice: ${path}`).toBe(false);
      drawn.add(path);
      expect(f.totalMs).toBeCloseTo(byPath.get(path)! / 1000, 6);
      expect(f.width).toBeCloseTo((byPath.get(path)! / rootUs) * graph.plotWidth, 6);
      expect(byPath.get(path)!).toBeGreaterThanOrEqual(rootUs * 0.001);
      const parent = graph.frames[f.parentId]!;
      expect(f.x).toBeGreaterThanOrEqual(parent.x - 1e-6);
      expect(f.x + f.width).toBeLessThanOrEqual(parent.x + parent.width + 1e-6);
      expect(f.y).toBe(parent.y - 16); // flame: callees above their caller
    }
    // Every path at or above 0.1 % whose caller is drawn is drawn too.
    for (const [path, us] of byPath) {
      const caller = path.includes('>') ? path.slice(0, path.lastIndexOf('>')) : null;
      if (us >= rootUs * 0.001 && (caller === null || drawn.has(caller))) expect(drawn.has(path), path).toBe(true);
    }
    expect(graph.frames.some((f) => f.name === '(idle)')).toBe(false);
    expect(buildFlameGraph(profile, { includeIdle: true }).rootMs).toBeCloseTo(profile.totalUs / 1000, 6);
  });

  it('renders well-formed, self-contained SVG with one rect per frame, coloured by category', () => {
    const graph = buildFlameGraph(profile, { title: 'fastify <fixture> & "friends"' });
    const svg = renderFlameGraphSvg(graph);
    const root = parseXml(svg);
    expect(root.name).toBe('svg');
    expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    expect(root.attrs.width).toBe('1200');
    expect(findAll(root, (e) => e.name === 'title')[0]!.text).toBe('fastify <fixture> & "friends"');

    const frames = findAll(root, (e) => e.name === 'g' && e.attrs.class === 'frame');
    expect(frames).toHaveLength(graph.frames.length);
    frames.forEach((el, i) => {
      const f = graph.frames[i]!;
      const rect = el.children.find((c) => c.name === 'rect')!;
      expect(Number(rect.attrs.width)).toBeCloseTo(f.width, 2);
      expect(Number(rect.attrs.x)).toBeCloseTo(f.x, 2);
      if (f.parentId !== null) {
        expect(el.attrs['data-category']).toBe(f.category);
        expect(rect.attrs.fill).toBe(CATEGORIES[f.category].color);
      }
      expect(el.children.find((c) => c.name === 'title')!.text.startsWith(f.name)).toBe(true);
      const label = el.children.find((c) => c.name === 'text');
      // Truncated to fit: at 0.6 em per monospace character, plus 3 px padding each side.
      if (label) expect(Array.from(label.text).length * 11 * 0.6).toBeLessThanOrEqual(f.width - 6 + 1e-6);
    });
    const legend = findAll(root, (e) => e.name === 'g' && e.attrs.class === 'legend')[0]!;
    const legendText = findAll(legend, (e) => e.name === 'text').map((t) => t.text);
    expect(legendText.some((t) => t.startsWith('framework '))).toBe(true);
    expect(legendText.some((t) => t.startsWith('GC '))).toBe(true);

    // No network: nothing but the namespace looks like a URL, and nothing can fetch.
    expect(svg.match(/https?:\/\/[^"\s<]*/g)).toEqual(['http://www.w3.org/2000/svg']);
    expect(svg).not.toMatch(/<script|href=|url\(|@import|<image|<foreignObject/i);
  });

  it('escapes function names from the profile', () => {
    const graph = buildFlameGraph(profile, { minFraction: 0 });
    const odd = graph.frames.filter((f) => f.name === ODD_NAME);
    expect(odd.length).toBeGreaterThan(0);
    const svg = renderFlameGraphSvg(graph);
    expect(svg).toContain('render&lt;&amp;&gt;&quot;quote');
    expect(svg).not.toContain(ODD_NAME);
    const titles = findAll(parseXml(svg), (e) => e.name === 'title').map((t) => t.text);
    expect(titles.some((t) => t.startsWith(`${ODD_NAME}\n`))).toBe(true);
  });
});
