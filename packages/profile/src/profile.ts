/**
 * Reading a V8 CPU profile (`.cpuprofile`: what `node --cpu-prof` writes and `inspector` `Profiler.stop` returns)
 * into a checked call tree with self and total time per node.
 */
import { readFileSync } from 'node:fs';

/** A frame as V8 reports it. `lineNumber` and `columnNumber` are 0-based, -1 when unknown. */
export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

/** The `.cpuprofile` JSON, as V8 writes it (fields this package does not use are kept but not typed). */
export interface CpuProfileJson {
  nodes: Array<{ id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }>;
  /** Microseconds, on the clock of `process.hrtime()` in the profiled process (CLOCK_MONOTONIC on Linux). */
  startTime: number;
  endTime: number;
  /** Node id of the top frame of each sample. */
  samples: number[];
  /** Microseconds from the previous sample (from `startTime` for the first one). */
  timeDeltas: number[];
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  parent: ProfileNode | null;
  children: ProfileNode[];
  /** Microseconds this node was the top frame of a sample: each sample lasts until the next one (the last one until `endTime`). */
  selfUs: number;
  /** selfUs of this node and everything it called. */
  totalUs: number;
  /** Samples with this node on top (hitCount recomputed from `samples`). */
  sampleCount: number;
}

export interface Profile {
  root: ProfileNode;
  /** Every node, in the file's order. */
  nodes: ProfileNode[];
  /** Sum of all self times: the sampled time, first sample to `endTime`. */
  totalUs: number;
  /** The profile's time window, microseconds on the profiled process's monotonic clock (see CpuProfileJson.startTime). */
  window: { startUs: number; endUs: number };
  sampleCount: number;
  /** Median gap between samples: the sampling interval actually achieved. */
  sampleIntervalUs: number;
}

/** The input was not a V8 CPU profile; the message says what was wrong. */
export class ProfileFormatError extends Error {
  override name = 'ProfileFormatError';
}

function fail(reason: string): never {
  throw new ProfileFormatError(`not a V8 CPU profile (.cpuprofile): ${reason}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumberArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));

function checkShape(data: unknown): CpuProfileJson {
  if (Array.isArray(data) || (isObject(data) && 'traceEvents' in data)) {
    fail('this is a Chrome trace (trace events); record with `node --cpu-prof` or the inspector Profiler domain instead');
  }
  if (!isObject(data)) fail(`expected a JSON object, got ${data === null ? 'null' : typeof data}`);
  if ('head' in data && !('nodes' in data)) {
    fail('it has `head` instead of `nodes`: a heap profile (.heapprofile) or the pre-2016 CPU profile format');
  }
  if (!Array.isArray(data.nodes) || data.nodes.length === 0) fail('missing a non-empty `nodes` array');
  for (const [i, node] of (data.nodes as unknown[]).entries()) {
    if (!isObject(node) || typeof node.id !== 'number' || !Number.isInteger(node.id)) fail(`nodes[${i}] has no integer \`id\``);
    const cf = node.callFrame;
    if (
      !isObject(cf) ||
      typeof cf.functionName !== 'string' ||
      typeof cf.url !== 'string' ||
      typeof cf.lineNumber !== 'number' ||
      typeof cf.columnNumber !== 'number'
    ) {
      fail(`nodes[${i}] (id ${node.id}) has no valid \`callFrame\` {functionName, url, lineNumber, columnNumber}`);
    }
    if (node.children !== undefined && !isNumberArray(node.children)) fail(`nodes[${i}] (id ${node.id}) has a non-numeric \`children\``);
  }
  for (const key of ['startTime', 'endTime'] as const) {
    if (typeof data[key] !== 'number' || !Number.isFinite(data[key])) fail(`missing a numeric \`${key}\``);
  }
  if ((data.endTime as number) < (data.startTime as number)) fail('`endTime` is before `startTime`');
  if (!isNumberArray(data.samples) || !isNumberArray(data.timeDeltas)) {
    fail('missing `samples` and `timeDeltas` arrays (self time is computed from them)');
  }
  if (data.samples.length !== data.timeDeltas.length) {
    fail(`\`samples\` (${data.samples.length}) and \`timeDeltas\` (${data.timeDeltas.length}) differ in length`);
  }
  return data as unknown as CpuProfileJson;
}

