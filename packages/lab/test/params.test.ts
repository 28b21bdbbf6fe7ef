import { ApiError, FIELD_MESSAGES, INT32_MAX } from '@stackbench/contract';
import {
  integerRangePattern,
  LAB_LIMITS,
  LAB_MESSAGES,
  LAB_QUERY_PARAMS,
  LAB_QUERY_SCHEMAS,
  matchLabRoute,
  parseCpuQuery,
  parseFanoutQuery,
  parsePbkdf2Query,
  parseProductsQuery,
  parseWaitQuery,
  productsQuerySchema,
  variantMessage,
  type LabQuery,
} from '@stackbench/lab';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';

/** The exact body an app sends for a bad parameter. */
const badBody = (message: string) => JSON.stringify({ error: { code: 'invalid_request', message } });

function rejection(parse: () => unknown): string {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    return JSON.stringify((err as ApiError).toBody());
  }
  throw new Error('expected a 400, the query was accepted');
}

describe('integerRangePattern', () => {
  it('matches exactly the canonical decimals of the range (exhaustive on small ranges, bounds on large ones)', () => {
    const ranges: Array<[number, number]> = [[0, 0], [0, 9], [1, 9], [5, 5], [0, 10], [7, 13], [1, 100], [99, 101], [100, 999], [15, 4321], [0, 5000], [1, 1000], [1, 1_000_000], [1, 2_000_000], [0, INT32_MAX]];
    for (const [min, max] of ranges) {
      const re = new RegExp(integerRangePattern(min, max));
      const probes = new Set<number>([min - 1, min, min + 1, max - 1, max, max + 1, max * 10, Math.floor(max / 2), 999_999, 1_000_000, 2_000_001, INT32_MAX, INT32_MAX + 1]);
      for (let i = 0; i <= Math.min(max + 20, 12_000); i++) probes.add(i);
      for (const n of probes) {
        if (n < 0) continue;
        expect(re.test(String(n)), `${n} in ${min}..${max}`).toBe(n >= min && n <= max);
      }
      for (const text of ['', '01', '00', '+1', '-1', '1e3', ' 1', '1 ', '1.0', '0x1', '١', `0${max}`]) {
        expect(re.test(text), JSON.stringify(text)).toBe(false);
      }
    }
  });

  it('refuses a range it cannot express', () => {
    expect(() => integerRangePattern(-1, 3)).toThrow();
    expect(() => integerRangePattern(5, 4)).toThrow();
  });
});

