/**
 * Regular expressions (source text, anchored) for the canonical decimal spelling of every integer in [min, max]:
 * digits only, no sign, no leading zeros — the contract's rule for numbers in query strings. One pattern serves the
 * lab's own parser and the JSON Schemas of frameworks that validate query strings themselves, so both accept
 * exactly the same strings.
 */

const digitClass = (lo: number, hi: number): string => (lo === hi ? String(lo) : `[${lo}-${hi}]`);

/** Alternatives matching every string of digits from `lo` to `hi` (same length; inner positions may be 0). */
function sameLength(lo: string, hi: string): string[] {
  if (lo.length === 0) return [''];
  const first = Number(lo[0]);
  const last = Number(hi[0]);
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  const group = (alternatives: string[]) => (alternatives.length === 1 ? alternatives[0]! : `(?:${alternatives.join('|')})`);
  if (first === last) return sameLength(restLo, restHi).map((tail) => `${first}${tail}`);
  const nines = '9'.repeat(restLo.length);
  const zeros = '0'.repeat(restLo.length);
  const out: string[] = [];
  // Collapse whole-range tails ([0-9]{k}) when the low side starts at 0...0 or the high side ends at 9...9.
  const lowFull = restLo === zeros;
  const highFull = restHi === nines;
  const anyTail = restLo.length === 0 ? '' : `[0-9]{${restLo.length}}`;
  const midLo = lowFull ? first : first + 1;
  const midHi = highFull ? last : last - 1;
  if (!lowFull) out.push(`${first}${group(sameLength(restLo, nines))}`);
  if (midLo <= midHi) out.push(`${digitClass(midLo, midHi)}${anyTail}`);
  if (!highFull) out.push(`${last}${group(sameLength(zeros, restHi))}`);
  return out;
}

/** Anchored pattern source for the canonical decimal integers min..max (0 <= min <= max). */
export function integerRangePattern(min: number, max: number): string {
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || min > max) {
    throw new Error(`integerRangePattern: bad range ${min}..${max}`);
  }
  const alternatives: string[] = [];
  const minDigits = String(min).length;
  const maxDigits = String(max).length;
  for (let digits = minDigits; digits <= maxDigits; digits++) {
    const smallest = digits === 1 ? 0 : 10 ** (digits - 1);
    const lo = String(Math.max(min, smallest));
    const hi = String(Math.min(max, 10 ** digits - 1));
    alternatives.push(...sameLength(lo, hi));
  }
  return `^(?:${alternatives.join('|')})$`;
}
