import { readFileSync } from 'node:fs';
import type { Combo, Results } from '../src/results.js';

export const fixturePath = new URL('./fixtures/results.json', import.meta.url);

/** A fresh copy of the fixture (tests mutate their copies). */
export function loadFixture(): Results {
  return JSON.parse(readFileSync(fixturePath, 'utf8')) as Results;
}

/** The fixture's entries of one combination, e.g. entriesOf(r, 'node-http', 'pg', 'pool', '20.19.5'). */
export function entriesOf(r: Results, app: string, store: string, conn: string, runtime: string): Combo[] {
  const found = r.combos.filter((c) => c.app === app && c.store === store && c.conn === conn && c.runtime === runtime);
  if (found.length === 0) throw new Error(`no entries for ${app}/${store}/${conn}/${runtime}`);
  return found;
}

/** The same run in the open model: loads read as offered journeys per second. */
export function openModel(r: Results): Results {
  const open = structuredClone(r);
  open.method.model = 'open';
  for (const c of open.combos) for (const s of c.steps) s.model = 'open';
  return open;
}

/** GitHub Markdown's backslash escapes undone, so cells compare with what a reader sees. */
function unescapeMd(s: string): string {
  return s.replace(/\\([\\*`[\]|<_])/g, '$1');
}

/** Parses a GitHub Markdown table (the first one found after `afterHeading`, if given) into header + rows of cells. */
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
      .map((c) => unescapeMd(c.trim().replace(/\*\*/g, '')));
  const [head, , ...rows] = tableLines;
  return { headers: split(head!), rows: rows.map(split) };
}

/** Row of a parsed table whose cell `col` equals `label`. */
export function rowOf(t: { headers: string[]; rows: string[][] }, label: string, col = 0): Record<string, string> {
  const r = t.rows.find((x) => x[col] === label);
  if (!r) throw new Error(`row not found: ${label} in ${t.rows.map((x) => x[col]).join(', ')}`);
  return Object.fromEntries(t.headers.map((h, i) => [h, r[i] ?? '']));
}