function buildTree(json: CpuProfileJson): { root: ProfileNode; nodes: ProfileNode[]; byId: Map<number, ProfileNode> } {
  const byId = new Map<number, ProfileNode>();
  const nodes = json.nodes.map((n) => {
    if (byId.has(n.id)) fail(`node id ${n.id} appears twice`);
    const node: ProfileNode = {
      id: n.id,
      callFrame: {
        functionName: n.callFrame.functionName,
        scriptId: String(n.callFrame.scriptId ?? ''),
        url: n.callFrame.url,
        lineNumber: n.callFrame.lineNumber,
        columnNumber: n.callFrame.columnNumber,
      },
      parent: null,
      children: [],
      selfUs: 0,
      totalUs: 0,
      sampleCount: 0,
    };
    byId.set(n.id, node);
    return node;
  });
  for (const n of json.nodes) {
    const parent = byId.get(n.id)!;
    for (const childId of n.children ?? []) {
      const child = byId.get(childId);
      if (!child) fail(`node ${n.id} lists child ${childId}, which is not in \`nodes\``);
      if (child.parent) fail(`node ${childId} has two parents (${child.parent.id} and ${n.id})`);
      child.parent = parent;
      parent.children.push(child);
    }
  }
  const roots = nodes.filter((n) => !n.parent);
  if (roots.length !== 1) fail(`expected one root node, found ${roots.length}`);
  const root = roots[0]!;
  // A cycle would leave nodes unreachable from the root.
  let reachable = 0;
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    reachable++;
    stack.push(...n.children);
  }
  if (reachable !== nodes.length) fail(`${nodes.length - reachable} nodes are not reachable from the root`);
  return { root, nodes, byId };
}

/** Parses and checks a `.cpuprofile`: its text, bytes, or the parsed object (also `{ profile }` as `Profiler.stop` returns). */
export function readProfile(input: unknown): Profile {
  let data: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
    try {
      data = JSON.parse(text);
    } catch (e) {
      fail(`not JSON (${(e as Error).message})`);
    }
  }
  if (isObject(data) && isObject(data.profile) && !('nodes' in data)) data = data.profile;
  const json = checkShape(data);
  const { root, nodes, byId } = buildTree(json);

  const count = json.samples.length;
  const times = new Array<number>(count);
  let t = json.startTime;
  let ordered = true;
  for (let i = 0; i < count; i++) {
    t += json.timeDeltas[i]!;
    times[i] = t;
    if (i > 0 && times[i]! < times[i - 1]!) ordered = false;
  }
  // V8 can emit a sample out of order (negative delta); sort so every duration is >= 0, as DevTools does.
  const order = Array.from({ length: count }, (_, i) => i);
  if (!ordered) order.sort((a, b) => times[a]! - times[b]! || a - b);

  const gaps: number[] = [];
  let totalUs = 0;
  for (let k = 0; k < count; k++) {
    const i = order[k]!;
    const node = byId.get(json.samples[i]!);
    if (!node) fail(`sample ${i} refers to node ${json.samples[i]}, which is not in \`nodes\``);
    const next = k + 1 < count ? times[order[k + 1]!]! : Math.max(json.endTime, times[i]!);
    const duration = next - times[i]!;
    node.selfUs += duration;
    node.sampleCount++;
    totalUs += duration;
    if (k + 1 < count) gaps.push(duration);
  }
  // Post-order totals without recursion: deep stacks (NestJS) must not overflow the JS stack.
  const postOrder: ProfileNode[] = [];
  const stack = [root];
  while (stack.length) {
    const n = stack.pop()!;
    postOrder.push(n);
    stack.push(...n.children);
  }
  for (let i = postOrder.length - 1; i >= 0; i--) {
    const n = postOrder[i]!;
    n.totalUs += n.selfUs;
    if (n.parent) n.parent.totalUs += n.totalUs;
  }
  gaps.sort((a, b) => a - b);
  return {
    root,
    nodes,
    totalUs,
    window: { startUs: json.startTime, endUs: json.endTime },
    sampleCount: count,
    sampleIntervalUs: gaps.length ? gaps[Math.floor(gaps.length / 2)]! : 0,
  };
}

/** readProfile on a file. */
export function readProfileFile(path: string): Profile {
  return readProfile(readFileSync(path, 'utf8'));
}
