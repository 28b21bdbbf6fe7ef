import { allCombinations } from '@stackbench/bench/registry';
import { send, type RawRequest } from '@stackbench/contract/suite';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '@stackbench/test-support/db';
import { startTestServer } from '@stackbench/test-support/servers';

const json = (body: unknown): Pick<RawRequest, 'headers' | 'body'> => ({
  headers: { 'content-type': 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** One fixed sequence of requests, successes and failures, replayed on a fresh database for every stack. */
const SEQUENCE: RawRequest[] = [
  { method: 'GET', path: '/health' },
  { method: 'GET', path: '/products' },
  { method: 'GET', path: '/products?limit=3&after=7' },
  { method: 'GET', path: '/products?limit=100&after=9990' },
  { method: 'GET', path: '/products/6' },
  { method: 'GET', path: '/products/1' },
  { method: 'GET', path: '/products/999999' },
  { method: 'POST', path: '/orders', ...json({ productId: 6, quantity: 2 }) },
  { method: 'GET', path: '/orders/1' },
  { method: 'POST', path: '/orders', ...json({ productId: 2, quantity: 2 }) },
  { method: 'POST', path: '/orders', ...json({ productId: 99999999, quantity: 1 }) },
  { method: 'GET', path: '/products/6' },
  { method: 'GET', path: '/orders/2' },
  { method: 'GET', path: '/products/abc' },
  { method: 'GET', path: '/orders/0' },
  { method: 'GET', path: '/products?limit=0' },
  { method: 'GET', path: '/products?after=-1' },
  { method: 'GET', path: '/products?limit=1&limit=2' },
  { method: 'POST', path: '/orders', ...json('{"productId": 6,') },
  { method: 'POST', path: '/orders', ...json('[]') },
  { method: 'POST', path: '/orders', ...json({ quantity: 1 }) },
  { method: 'POST', path: '/orders', ...json({ productId: 6 }) },
  { method: 'POST', path: '/orders', ...json({ productId: '6', quantity: 1 }) },
  { method: 'POST', path: '/orders', ...json({ productId: 6, quantity: 0 }) },
  { method: 'POST', path: '/orders', ...json({ productId: 6, quantity: 1, note: 'x' }) },
  { method: 'POST', path: '/orders', headers: { 'content-type': 'text/plain' }, body: '{"productId":6,"quantity":1}' },
  { method: 'POST', path: '/orders', ...json({ productId: 6, quantity: 1, pad: 'x'.repeat(17_000) }) },
  { method: 'DELETE', path: '/products' },
  { method: 'GET', path: '/orders' },
  { method: 'GET', path: '/nope' },
  { method: 'GET', path: '/products/' },
  { method: 'GET', path: '/products/7' },
];

/** Status, content type and body, with the only legitimately varying field (createdAt) masked. */
async function transcript(baseUrl: string): Promise<string[]> {
  const lines: string[] = [];
  for (const req of SEQUENCE) {
    const res = await send(baseUrl, req);
    const body = res.text.replace(/"createdAt":"[^"]*"/g, '"createdAt":"<time>"');
    lines.push(`${req.method} ${req.path.slice(0, 60)} -> ${res.status} ${res.headers['content-type']} ${body}`);
  }
  return lines;
}

/**
 * The committed golden transcript: what the contract says these requests answer, reviewed line by line. Every
 * combination is compared with it (not with another combination, so a run filtered to one stack still proves
 * something). After a deliberate contract change: `UPDATE_GOLDEN=1 npx vitest run test/cross-stack-diff.test.ts`,
 * then review the diff of the file.
 */
const GOLDEN = fileURLToPath(new URL('./fixtures/cross-stack-transcript.txt', import.meta.url));
const golden = readFileSync(GOLDEN, 'utf8').trimEnd().split('\n');

describe('the golden transcript', () => {
  it('says what the contract says (so a wrong golden cannot pass everyone)', () => {
    expect(golden).toHaveLength(SEQUENCE.length);
    expect(golden[0]).toMatch(/^GET \/health -> 200 application\/json; charset=utf-8 \{"status":"ok"\}$/);
    expect(golden[7]).toMatch(/^POST \/orders -> 201 .*"productId":6,"quantity":2/);
    expect(golden[9]).toMatch(/-> 409 .*"insufficient_stock"/);
    expect(golden[10]).toMatch(/-> 404 .*"not_found"/);
    expect(golden.filter((l) => / -> 400 /.test(l))).toHaveLength(12);
    expect(golden[25]).toMatch(/-> 415 /);
    expect(golden[26]).toMatch(/-> 413 /);
    expect(golden[27]).toMatch(/-> 405 /);
  });
});

/** Every combination of the registry (50) answers the same requests with the golden bytes: a stack that returns less (or more) is not comparable. */
describe('cross-stack diff: identical responses on every combination', () => {
  allCombinations().forEach((combo, index) => {
    it(`${combo.app} + ${combo.store} (${combo.conn})`, async () => {
      const db = await createTestDatabase(`diff_${combo.app}_${combo.store}_${combo.conn}`);
      const server = await startTestServer({ ...combo, databaseUrl: db.url });
      try {
        const lines = await transcript(server.url);
        if (process.env.UPDATE_GOLDEN === '1' && index === 0) writeFileSync(GOLDEN, lines.join('\n') + '\n');
        else expect(lines).toEqual(golden);
      } finally {
        await server.close();
        await db.drop();
      }
    });
  });
});