describe('lab query parameters', () => {
  const NUMBER_NOISE = ['01', '+1', ' 1', '1 ', '1e3', '0x10', '1.0', '1.5', '', 'abc'];

  const numeric: Array<{ name: string; limits: { min: number; max: number }; message: string; parse: (value: string | string[] | undefined) => number }> = [
    { name: 'wait ms', limits: LAB_LIMITS.ms, message: LAB_MESSAGES.ms, parse: (v) => parseWaitQuery({ ms: v, mode: 'await' }).ms },
    { name: 'cpu n', limits: LAB_LIMITS.n, message: LAB_MESSAGES.n, parse: (v) => parseCpuQuery({ n: v, mode: 'main' }).n },
    { name: 'fanout calls', limits: LAB_LIMITS.calls, message: LAB_MESSAGES.calls, parse: (v) => parseFanoutQuery({ calls: v, ms: '1', mode: 'all' }).calls },
    { name: 'fanout ms', limits: LAB_LIMITS.ms, message: LAB_MESSAGES.ms, parse: (v) => parseFanoutQuery({ calls: '1', ms: v, mode: 'all' }).ms },
    {
      name: 'fanout limit:K',
      limits: LAB_LIMITS.limit,
      message: LAB_MESSAGES.fanoutMode,
      parse: (v) => {
        const mode = parseFanoutQuery({ calls: '1', ms: '1', mode: v === undefined ? undefined : `limit:${v}` }).mode;
        return mode.kind === 'limit' ? mode.limit : NaN;
      },
    },
    { name: 'pbkdf2 iterations', limits: LAB_LIMITS.iterations, message: LAB_MESSAGES.iterations, parse: (v) => parsePbkdf2Query({ iterations: v }).iterations },
    { name: 'products rows', limits: LAB_LIMITS.rows, message: LAB_MESSAGES.rows, parse: (v) => parseProductsQuery({ rows: v, variant: 'a' }, ['a']).rows },
    { name: 'products after', limits: { min: 0, max: INT32_MAX }, message: FIELD_MESSAGES.after, parse: (v) => parseProductsQuery({ rows: '1', after: v, variant: 'a' }, ['a']).after },
  ];

  it('states the ranges this package documents', () => {
    expect(LAB_LIMITS).toEqual({
      ms: { min: 0, max: 5000 },
      n: { min: 1, max: 2_000_000 },
      calls: { min: 1, max: 1000 },
      limit: { min: 1, max: 1000 },
      iterations: { min: 1, max: 1_000_000 },
      rows: { min: 1, max: 1000 },
    });
    expect(LAB_MESSAGES.ms).toBe('ms must be an integer from 0 to 5000');
    expect(LAB_MESSAGES.n).toBe('n must be an integer from 1 to 2000000');
    expect(LAB_MESSAGES.calls).toBe('calls must be an integer from 1 to 1000');
    expect(LAB_MESSAGES.iterations).toBe('iterations must be an integer from 1 to 1000000');
    expect(LAB_MESSAGES.rows).toBe('rows must be an integer from 1 to 1000');
    expect(LAB_MESSAGES.fanoutMode).toBe('mode must be one of sequential, all, limit:K with K an integer from 1 to 1000');
  });

  for (const p of numeric) {
    it(`${p.name}: both bounds are in, one past either is the contract's 400, non-canonical spellings too`, () => {
      const { min, max } = p.limits;
      expect(p.parse(String(min))).toBe(min);
      expect(p.parse(String(max))).toBe(max);
      expect(p.parse(String(min + 1))).toBe(min + 1);
      expect(p.parse(String(max - 1))).toBe(max - 1);
      for (const bad of [String(min - 1), String(max + 1), ...NUMBER_NOISE]) {
        expect(rejection(() => p.parse(bad)), `${p.name}=${JSON.stringify(bad)}`).toBe(badBody(p.message));
      }
      // Repeated (frameworks hand an array over) or missing: the same message.
      expect(rejection(() => p.parse([String(min), String(min)]))).toBe(badBody(p.message));
      if (p.name !== 'products after') expect(rejection(() => p.parse(undefined))).toBe(badBody(p.message));
    });
  }

  it('after is optional (default 0, as on /products); every other parameter is required', () => {
    expect(parseProductsQuery({ rows: '5', variant: 'a' }, ['a'])).toEqual({ rows: 5, after: 0, variant: 'a' });
    for (const [route, params] of Object.entries(LAB_QUERY_PARAMS)) {
      for (const p of params) expect(p.required, `${route}.${p.name}`).toBe(!(route === 'products' && p.name === 'after'));
    }
  });

  it('modes: each listed value, exactly; anything else is the mode message', () => {
    for (const mode of ['await', 'block', 'offload'] as const) expect(parseWaitQuery({ ms: '0', mode })).toEqual({ ms: 0, mode });
    for (const mode of ['main', 'worker'] as const) expect(parseCpuQuery({ n: '1', mode })).toEqual({ n: 1, mode });
    expect(parseFanoutQuery({ calls: '2', ms: '3', mode: 'sequential' })).toEqual({ calls: 2, ms: 3, mode: { kind: 'sequential' }, modeText: 'sequential' });
    expect(parseFanoutQuery({ calls: '2', ms: '3', mode: 'all' }).mode).toEqual({ kind: 'all' });
    expect(parseFanoutQuery({ calls: '2', ms: '3', mode: 'limit:7' })).toEqual({ calls: 2, ms: 3, mode: { kind: 'limit', limit: 7 }, modeText: 'limit:7' });
    for (const mode of ['Await', 'sleep', ' await', 'await ', '', 'block,offload']) {
      expect(rejection(() => parseWaitQuery({ ms: '1', mode }))).toBe(badBody(LAB_MESSAGES.waitMode));
    }
    for (const mode of ['MAIN', 'thread', '']) expect(rejection(() => parseCpuQuery({ n: '1', mode }))).toBe(badBody(LAB_MESSAGES.cpuMode));
    for (const mode of ['limit', 'limit:', 'limit:01', 'limit:1e2', 'Limit:2', 'parallel', 'all ']) {
      expect(rejection(() => parseFanoutQuery({ calls: '1', ms: '1', mode }))).toBe(badBody(LAB_MESSAGES.fanoutMode));
    }
    expect(rejection(() => parseWaitQuery({ ms: '1' }))).toBe(badBody(LAB_MESSAGES.waitMode));
  });

  it("variants: one of the app's own list, with the list in the message", () => {
    const variants = ['schema', 'no-schema'];
    expect(parseProductsQuery({ rows: '1', variant: 'no-schema' }, variants).variant).toBe('no-schema');
    expect(variantMessage(variants)).toBe('variant must be one of schema, no-schema');
    for (const variant of ['nope', 'Schema', 'schema ', '', 'schema|no-schema', 'no']) {
      expect(rejection(() => parseProductsQuery({ rows: '1', variant }, variants))).toBe(badBody(variantMessage(variants)));
    }
    expect(rejection(() => parseProductsQuery({ rows: '1' }, variants))).toBe(badBody(variantMessage(variants)));
  });

  it('reports the first failing parameter in order, ignores unknown ones, and reads URLSearchParams like objects', () => {
    expect(rejection(() => parseWaitQuery({ ms: 'x', mode: 'x' }))).toBe(badBody(LAB_MESSAGES.ms));
    expect(rejection(() => parseFanoutQuery({ calls: '1', ms: 'x', mode: 'x' }))).toBe(badBody(LAB_MESSAGES.ms));
    expect(parseWaitQuery({ ms: '5', mode: 'block', extra: 'ignored' })).toEqual({ ms: 5, mode: 'block' });
    expect(parseWaitQuery(new URLSearchParams('ms=5&mode=offload&x=1'))).toEqual({ ms: 5, mode: 'offload' });
    expect(rejection(() => parseWaitQuery(new URLSearchParams('ms=5&ms=5&mode=await')))).toBe(badBody(LAB_MESSAGES.ms));
    // A prototype key is not a parameter.
    expect(rejection(() => parsePbkdf2Query(Object.create({ iterations: '5' }) as LabQuery))).toBe(badBody(LAB_MESSAGES.iterations));
  });

  it('the JSON Schemas accept exactly what the parsers accept (Ajv, as Fastify runs it: no coercion)', () => {
    const ajv = new Ajv({ coerceTypes: false, allErrors: false });
    const values = ['0', '1', '2', '5', '999', '1000', '1001', '4999', '5000', '5001', '1000000', '1000001', '2000000', '2000001', '01', '-1', '1e3', '', ' 1', 'await', 'block', 'offload', 'main', 'worker', 'sequential', 'all', 'limit:1', 'limit:1000', 'limit:0', 'limit:1001', 'limit:01', 'a', 'b', 'c'];
    const cases: Array<[string, object, (q: LabQuery) => unknown]> = [
      ['wait', LAB_QUERY_SCHEMAS.wait, parseWaitQuery],
      ['cpu', LAB_QUERY_SCHEMAS.cpu, parseCpuQuery],
      ['fanout', LAB_QUERY_SCHEMAS.fanout, parseFanoutQuery],
      ['pbkdf2', LAB_QUERY_SCHEMAS.pbkdf2, parsePbkdf2Query],
      ['products', productsQuerySchema(['a', 'b']), (q) => parseProductsQuery(q, ['a', 'b'])],
    ];
    for (const [route, schema, parse] of cases) {
      const validate = ajv.compile(schema);
      const names = Object.keys((schema as { properties: object }).properties);
      const queries: Array<Record<string, unknown>> = [{}];
      for (const name of names) {
        const next: Array<Record<string, unknown>> = [];
        for (const q of queries) {
          next.push(q);
          for (const v of values) next.push({ ...q, [name]: v });
          next.push({ ...q, [name]: ['1', '1'] });
        }
        queries.splice(0, queries.length, ...next.filter((_, i) => i % Math.max(1, Math.floor(next.length / 4000)) === 0));
      }
      let accepted = 0;
      for (const q of queries) {
        let parsed = true;
        try {
          parse(q);
        } catch {
          parsed = false;
        }
        expect(validate(q), `${route} ${JSON.stringify(q)}`).toBe(parsed);
        if (parsed) accepted++;
      }
      expect(accepted, `${route}: some queries are valid`).toBeGreaterThan(0);
    }
  });
});

describe('lab routes', () => {
  it('match exact paths only, with the raw :id of the cache route', () => {
    expect(matchLabRoute('/lab/simple')?.name).toBe('simple');
    expect(matchLabRoute('/lab/cache/stats')?.name).toBe('cacheStats');
    expect(matchLabRoute('/lab/cache/products/42')).toEqual({ name: 'cacheProduct', pattern: '/lab/cache/products/:id', params: { id: '42' } });
    expect(matchLabRoute('/lab/cache/products/%ZZ')?.params.id).toBe('%ZZ');
    for (const path of ['/lab', '/lab/', '/lab/simple/', '/lab/Simple', '/LAB/simple', '/lab/cache/products/', '/lab/cache/products/1/2', '/lab/cache', '/products']) {
      expect(matchLabRoute(path), path).toBeUndefined();
    }
  });
});
