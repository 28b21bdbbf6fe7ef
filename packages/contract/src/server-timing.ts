/**
 * Every response, errors included, carries `Server-Timing: app;dur=<milliseconds, 3 decimals>`: the time from the
 * server receiving the request to writing the response headers, as measured inside the app's process. Set once for
 * all apps by @stackbench/server; the contract suite checks it.
 */
export const SERVER_TIMING_HEADER = 'server-timing';

const SERVER_TIMING = /^app;dur=(\d+\.\d{3})$/;

/** The `app` duration in milliseconds, or undefined when the value is not exactly `app;dur=N.NNN`. */
export function parseServerTiming(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = SERVER_TIMING.exec(value);
  return m ? Number(m[1]) : undefined;
}

/**
 * The fast path for load engines (once per response, k6's interpreter included): the number after `app;dur=`
 * without a regular expression, or undefined. Apps always send exactly `app;dur=N.NNN` (the contract suite checks
 * the format with {@link parseServerTiming}).
 */
export function appDurationMs(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.lastIndexOf('app;dur=', 0) !== 0) return undefined;
  const ms = Number(value.slice(8));
  return ms >= 0 ? ms : undefined;
}

/** The header's value for a duration in milliseconds. */
export function formatServerTiming(ms: number): string {
  return `app;dur=${ms.toFixed(3)}`;
}
