import * as hdr from 'hdr-histogram-js';

import { EMPTY_LATENCY, type Latency } from '../measurement.js';

/** Recorded values are microseconds; 60 s is the usual top, the histogram resizes past it rather than throwing. */
const HIGHEST_US = 60_000_000;

/** A latency histogram in microseconds (HDR, 3 significant digits, plain JS: no WebAssembly to initialise). */
export class LatencyHistogram {
  private readonly h: hdr.Histogram;

  constructor() {
    this.h = hdr.build({
      lowestDiscernibleValue: 1,
      highestTrackableValue: HIGHEST_US,
      numberOfSignificantValueDigits: 3,
      bitBucketSize: 32,
      autoResize: true,
      useWebAssembly: false,
    });
  }

  /** Records one latency given in milliseconds (fractional). */
  recordMs(ms: number): void {
    this.h.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  get count(): number {
    return this.h.totalCount;
  }

  percentileMs(p: number): number {
    return this.h.totalCount === 0 ? 0 : Math.min(this.h.getValueAtPercentile(p), this.h.maxValue) / 1000;
  }

  summary(): Latency {
    if (this.h.totalCount === 0) return { ...EMPTY_LATENCY };
    // Percentiles are reported as the top of their HDR bucket, which can exceed the (exact) max: clamp to it.
    const max = this.h.maxValue;
    const ms = (us: number) => Math.round(Math.min(us, max)) / 1000;
    return {
      avg: ms(this.h.mean),
      p50: ms(this.h.getValueAtPercentile(50)),
      p90: ms(this.h.getValueAtPercentile(90)),
      p95: ms(this.h.getValueAtPercentile(95)),
      p99: ms(this.h.getValueAtPercentile(99)),
      max: ms(max),
    };
  }

  destroy(): void {
    this.h.destroy();
  }
}
