import type { CpuProfileJson } from '../src/index.js';

/** Each sample's duration straight from the JSON: until the next sample in time, the last one until endTime. */
export function sampleDurations(json: CpuProfileJson): Array<{ nodeId: number; us: number }> {
  let t = json.startTime;
  const stamped = json.samples.map((nodeId, i) => ({ nodeId, t: (t += json.timeDeltas[i]!) }));
  stamped.sort((a, b) => a.t - b.t);
  return stamped.map((s, i) => ({ nodeId: s.nodeId, us: (stamped[i + 1]?.t ?? Math.max(json.endTime, s.t)) - s.t }));
}

/** Self time per node id, from sampleDurations. */
export function selfTimes(json: CpuProfileJson): Map<number, number> {
  const perNode = new Map<number, number>();
  for (const d of sampleDurations(json)) perNode.set(d.nodeId, (perNode.get(d.nodeId) ?? 0) + d.us);
  return perNode;
}
