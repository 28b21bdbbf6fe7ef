/**
 * Number formatting for every table and chart label. One rule per kind of figure, so a column never mixes
 * decimals, and anything missing or not finite prints as an en dash — never NaN, undefined or Infinity.
 */

export const MISSING = '–';

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

export function fixed(n: number | null | undefined, decimals: number): string {
  if (!finite(n)) return MISSING;
  const s = n.toFixed(decimals);
  // "-0.0" → "0.0"
  return /^-0(\.0+)?$/.test(s) ? s.slice(1) : s;
}

/** Virtual users, request and error counts: integers. */
export const fmtCount = (n: number | null | undefined): string => fixed(n, 0);
/** Requests per second: one decimal. */
export const fmtRps = (n: number | null | undefined): string => fixed(n, 1);
/** Latency in ms: one decimal. */
export const fmtMs = (n: number | null | undefined): string => fixed(n, 1);
/** CPU percent of one core: integer. */
export const fmtCpu = (n: number | null | undefined): string => fixed(n, 0);
/** Memory in MiB: integer. */
export const fmtMiB = (n: number | null | undefined): string => fixed(n, 0);
/** A ratio: two decimals and an x, e.g. 0.42x. */
export const fmtRatio = (n: number | null | undefined): string => (finite(n) ? `${fixed(n, 2)}x` : MISSING);
/** A fraction 0..1 as a percentage with `decimals` decimals, e.g. 0.013 → "1.3 %". */
export const fmtPercent = (fraction: number | null | undefined, decimals = 0): string =>
  finite(fraction) ? `${fixed(fraction * 100, decimals)} %` : MISSING;

/** a ÷ b when both are finite and b > 0, else null. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (!finite(a) || !finite(b) || b <= 0) return null;
  return a / b;
}

/** "costs 17 %", "gains 20 %" or "no difference" for a ratio to a reference (higher = better). */
export function costPhrase(r: number | null): string {
  if (r === null || !Number.isFinite(r)) return 'not comparable';
  const pct = Math.round((1 - r) * 100);
  if (pct === 0) return 'no measurable difference';
  return pct > 0 ? `costs ${pct} %` : `gains ${-pct} %`;
}

/** Median of the numbers (the mean of the two middle values for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  const v = values.filter(finite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Compare Node-style versions ("24.11.0", "v20.19.5", "bun-1.2"): numeric parts first, then text. */
export function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split(/[.\-+]/);
  const pb = b.replace(/^v/, '').split(/[.\-+]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    if (Number.isFinite(nx) && Number.isFinite(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

/** Duration between two ISO timestamps as "3 h 25 min" / "12 min 5 s"; "–" when either is unreadable. */
export function fmtDuration(fromIso: string, toIso: string): string {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return MISSING;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${sec} s`;
  return `${sec} s`;
}

/** Text for possibly-missing strings. */
export function text(s: string | null | undefined): string {
  return typeof s === 'string' && s.trim() !== '' ? s : MISSING;
}
