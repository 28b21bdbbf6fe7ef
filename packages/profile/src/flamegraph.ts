/**
 * A flame graph of a CPU profile as one self-contained SVG: root at the bottom, callees stacked above their caller,
 * width = total time (self + callees), colour = category. No script, no external font, link or image.
 */
import { CATEGORIES, CATEGORY_ORDER, type Category } from './categories.js';
import { FrameClassifier, type ClassifyOptions, type FrameClass } from './classify.js';
import { functionName } from './analyze.js';
import type { CallFrame, Profile, ProfileNode } from './profile.js';
import { escapeXml } from './xml.js';

export interface FlameFrame {
  /** Index in FlameGraph.frames; parents come before their children. */
  id: number;
  parentId: number | null;
  /** 0 = the root ("all"). */
  depth: number;
  name: string;
  callFrame: CallFrame;
  category: Category;
  package: string | null;
  location: string;
  totalMs: number;
  selfMs: number;
  /** Geometry in SVG user units (px). */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FlameGraph {
  title: string;
  width: number;
  height: number;
  /** Left edge and width of the root frame: x of a frame = plotX + its offset in time * plotWidth / rootMs. */
  plotX: number;
  plotWidth: number;
  /** Time under the root: all sampled time, minus idle unless includeIdle. */
  rootMs: number;
  idleMs: number;
  includeIdle: boolean;
  /** Frames narrower than this share of rootMs are left out (their time stays in their caller's width). */
  minFraction: number;
  /** The drawn frames, depth-first, callers before callees. */
  frames: FlameFrame[];
  /** Self time per category under the root, for the legend. */
  categoryMs: Partial<Record<Category, number>>;
}

export interface FlameGraphOptions extends ClassifyOptions {
  title?: string;
  /** Pixels. Default 1200. */
  width?: number;
  /** Default 0.001 (0.1 %). */
  minFraction?: number;
  /** Keep the (idle) frame. Default false: the graph shows CPU work only. */
  includeIdle?: boolean;
}

const ROW = 16;
const MARGIN = 10;
const FONT_SIZE = 11;
// Frame labels are monospace so their width (0.6 em per character) is known and truncation never overflows.
const CHAR_WIDTH = FONT_SIZE * 0.6;
const LABEL_FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace";
const TEXT_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
const ROOT_COLOR = '#eeeeee';

interface MergedNode {
  frame: CallFrame;
  cls: FrameClass;
  selfUs: number;
  totalUs: number;
  children: Map<string, MergedNode>;
}

const frameKey = (f: CallFrame) => `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;

/** Merges identical call paths (same function at the same place under the same merged caller) into one tree. */
function mergeTree(profile: Profile, classifier: FrameClassifier, includeIdle: boolean): MergedNode {
  const rootCls = classifier.classify(profile.root.callFrame, null);
  const root: MergedNode = { frame: profile.root.callFrame, cls: rootCls, selfUs: 0, totalUs: 0, children: new Map() };
  const stack: Array<[ProfileNode, MergedNode]> = [[profile.root, root]];
  while (stack.length) {
    const [node, merged] = stack.pop()!;
    merged.selfUs += node.selfUs;
    for (const child of node.children) {
      const key = frameKey(child.callFrame);
      let target = merged.children.get(key);
      if (!target) {
        const cls = classifier.classify(child.callFrame, merged.cls);
        if (cls.category === 'idle' && !includeIdle) continue;
        target = { frame: child.callFrame, cls, selfUs: 0, totalUs: 0, children: new Map() };
        merged.children.set(key, target);
      }
      stack.push([child, target]);
    }
  }
  const postOrder: MergedNode[] = [];
  const walk = [root];
  while (walk.length) {
    const n = walk.pop()!;
    postOrder.push(n);
    walk.push(...n.children.values());
  }
  for (let i = postOrder.length - 1; i >= 0; i--) {
    const n = postOrder[i]!;
    n.totalUs += n.selfUs;
    for (const c of n.children.values()) n.totalUs += c.totalUs;
  }
  return root;
}

export function buildFlameGraph(profile: Profile, options: FlameGraphOptions = {}): FlameGraph {
  const width = options.width ?? 1200;
  const minFraction = options.minFraction ?? 0.001;
  const includeIdle = options.includeIdle ?? false;
  const classifier = new FrameClassifier(options);
  const root = mergeTree(profile, classifier, includeIdle);
  const idleUs = profile.nodes
    .filter((n) => n.callFrame.url === '' && n.callFrame.functionName === '(idle)')
    .reduce((sum, n) => sum + n.selfUs, 0);

  const plotX = MARGIN;
  const plotWidth = width - 2 * MARGIN;
  const scale = root.totalUs > 0 ? plotWidth / root.totalUs : 0;
  const minUs = root.totalUs * minFraction;

  // Lay out top-down; y is filled in once the depth (and so the height) is known.
  const frames: FlameFrame[] = [];
  const pending: Array<{ node: MergedNode; parentId: number | null; depth: number; x: number }> = [{ node: root, parentId: null, depth: 0, x: plotX }];
  let maxDepth = 0;
  while (pending.length) {
    const { node, parentId, depth, x } = pending.pop()!;
    const id = frames.length;
    const isRoot = parentId === null;
    frames.push({
      id,
      parentId,
      depth,
      name: isRoot ? 'all' : functionName(node.frame),
      callFrame: node.frame,
      category: node.cls.category,
      package: node.cls.package,
      location: node.cls.location,
      totalMs: node.totalUs / 1000,
      selfMs: node.selfUs / 1000,
      x,
      y: 0,
      width: node.totalUs * scale,
      height: ROW - 1,
    });
    maxDepth = Math.max(maxDepth, depth);
    // Widest callee first, at the caller's left edge (ties by name, so the layout is stable).
    const children = [...node.children.values()].sort(
      (a, b) => b.totalUs - a.totalUs || functionName(a.frame).localeCompare(functionName(b.frame)),
    );
    let offset = x;
    const next: typeof pending = [];
    for (const child of children) {
      if (child.totalUs < minUs || child.totalUs === 0) continue;
      next.push({ node: child, parentId: id, depth: depth + 1, x: offset });
      offset += child.totalUs * scale;
    }
    pending.push(...next.reverse());
  }
  // Legend totals count every frame under the root, drawn or not.
  const categoryMs: Partial<Record<Category, number>> = {};
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    if (n.selfUs > 0) categoryMs[n.cls.category] = (categoryMs[n.cls.category] ?? 0) + n.selfUs / 1000;
    stack.push(...n.children.values());
  }

  const legendRows = legendLayout(width, categoryMs).rows;
  const plotTop = HEADER + legendRows * LEGEND_ROW + 8;
  const height = plotTop + (maxDepth + 1) * ROW + MARGIN;
  const plotBottom = height - MARGIN;
  for (const f of frames) f.y = plotBottom - (f.depth + 1) * ROW;

  return {
    title: options.title ?? 'CPU flame graph',
    width,
    height,
    plotX,
    plotWidth,
    rootMs: root.totalUs / 1000,
    idleMs: idleUs / 1000,
    includeIdle,
    minFraction,
    frames,
    categoryMs,
  };
}

const HEADER = 52;
const LEGEND_ROW = 18;
const LEGEND_SWATCH = 12;

function legendLayout(width: number, categoryMs: Partial<Record<Category, number>>) {
  const total = Object.values(categoryMs).reduce((s, v) => s + (v ?? 0), 0);
  const entries = CATEGORY_ORDER.filter((c) => (categoryMs[c] ?? 0) > 0).map((c) => {
    const text = `${CATEGORIES[c].label} ${fmtPercent(((categoryMs[c] ?? 0) / total) * 100)}`;
    // Proportional font here: 0.58 em per character is a generous estimate, so entries do not collide.
    return { category: c, text, width: LEGEND_SWATCH + 6 + text.length * 12 * 0.58 + 16 };
  });
  const placed: Array<{ category: Category; text: string; x: number; row: number }> = [];
  let x = MARGIN;
  let row = 0;
  for (const e of entries) {
    if (x + e.width > width - MARGIN && x > MARGIN) {
      row++;
      x = MARGIN;
    }
    placed.push({ category: e.category, text: e.text, x, row });
    x += e.width;
  }
  return { placed, rows: entries.length ? row + 1 : 0 };
}

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtPercent = (p: number) => `${p >= 10 ? p.toFixed(0) : p.toFixed(1)} %`;
const num = (v: number) => String(Math.round(v * 100) / 100);

function fitLabel(label: string, width: number): string {
  const room = Math.floor((width - 6) / CHAR_WIDTH);
  if (room < 3) return '';
  const chars = Array.from(label); // by code point, so a surrogate pair is never split
  return chars.length <= room ? label : `${chars.slice(0, room - 1).join('')}…`;
}

function frameTooltip(f: FlameFrame, g: FlameGraph): string {
  const share = g.rootMs > 0 ? (f.totalMs / g.rootMs) * 100 : 0;
  const where = f.parentId === null ? '' : [f.package, CATEGORIES[f.category].label].filter(Boolean).join(' · ');
  const lines = [f.name, where, f.location, `${fmtMs(f.totalMs)} ms total (${fmtPercent(share)}), ${fmtMs(f.selfMs)} ms self`];
  return lines.filter(Boolean).join('\n');
}

export function renderFlameGraphSvg(g: FlameGraph): string {
  const out: string[] = [];
  const subtitle =
    `Width = CPU time (self + callees), root at the bottom. ${fmtMs(g.rootMs)} ms` +
    (g.includeIdle ? ' sampled' : ` of CPU work; ${fmtMs(g.idleMs)} ms idle left out`) +
    `; frames under ${fmtPercent(g.minFraction * 100)} omitted. Hover a frame for details.`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" font-family="${escapeXml(TEXT_FONT)}" font-size="12" role="img">`,
    `<title>${escapeXml(g.title)}</title>`,
    `<rect x="0" y="0" width="${g.width}" height="${g.height}" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="22" font-size="16" font-weight="600" fill="#111111">${escapeXml(g.title)}</text>`,
    `<text x="${MARGIN}" y="42" fill="#444444">${escapeXml(subtitle)}</text>`,
  );
  out.push('<g class="legend">');
  for (const e of legendLayout(g.width, g.categoryMs).placed) {
    const y = HEADER + e.row * LEGEND_ROW;
    out.push(
      `<g><title>${escapeXml(CATEGORIES[e.category].description)}</title>` +
        `<rect x="${num(e.x)}" y="${y}" width="${LEGEND_SWATCH}" height="${LEGEND_SWATCH}" fill="${CATEGORIES[e.category].color}" stroke="#888888" stroke-width="0.5"/>` +
        `<text x="${num(e.x + LEGEND_SWATCH + 6)}" y="${y + 10}" fill="#222222">${escapeXml(e.text)}</text></g>`,
    );
  }
  out.push('</g>');
  out.push(`<g class="frames" font-family="${escapeXml(LABEL_FONT)}" font-size="${FONT_SIZE}">`);
  for (const f of g.frames) {
    const fill = f.parentId === null ? ROOT_COLOR : CATEGORIES[f.category].color;
    const label = fitLabel(f.parentId === null ? `all (${fmtMs(g.rootMs)} ms)` : f.name, f.width);
    // A hairline keeps neighbours of one colour apart; on slivers it would hide the fill.
    const separator = f.width >= 3 ? ' stroke="#ffffff" stroke-width="0.5"' : '';
    out.push(
      `<g class="frame" data-category="${f.parentId === null ? 'root' : f.category}"><title>${escapeXml(frameTooltip(f, g))}</title>` +
        `<rect x="${num(f.x)}" y="${f.y}" width="${num(f.width)}" height="${f.height}" fill="${fill}"${separator}/>` +
        (label ? `<text x="${num(f.x + 3)}" y="${f.y + f.height - 4}" fill="#111111">${escapeXml(label)}</text>` : '') +
        '</g>',
    );
  }
  out.push('</g>', '</svg>');
  return out.join('\n') + '\n';
}

/** buildFlameGraph then renderFlameGraphSvg. */
export function flameGraphSvg(profile: Profile, options: FlameGraphOptions = {}): string {
  return renderFlameGraphSvg(buildFlameGraph(profile, options));
}
