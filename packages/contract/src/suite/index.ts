import { contractChecks, type CheckContext, type ContractCheck } from './checks.js';
import { send } from './http.js';

export { contractChecks, expectError, expectJsonContentType, expectServerTiming } from './checks.js';
export type { CheckContext, ContractCheck } from './checks.js';
export { send } from './http.js';
export type { RawRequest, RawResponse } from './http.js';

export function createCheckContext(baseUrl: string): CheckContext {
  return {
    baseUrl,
    send: (req) => send(baseUrl, req),
    get: (path) => send(baseUrl, { method: 'GET', path }),
    postOrder: (body) =>
      send(baseUrl, {
        method: 'POST',
        path: '/orders',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
  };
}

export interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface SuiteReport {
  baseUrl: string;
  passed: number;
  failed: number;
  results: CheckResult[];
}

/**
 * Runs every contract check against a running server, in order, each to completion. The server must serve a
 * freshly seeded catalog (checks order from it and rely on its low-stock products).
 */
export async function runContractSuite(
  baseUrl: string,
  options: { checks?: ContractCheck[]; onResult?: (result: CheckResult) => void } = {},
): Promise<SuiteReport> {
  const ctx = createCheckContext(baseUrl);
  const results: CheckResult[] = [];
  for (const c of options.checks ?? contractChecks) {
    const started = performance.now();
    let result: CheckResult;
    try {
      await c.run(ctx);
      result = { name: c.name, ok: true, ms: performance.now() - started };
    } catch (err) {
      result = { name: c.name, ok: false, error: (err as Error).message, ms: performance.now() - started };
    }
    results.push(result);
    options.onResult?.(result);
  }
  const failed = results.filter((r) => !r.ok).length;
  return { baseUrl, passed: results.length - failed, failed, results };
}
