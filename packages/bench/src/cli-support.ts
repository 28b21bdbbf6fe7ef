import { isLoopbackHost, LOOPBACK_RULE, rawHttpHost } from '@stackbench/contract';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A user error: printed as one line, exit code 1, nothing changed. */
export class CliError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing: an unknown flag or a missing value is a CliError, not a crash. */
type Parsed<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: boolean; strict: true }>>;

export function parseFlags<T extends Options>(args: string[], options: T, allowPositionals = false): Parsed<T> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    throw new CliError((err as Error).message.split('\n')[0]!);
  }
}

export function intFlag(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CliError(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** `a,b` or `all` against a list of known names. */
export function listFlag(value: string | undefined, name: string, known: readonly string[], fallback: readonly string[]): string[] {
  if (value === undefined) return [...fallback];
  if (value === 'all') return [...known];
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new CliError(`--${name} needs at least one name (known: ${known.join(', ')}, or all)`);
  for (const item of items) {
    if (!known.includes(item)) throw new CliError(`unknown ${name.replace(/s$/, '')} "${item}" (known: ${known.join(', ')})`);
  }
  return items;
}

/**
 * Only loopback addresses are load or verification targets on these machines. The host is checked as written
 * (isLoopbackHost), not as a URL parser normalizes it, so `127.1` or `0x7f.0.0.1` are refused rather than guessed.
 */
export function assertLoopbackUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`not a URL: "${raw}"`);
  }
  if (url.protocol !== 'http:') throw new CliError(`only http:// URLs are supported, got ${url.protocol}`);
  const host = rawHttpHost(raw);
  if (host === undefined || !isLoopbackHost(host) || url.hostname.replace(/^\[|\]$/g, '') !== host.toLowerCase()) {
    throw new CliError(`refusing ${host ?? url.host}: ${LOOPBACK_RULE}`);
  }
  return url;
}
