/**
 * When the load generator, not the app, limited a step: ONE rule for both engines, judged by the orchestrator over
 * the measured window only (start-up and warm-up excluded).
 *
 * The generator can use at most `parallelism` cores (the embedded driver is one JavaScript thread: 1; k6 runs Go
 * threads on every CPU it may use), and no more than what the app and PostgreSQL left of the machine in that window.
 * It is bound when it used >= 90 % of that capacity, or (embedded driver) when its event loop was late by >= 10 ms
 * at p99: every millisecond of lateness is added to the latencies it measures.
 *
 * Under a resource envelope the generator is also marked when it used more than the share the envelope leaves it
 * (machine − the app's and PostgreSQL's CPU quotas): the quotas cap the app and the database but do not reserve their
 * CPU, so a generator above its share takes cores they were sized to have. Measured on 2 cores: with k6 at 0.5-0.75
 * of a core (share 0.5), fastify + pg served 0.82-0.88x the embedded driver's peak rps while app + database + k6
 * stayed under the machine's 2 cores — invisible to the capacity rule above.
 */
export const DRIVER_BOUND_LIMITS = { cpuShareOfCapacity: 0.9, eventLoopDelayP99Ms: 10, minCapacityCores: 0.1 } as const;

export interface DriverWindow {
  /** The generator's CPU over the window, % of one core. */
  driverCpuPct: number;
  /** Cores the engine could use at most on its own. */
  parallelism: number;
  /** Event-loop delay p99 of the embedded driver (null for k6). */
  eventLoopDelayP99Ms: number | null;
  /** CPUs this run may use on the machine. */
  machineCores: number;
  /** What the app and the database used in the same window, % of one core (null when not sampled). */
  appCpuPct: number | null;
  dbCpuPct: number | null;
  /** Cores the envelope leaves the generator (machine − app and database CPU quotas); null without one. */
  envelopeShareCores?: number | null;
}

export interface DriverJudgement {
  bound: boolean;
  /** Cores left for the generator in the window: min(parallelism, machine - app - database). */
  capacityCores: number;
  /** Why it is bound (empty when it is not). */
  reasons: string[];
}

const r2 = (n: number) => Math.round(n * 100) / 100;

export function judgeDriver(w: DriverWindow): DriverJudgement {
  const others = ((w.appCpuPct ?? 0) + (w.dbCpuPct ?? 0)) / 100;
  const left = Math.max(DRIVER_BOUND_LIMITS.minCapacityCores, w.machineCores - others);
  const capacityCores = r2(Math.min(w.parallelism, left));
  const usedCores = w.driverCpuPct / 100;
  const reasons: string[] = [];
  if (usedCores >= DRIVER_BOUND_LIMITS.cpuShareOfCapacity * capacityCores) {
    const limit = w.parallelism <= left ? `its ${w.parallelism} core${w.parallelism === 1 ? '' : 's'}` : `the ${r2(left)} cores app and database left`;
    reasons.push(`load generator CPU ${r2(usedCores)} cores >= ${DRIVER_BOUND_LIMITS.cpuShareOfCapacity * 100} % of ${limit}`);
  }
  const share = w.envelopeShareCores ?? null;
  if (share !== null && usedCores > share) {
    reasons.push(`load generator CPU ${r2(usedCores)} cores > the ${r2(share)} cores the envelope leaves it (it took CPU the app and PostgreSQL were sized to have)`);
  }
  if (w.eventLoopDelayP99Ms !== null && w.eventLoopDelayP99Ms >= DRIVER_BOUND_LIMITS.eventLoopDelayP99Ms) {
    reasons.push(`driver event-loop delay p99 ${r2(w.eventLoopDelayP99Ms)} ms >= ${DRIVER_BOUND_LIMITS.eventLoopDelayP99Ms} ms`);
  }
  return { bound: reasons.length > 0, capacityCores, reasons };
}
