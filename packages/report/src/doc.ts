/**
 * A tiny document model (sections of paragraphs, lists, tables and charts) rendered to GitHub Markdown and to HTML,
 * so README.md and report.html always show the same tables.
 */

export type Inline = string | { code: string } | { strong: string } | { em: string } | { link: string; href: string };
export type Paragraph = Inline[];

export type Cell = string | { text: string; strong?: boolean; title?: string };

export interface Table {
  headers: string[];
  /** Per column; numeric columns right-aligned. */
  align: ('left' | 'right')[];
  rows: Cell[][];
  /** Columns whose text may wrap in HTML (prose such as notes and reasons); the others stay on one line. */
  wrap?: boolean[];
  /** Marks the table for tests and styling in HTML (data-table attribute). */
  id?: string;
}

export type Block =
  | { kind: 'p'; content: Paragraph }
  | { kind: 'list'; items: Paragraph[] }
  | { kind: 'table'; table: Table }
  | { kind: 'h3'; text: string }
  /** A chart: an SVG image in Markdown, an interactive canvas in HTML. */
  | { kind: 'chart'; chartId: string; svgFile: string; alt: string }
  | { kind: 'details'; summary: string; blocks: Block[] };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export const p = (...content: Inline[]): Block => ({ kind: 'p', content });
export const code = (s: string): Inline => ({ code: s });
export const strong = (s: string): Inline => ({ strong: s });
export const em = (s: string): Inline => ({ em: s });
export const link = (text: string, href: string): Inline => ({ link: text, href });

const cellText = (c: Cell): string => (typeof c === 'string' ? c : c.text);

// ---------------------------------------------------------------------------------------------------------------
// Markdown

