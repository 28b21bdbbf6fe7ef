/**
 * The one loopback rule for every target stackbench loads or verifies (the CLI, the embedded driver, the k6 script),
 * so they cannot disagree. Pure and ES2017: the k6 bundle inlines it for k6's JavaScript runtime.
 *
 * Strict on purpose: only the spellings that mean loopback on every resolver and URL parser. `127.1`, `0x7f.0.0.1`
 * or `127.0.0.01` also reach 127.0.0.1 through WHATWG URL parsing, but other parsers read them differently, so they
 * are refused rather than normalized.
 */

const IPV4_LOOPBACK = /^127\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * True for `localhost` (any letter case), `::1` (bare, or bracketed as URLs write it) and canonical IPv4 literals
 * 127.a.b.c (each octet 0-255, no leading zeros); false for anything else.
 */
export function isLoopbackHost(host: string): boolean {
  return host.toLowerCase() === 'localhost' || host === '::1' || host === '[::1]' || IPV4_LOOPBACK.test(host);
}

/**
 * The host of an `http://` URL exactly as written (brackets removed from an IPv6 literal), before any URL parser
 * normalizes it; undefined when the text has no plain `http://host[:port]` authority (credentials included).
 */
export function rawHttpHost(url: string): string | undefined {
  const m = /^http:\/\/(\[[^\]/?#@]*\]|[^\]/?#@:[\\]*)(?::\d*)?(?:[/?#]|$)/i.exec(url);
  return m ? m[1]!.replace(/^\[|\]$/g, '') : undefined;
}

export const LOOPBACK_RULE = 'stackbench only targets loopback addresses (127.0.0.0/8 written as a.b.c.d, ::1, localhost)';
