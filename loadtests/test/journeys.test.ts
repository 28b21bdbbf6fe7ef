import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithPart } from '@stackbench/test-support/optional';
import {
  createJourney,
  endpointOf,
  journeyNames,
  k6Engine,
  resolveScenario,
  runIterationSync,
  runNodeStep,
  seededRandom,
  validateSpec,
  type Journey,
  type JourneyLog,
  type ScenarioRequest,
  type ScenarioSpec,
  type StepRequest,
  type UserState,
} from '../src/index.js';

/**
 * The journeys besides the commerce one: a weighted mix of single requests (the labs) and cache views with ETag
 * revalidation; pure, then run by both engines against a real loopback server that counts what it received.
 */

const scenario = resolveScenario({ productCount: 1000 });
const MIX: ScenarioSpec = {
  kind: 'mix',
  requests: [
    { name: 'simple', path: '/simple', weight: 3 },
    { name: 'wait', path: '/wait?p={product}', weight: 1 },
  ],
};

/** The journey's first request. */
function first(journey: Journey): ScenarioRequest {
  const step = journey.next();
  if (step.done) throw new Error('the journey made no request');
  return step.value;
}

describe('the mix journey', () => {
  it('draws one request per iteration by weight, filling in a random product', () => {
    const random = seededRandom(7);
    const counts: Record<string, number> = { simple: 0, wait: 0 };
    for (let i = 0; i < 4000; i++) {
      const j = createJourney(MIX, scenario, random, {}, {});
      const r = first(j);
      counts[r.name]!++;
      if (r.name === 'wait') expect(Number(/p=(\d+)/.exec(r.path)![1])).toBeGreaterThanOrEqual(6);
      // One request, which succeeded: the journey ends with null.
      expect(j.next({ status: 200 })).toEqual({ done: true, value: null });
    }
    // 3 : 1, within a few percent for 4000 draws of a seeded generator.
    expect(counts.simple! / counts.wait!).toBeGreaterThan(2.6);
    expect(counts.simple! / counts.wait!).toBeLessThan(3.4);
    expect(journeyNames(MIX)).toEqual(['simple', 'wait']);
  });

  it('counts another status as a status error', () => {
    const j = createJourney({ kind: 'mix', requests: [{ name: 'x', path: '/x', weight: 1 }] }, scenario, Math.random, {}, {});
    first(j);
    expect(j.next({ status: 503 })).toEqual({ done: true, value: { name: 'x', ok: false, errorKind: 'status', detail: 'x: expected 200, got 503' } });
  });

  it('refuses a malformed spec in one line', () => {
    expect(() => validateSpec({ kind: 'mix', requests: [] })).toThrow('a mix needs at least one request');
    expect(() => validateSpec({ kind: 'mix', requests: [{ name: 'A', path: '/a', weight: 1 }] })).toThrow(/lower-case words/);
    expect(() => validateSpec({ kind: 'mix', requests: [{ name: 'a', path: 'a', weight: 1 }] })).toThrow(/starts with \//);
    expect(() => validateSpec({ kind: 'mix', requests: [{ name: 'a', path: '/a', weight: 0 }] })).toThrow(/positive/);
    expect(() => validateSpec({ kind: 'cache-views', hotProducts: 0, orderShare: 0, conditional: false })).toThrow(/hotProducts/);
    expect(() => validateSpec({ kind: 'nope' } as unknown as ScenarioSpec)).toThrow(/unknown scenario kind/);
  });
});

describe('the cache-views journey', () => {
  const spec: ScenarioSpec = { kind: 'cache-views', hotProducts: 1, orderShare: 0, conditional: true };

  it('remembers a product\'s ETag and revalidates with it; a 304 counts apart', () => {
    const state: UserState = {};
    const j1 = createJourney(spec, scenario, Math.random, state, {});
    const r1 = first(j1);
    expect(r1).toMatchObject({ name: 'view', path: '/lab/cache/products/6', wantsEtag: true });
    expect(r1.headers).toBeUndefined();
    expect(j1.next({ status: 200, etag: '"abc"' })).toEqual({ done: true, value: null });
    const j2 = createJourney(spec, scenario, Math.random, state, {});
    const r2 = first(j2);
    expect(r2.headers).toEqual({ 'if-none-match': '"abc"' });
    expect(j2.next({ status: 304 })).toEqual({ done: true, value: null });
    expect(endpointOf(r2, 304)).toBe('view_304');
    expect(endpointOf({ name: 'view', wantsEtag: true }, 200)).toBe('view');
    expect(journeyNames(spec)).toEqual(['view', 'view_304', 'order']);
  });

  it('counts another status as an error of the view', () => {
    const j = createJourney(spec, scenario, Math.random, {}, {});
    first(j);
    expect(j.next({ status: 500 }).value).toEqual({ name: 'view', ok: false, errorKind: 'status', detail: 'view: expected 200 or 304, got 500' });
  });

  it('orders the viewed product at its share and keeps the order for the audit', () => {
    const log: JourneyLog = {};
    const j = createJourney({ kind: 'cache-views', hotProducts: 1, orderShare: 1, conditional: false }, scenario, Math.random, {}, log);
    first(j);
    const order = j.next({ status: 200 });
    expect(order.value).toMatchObject({ name: 'order', method: 'POST', path: '/orders', body: '{"productId":6,"quantity":1}', needsBody: true });
    expect(j.next({ status: 201, body: '{"id":42,"productId":6,"quantity":1,"unitPriceCents":100}' })).toEqual({ done: true, value: null });
    expect(log).toEqual({ createdOrder: { id: 42, productId: 6, quantity: 1 } });
  });
});

describe('every journey', () => {
  // k6 makes a request's parameters once per endpoint name (loadtests/k6/stepped.ts): that holds only while a name
  // always has the same method, body and body reading.
  it('gives each endpoint name one shape: method, body or none, body read or not', () => {
    const specs: ScenarioSpec[] = [
      { kind: 'commerce' },
      MIX,
      { kind: 'cache-views', hotProducts: 3, orderShare: 0.5, conditional: true },
      { kind: 'cache-views', hotProducts: 3, orderShare: 0.5, conditional: false },
    ];
    for (const spec of specs) {
      const shapes = new Map<string, string>();
      const random = seededRandom(11);
      const state: UserState = {};
      const send = (r: ScenarioRequest) => {
        const shape = `${r.method} ${r.body === undefined ? 'no body' : 'body'} ${r.needsBody ? 'reads' : 'discards'}`;
        expect(shapes.get(r.name) ?? shape, `${spec.kind} ${r.name}`).toBe(shape);
        shapes.set(r.name, shape);
        if (r.name === 'list') return { status: 200, body: `{"items":[{"id":${7 + Math.floor(random() * 900)},"name":"p"}],"nextAfter":null}` };
        if (r.name === 'order') return { status: 201, body: '{"id":5,"productId":7,"quantity":1}' };
        return { status: r.wantsEtag && r.headers ? 304 : 200, etag: '"e"' };
      };
      for (let i = 0; i < 200; i++) runIterationSync(scenario, random, send, () => undefined, {}, {}, createJourney(spec, scenario, random, state, {}));
      expect(shapes.size, spec.kind).toBe(journeyNames(spec).filter((n) => !n.endsWith('_304')).length);
    }
  });
});

describe('both engines run a mix', () => {
  let server: Server;
  let base = '';
  const received: Record<string, number> = {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      const name = req.url!.slice(1).split('?')[0]!;
      received[name] = (received[name] ?? 0) + 1;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'server-timing': 'app;dur=0.100' });
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const request = (): StepRequest => ({ baseUrl: base, model: 'closed', load: 4, durationMs: 1500, warmupMs: 300, thinkMs: 0, productCount: 1000, maxRequests: 1_000_000, requestTimeoutMs: 2000, scenario: MIX });

  it('the embedded driver: endpoints named by the mix, in its proportions, no errors', async () => {
    for (const k of Object.keys(received)) delete received[k];
    const { measurement: m } = await runNodeStep(request());
    expect(Object.keys(m.endpoints).sort()).toEqual(['simple', 'wait']);
    expect(m.errors).toBe(0);
    const ratio = m.endpoints.simple!.requests / m.endpoints.wait!.requests;
    expect(ratio).toBeGreaterThan(2);
    expect(ratio).toBeLessThan(4.5);
    // The server saw at least what was counted (requests outside the window were sent too).
    expect(received.simple!).toBeGreaterThanOrEqual(m.endpoints.simple!.requests);
  });

  describeWithPart('k6', 'k6', (k6) => {
    it('k6: the same endpoints from the same spec (SCENARIO)', async () => {
      for (const k of Object.keys(received)) delete received[k];
      // A bundle built fresh from the sources (never a stale dist/).
      const root = fileURLToPath(new URL('..', import.meta.url));
      const outDir = mkdtempSync(join(tmpdir(), 'stackbench-k6-bundle-'));
      execFileSync(process.execPath, [join(root, 'scripts', 'build-k6.mjs'), '--outdir', outDir], { cwd: root, stdio: 'ignore' });
      const engine = k6Engine({ binary: k6.path, script: join(outDir, 'stepped.js'), profile: 'quick', threshold: { text: 'p95<100', errorRate: { op: '<', limit: 0.01 } }, cpus: 2 });
      const { measurement: m } = await engine.runStep({ ...request(), durationMs: 2000, warmupMs: 1000 });
      expect(Object.keys(m.endpoints).sort()).toEqual(['simple', 'wait']);
      expect(m.errors).toBe(0);
      expect(m.serverMs?.p50).toBe(0.1);
      expect(received.simple!).toBeGreaterThanOrEqual(m.endpoints.simple!.requests);
      rmSync(outDir, { recursive: true, force: true });
    });
  });
});
