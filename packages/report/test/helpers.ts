import { readFileSync } from 'node:fs';
import type { Results } from '../src/results.js';

export const fixturePath = new URL('./fixtures/results.json', import.meta.url);

export function loadFixture(): Results {
  return JSON.parse(readFileSync(fixturePath, 'utf8')) as Results;
}

/** Parses a GitHub Markdown table (the first one found after `startsWith`, if given) into header + rows of cells. */
export function parseMdTable(md: string, afterHeading?: string): { headers: string[]; rows: string[][] } {
  let text = md;
  if (afterHeading) {
    const i = md.indexOf(afterHeading);
    if (i < 0) throw new Error(`heading not found: ${afterHeading}`);
    text = md.slice(i);
  }
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  if (start < 0) throw new Error('no table');
  const tableLines: string[] = [];
  for (let i = start; i < lines.length && lines[i]!.startsWith('|'); i++) tableLines.push(lines[i]!);
  const split = (l: string) =>
    l
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, '|').replace(/\*\*/g, '').replace(/\\</g, '<'));
  const [head, , ...rows] = tableLines;
  return { headers: split(head!), rows: rows.map(split) };
}

/** Row of a parsed table whose cell `col` equals `label`. */
export function rowOf(t: { headers: string[]; rows: string[][] }, label: string, col = 0): Record<string, string> {
  const r = t.rows.find((x) => x[col] === label);
  if (!r) throw new Error(`row not found: ${label} in ${t.rows.map((x) => x[col]).join(', ')}`);
  return Object.fromEntries(t.headers.map((h, i) => [h, r[i] ?? '']));
}
