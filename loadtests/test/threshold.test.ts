import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLD,
  ThresholdParseError,
  describeLatencyThreshold,
  evaluateStep,
  formatThreshold,
  parseErrorRateLimit,
  parseLatencyThreshold,
  parseThreshold,
  toK6ErrorRateExpression,
  toK6Expression,
  type StepFigures,
} from '../src/index.js';

function figures(overrides: Partial<StepFigures['latencyMs']> = {}, requests = 1000, errors = 0): StepFigures {
  return {
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    latencyMs: { avg: 20, p50: 15, p90: 60, p95: 80, p99: 150, max: 300, ...overrides },
  };
}

describe('parsing', () => {
  it('defaults to p95<100 and errors < 1 %', () => {
    expect(DEFAULT_THRESHOLD).toEqual({ text: 'p95<100', latency: [{ stat: 'p95', op: '<', limitMs: 100 }], errorRate: { op: '<', limit: 0.01 } });
    expect(formatThreshold(DEFAULT_THRESHOLD)).toBe('p95<100 errors<1%');
    expect(describeLatencyThreshold(DEFAULT_THRESHOLD)).toBe('p95 < 100 ms');
  });

  it('keeps a normalized text of the latency conditions that parses back to the same conditions', () => {
    const cases: Array<[string, string]> = [
      ['p95<100', 'p95<100'],
      ['P(95) < 100ms', 'p95<100'],
      ['med<10, max<=1000', 'p50<10,max<=1000'],
      ['avg<0.05s,p99<=250', 'avg<50,p99<=250'],
      ['mean<12.5', 'avg<12.5'],
    ];
    for (const [given, text] of cases) {
      const t = parseThreshold(given);
      expect(t.text, given).toBe(text);
      expect(parseThreshold(t.text).latency, given).toEqual(t.latency);
    }
    expect(parseThreshold('p95<100', '0.5%')).toMatchObject({ text: 'p95<100', errorRate: { op: '<', limit: 0.005 } });
    expect(describeLatencyThreshold(parseThreshold('avg<50,p99<=250'))).toBe('avg < 50 ms and p99 ≤ 250 ms');
  });

  it('reads avg/p50/p90/p95/p99/max, < and <=, ms and s, k6 spellings and lists', () => {
    expect(parseLatencyThreshold('p99<=250ms')).toEqual([{ stat: 'p99', op: '<=', limitMs: 250 }]);
    expect(parseLatencyThreshold('avg<0.05s')).toEqual([{ stat: 'avg', op: '<', limitMs: 50 }]);
    expect(parseLatencyThreshold('P90 < 80')).toEqual([{ stat: 'p90', op: '<', limitMs: 80 }]);
    expect(parseLatencyThreshold('p(95)<100')).toEqual([{ stat: 'p95', op: '<', limitMs: 100 }]);
    expect(parseLatencyThreshold('med<10, max<=1000')).toEqual([
      { stat: 'p50', op: '<', limitMs: 10 },
      { stat: 'max', op: '<=', limitMs: 1000 },
    ]);
    expect(parseLatencyThreshold('p95<99.5')[0]!.limitMs).toBe(99.5);
  });

  it('rejects nonsense with a clear message', () => {
    for (const bad of ['', 'p95', 'p95>100', 'p97<100', 'p95<-1', 'p95<0', 'p95<100h', 'fast']) {
      expect(() => parseLatencyThreshold(bad), bad).toThrow(ThresholdParseError);
    }
  });

  it('reads error-rate limits', () => {
    expect(parseErrorRateLimit('1%')).toEqual({ op: '<', limit: 0.01 });
    expect(parseErrorRateLimit('<0.5%')).toEqual({ op: '<', limit: 0.005 });
    expect(parseErrorRateLimit('<=2%')).toEqual({ op: '<=', limit: 0.02 });
    expect(parseErrorRateLimit('0.01')).toEqual({ op: '<', limit: 0.01 });
    expect(parseErrorRateLimit('errors<1%')).toEqual({ op: '<', limit: 0.01 });
    expect(parseErrorRateLimit('0%')).toEqual({ op: '<=', limit: 0 });
    expect(parseErrorRateLimit(0.02)).toEqual({ op: '<', limit: 0.02 });
    for (const bad of ['', 'x', '101%', '2', '-1%']) expect(() => parseErrorRateLimit(bad), bad).toThrow(ThresholdParseError);
  });

  it('translates to k6 threshold expressions', () => {
    const t = parseThreshold('p95<100,avg<=50,med<20,max<900,p99<250', '1%');
    expect(t.latency.map(toK6Expression)).toEqual(['p(95)<100', 'avg<=50', 'med<20', 'max<900', 'p(99)<250']);
    expect(toK6ErrorRateExpression(t.errorRate)).toBe('rate<0.01');
  });
});

describe('evaluateStep', () => {
  it('passes when every condition holds', () => {
    expect(evaluateStep(figures())).toEqual({ passed: true, reasons: [] });
  });

  it('fails on latency, with the reason', () => {
    const v = evaluateStep(figures({ p95: 112.4 }));
    expect(v.passed).toBe(false);
    expect(v.reasons).toEqual(['p95 112.4 ms is not < 100 ms']);
  });

  it('distinguishes < from <= at the limit', () => {
    expect(evaluateStep(figures({ p95: 100 })).passed).toBe(false);
    expect(evaluateStep(figures({ p95: 100 }), parseThreshold('p95<=100')).passed).toBe(true);
  });

  it('fails on the error rate', () => {
    expect(evaluateStep(figures({}, 1000, 9)).passed).toBe(true);
    const v = evaluateStep(figures({}, 1000, 10));
    expect(v.passed).toBe(false);
    expect(v.reasons[0]).toMatch(/error rate 1 % \(10\/1000\) is not < 1 %/);
  });

  it('lists every failed condition', () => {
    const v = evaluateStep(figures({ p95: 200, p99: 400 }, 100, 50), parseThreshold('p95<100,p99<300'));
    expect(v.reasons).toHaveLength(3);
  });

  it('fails a step with no requests', () => {
    expect(evaluateStep(figures({}, 0, 0))).toEqual({ passed: false, reasons: ['no requests completed'] });
  });
});