function mdEscape(s: string): string {
  // Underscores inside words (order_view) are not emphasis in GFM, so they stay readable in the source.
  return s.replace(/\\/g, '\\\\').replace(/([*`[\]|])/g, '\\$1').replace(/<(?=[A-Za-z/!?])/g, '\\<').replace(/(^|\W)_|_(?=\W|$)/g, (m) => m.replace('_', '\\_'));
}

function mdCode(s: string): string {
  const runs = s.match(/`+/g) ?? [];
  const fence = '`'.repeat(Math.max(0, ...runs.map((r) => r.length)) + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

export function mdInline(parts: Paragraph): string {
  return parts
    .map((x) => {
      if (typeof x === 'string') return mdEscape(x);
      if ('code' in x) return mdCode(x.code);
      if ('strong' in x) return `**${mdEscape(x.strong)}**`;
      if ('em' in x) return `_${mdEscape(x.em)}_`;
      return `[${mdEscape(x.link)}](${x.href.replace(/[ ()]/g, encodeURIComponent)})`;
    })
    .join('');
}

function mdCell(c: Cell): string {
  const t = mdEscape(cellText(c)).replace(/\r?\n/g, ' ');
  return typeof c !== 'string' && c.strong ? `**${t}**` : t;
}

export function mdTable(t: Table): string {
  const head = `| ${t.headers.map((h) => mdEscape(h)).join(' | ')} |`;
  const sep = `|${t.headers.map((_, i) => (t.align[i] === 'right' ? ' ---: ' : ' --- ')).join('|')}|`;
  const rows = t.rows.map((r) => `| ${t.headers.map((_, i) => mdCell(r[i] ?? '')).join(' | ')} |`);
  return [head, sep, ...rows].join('\n');
}

function mdBlock(b: Block, chartPrefix: string): string {
  switch (b.kind) {
    case 'p':
      return mdInline(b.content);
    case 'list':
      return b.items.map((i) => `- ${mdInline(i)}`).join('\n');
    case 'table':
      return mdTable(b.table);
    case 'h3':
      return `### ${mdEscape(b.text)}`;
    case 'chart':
      return `![${mdEscape(b.alt)}](${(chartPrefix + b.svgFile).replace(/[ ()]/g, encodeURIComponent)})`;
    case 'details':
      return `<details>\n<summary>${htmlEscape(b.summary)}</summary>\n\n${b.blocks.map((x) => mdBlock(x, chartPrefix)).join('\n\n')}\n\n</details>`;
  }
}

/** Blocks as Markdown (no heading). */
export function renderMarkdownBlocks(blocks: Block[], opts: { chartPrefix?: string } = {}): string {
  return blocks.map((b) => mdBlock(b, opts.chartPrefix ?? '')).join('\n\n');
}

/** Sections as Markdown; `headingLevel` 2 gives "## Title"; chart images are linked as `chartPrefix + file`. */
export function renderMarkdownSections(sections: Section[], opts: { headingLevel?: number; chartPrefix?: string } = {}): string {
  const h = '#'.repeat(opts.headingLevel ?? 2);
  const prefix = opts.chartPrefix ?? '';
  const shift = (s: string) => (opts.headingLevel && opts.headingLevel > 2 ? s.replace(/^### /gm, `${'#'.repeat(opts.headingLevel + 1)} `) : s);
  return sections
    .map((s) => [`${h} ${mdEscape(s.title)}`, ...s.blocks.map((b) => shift(mdBlock(b, prefix)))].join('\n\n'))
    .join('\n\n');
}

// ---------------------------------------------------------------------------------------------------------------
// HTML

export function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function htmlInline(parts: Paragraph): string {
  return parts
    .map((x) => {
      if (typeof x === 'string') return htmlEscape(x);
      if ('code' in x) return `<code>${htmlEscape(x.code)}</code>`;
      if ('strong' in x) return `<strong>${htmlEscape(x.strong)}</strong>`;
      if ('em' in x) return `<em>${htmlEscape(x.em)}</em>`;
      // Links inside the report point at files beside it (README, SVGs); they are not fetched when the page loads.
      return `<a href="${htmlEscape(x.href)}">${htmlEscape(x.link)}</a>`;
    })
    .join('');
}

export function htmlTable(t: Table): string {
  const cls = (i: number) => {
    const c = [t.align[i] === 'right' ? 'num' : '', t.wrap?.[i] ? 'wrap' : 'nowrap'].filter(Boolean).join(' ');
    return ` class="${c}"`;
  };
  const head = t.headers.map((h, i) => `<th${cls(i)}>${htmlEscape(h)}</th>`).join('');
  const rows = t.rows
    .map((r) => {
      const tds = t.headers
        .map((_, i) => {
          const c = r[i] ?? '';
          const body = htmlEscape(cellText(c));
          const title = typeof c !== 'string' && c.title ? ` title="${htmlEscape(c.title)}"` : '';
          return `<td${cls(i)}${title}>${typeof c !== 'string' && c.strong ? `<strong>${body}</strong>` : body}</td>`;
        })
        .join('');
      return `<tr>${tds}</tr>`;
    })
    .join('\n');
  return `<div class="table-wrap"><table${t.id ? ` data-table="${htmlEscape(t.id)}"` : ''}>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${rows}\n</tbody></table></div>`;
}

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case 'p':
      return `<p>${htmlInline(b.content)}</p>`;
    case 'list':
      return `<ul>${b.items.map((i) => `<li>${htmlInline(i)}</li>`).join('')}</ul>`;
    case 'table':
      return htmlTable(b.table);
    case 'h3':
      return `<h3>${htmlEscape(b.text)}</h3>`;
    case 'chart':
      return `<figure class="chart"><div class="canvas-box" id="box-${htmlEscape(b.chartId)}"><canvas id="chart-${htmlEscape(b.chartId)}" role="img" aria-label="${htmlEscape(b.alt)}"></canvas></div></figure>`;
    case 'details':
      return `<details><summary>${htmlEscape(b.summary)}</summary>${b.blocks.map(htmlBlock).join('\n')}</details>`;
  }
}

export function renderHtmlSections(sections: Section[]): string {
  return sections.map((s) => `<section id="${htmlEscape(s.id)}">\n<h2>${htmlEscape(s.title)}</h2>\n${s.blocks.map(htmlBlock).join('\n')}\n</section>`).join('\n');
}
