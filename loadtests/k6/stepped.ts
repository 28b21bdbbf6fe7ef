/**
 * stackbench's stepped load test for k6 (>= 0.45, bundled by scripts/build-k6.mjs to dist/k6/stepped.js).
 *
 *   k6 run -e BASE_URL=http://127.0.0.1:3000 -e PROFILE=quick dist/k6/stepped.js
 *
 * Runs the shared user journey (../src/scenario.ts) step by step (see ./plan.ts for the environment variables and
 * the per-step thresholds) and writes the per-step figures as JSON to SUMMARY_PATH (see ./summary.ts).
 */
import http from 'k6/http';
import { sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate } from 'k6/metrics';
import type { RefinedResponse, ResponseType } from 'k6/http';
import {
  resolveScenario,
  runIterationSync,
  type ScenarioRequest,
  type ScenarioResponse,
} from '../src/index.js';
import { METRICS, WARMUP_TAG, buildOptions, planFromEnv } from './plan.js';
import { renderText, summarize } from './summary.js';

const plan = planFromEnv(__ENV);
export const options = buildOptions(plan);

const scenario = resolveScenario({ productCount: plan.productCount, pageSize: plan.pageSize, thinkMs: plan.thinkMs });
const errorRate = new Rate(METRICS.errors);
const errorKinds = new Counter(METRICS.errorKinds);
const TIMEOUT_ERROR_CODE = 1050; // k6: "request timeout"
const JSON_HEADERS = { 'Content-Type': 'application/json' };

export default function (): void {
  const step = __ENV.STACKBENCH_STEP || '0';
  const warmupMs = Number(__ENV.STACKBENCH_WARMUP_MS || '0');
  const stepMs = Number(__ENV.STACKBENCH_STEP_MS || '0');
  const start = exec.scenario.startTime;
  const measureFrom = start + warmupMs;
  const endAt = measureFrom + stepMs;

  // The `step` tag of each request sent, in order: outcome i of the iteration belongs to request i.
  const sentTags: string[] = [];
  const send = (request: ScenarioRequest): ScenarioResponse => {
    const tag = Date.now() >= measureFrom ? step : WARMUP_TAG;
    sentTags.push(tag);
    const tags = { name: request.name, step: tag };
    const params = { tags, timeout: `${plan.requestTimeoutMs}ms`, headers: request.body !== undefined ? JSON_HEADERS : {} };
    const res: RefinedResponse<ResponseType | undefined> =
      request.method === 'POST'
        ? http.post(plan.baseUrl + request.path, request.body || '', params)
        : http.get(plan.baseUrl + request.path, params);
    let response: ScenarioResponse;
    if (res.status === 0) {
      response = { status: 0, error: res.error_code === TIMEOUT_ERROR_CODE ? 'timeout' : 'connection' };
    } else {
      response = { status: res.status };
      if (request.needsJson) {
        try {
          response.json = JSON.parse(String(res.body));
        } catch (_err) {
          response.json = undefined;
        }
      }
    }
    return response;
  };

  const result = runIterationSync(scenario, Math.random, send, (ms) => sleep(ms / 1000), {
    // Do not start a request after the step's measured window: the next step's warm-up may already run.
    shouldContinue: () => Date.now() < endAt,
  });

  // One error-rate sample per request sent, tagged with the phase the request started in: its passes + fails are
  // the step's request count, its passes the step's errors.
  for (let i = 0; i < result.outcomes.length; i++) {
    const outcome = result.outcomes[i]!;
    const tag = sentTags[i] || WARMUP_TAG;
    errorRate.add(!outcome.ok, { step: tag, name: outcome.name });
    if (!outcome.ok && outcome.errorKind) errorKinds.add(1, { step: tag, kind: outcome.errorKind, name: outcome.name });
  }
}

export function handleSummary(data: unknown): Record<string, string> {
  const summary = summarize(data, plan);
  return { [plan.summaryPath]: JSON.stringify(summary, null, 2), stdout: renderText(summary) };
}
