import type { Combo, Step } from '@stackbench/report';
import type { StepProgress } from '@stackbench/loadtests';

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '-');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');

export function comboLabel(c: { app: string; store: string; conn: string; poolSize: number | null; runtime: string; repeat: number; instances?: { count: number; lb: string } }, repeats = 1): string {
  const conn = c.conn === 'pool' && c.poolSize ? `pool ${c.poolSize}` : c.conn;
  const scale = c.instances ? `, ${c.instances.count} x ${c.instances.lb}` : '';
  return `${c.app} + ${c.store} (${conn}${scale}) on Node ${c.runtime}${repeats > 1 ? `, repeat ${c.repeat}/${repeats}` : ''}`;
}

/**
 * Terminal progress: one line per event (combination, verification, each step, outcome), plus, when the stream is
 * a TTY, a live line during a step (elapsed, requests, rps, p95) rewritten in place at most 4 times a second.
 */
export class Progress {
  private liveShown = false;
  private lastLive = 0;

  constructor(private readonly out: ProgressStream = process.stdout) {}

  get tty(): boolean {
    return this.out.isTTY === true;
  }

  line(text = ''): void {
    this.clearLive();
    this.out.write(text + '\n');
  }

  comboStart(index: number, total: number, label: string): void {
    this.line(`[${index}/${total}] ${label}`);
  }

  note(text: string): void {
    this.line(`      ${text}`);
  }

  /** `p.elapsedMs` counts from the start of the step's measured window; `totalMs` is that window's length. */
  live(step: number, load: number, totalMs: number, p: StepProgress): void {
    if (!this.tty) return;
    const now = Date.now();
    if (now - this.lastLive < 250) return;
    this.lastLive = now;
    const pct = totalMs > 0 ? Math.min(100, (p.elapsedMs / totalMs) * 100) : 0;
    const text = `      step ${step} · load ${load} · ${f1(p.elapsedMs / 1000)}/${f1(totalMs / 1000)} s (${f0(pct)} %) · ${f0(p.requests)} req · ${f0(p.rps)} rps · p95 ${f1(p.p95Ms)} ms`;
    const width = (this.out.columns ?? 120) - 1;
    this.out.write(`\r\x1b[2K${text.slice(0, width)}`);
    this.liveShown = true;
  }

  step(index: number, step: Step): void {
    const app = step.app ? `  app ${f0(step.app.cpuPct)} % cpu${step.app.rssMiB !== null ? ` ${f0(step.app.rssMiB)} MiB` : ''}` : '';
    const db = step.db ? `  db ${f0(step.db.cpuPct)} % cpu` : '';
    const gen = `  gen ${f0(step.driver.cpuPct)} %`;
    const server = step.serverMs ? ` (server ${f1(step.serverMs.p95)})` : '';
    const verdict = step.passed ? 'pass' : `FAIL${step.reasons.length ? ` (${step.reasons.join('; ')})` : ''}`;
    const bound = step.driverBound ? `  DRIVER-BOUND (${step.driverBoundReasons.join('; ')})` : '';
    const unit = step.model === 'open' ? '/s' : ' users';
    this.line(
      `      step ${String(index).padStart(2)} ${String(step.load).padStart(5)}${unit}  ${f0(step.rps).padStart(6)} rps  p95 ${f1(step.latencyMs.p95).padStart(6)} ms${server}  err ${(step.errorRate * 100).toFixed(2)} %${app}${db}${gen}  ${verdict}${bound}`,
    );
  }

  comboEnd(combo: Combo): void {
    if (combo.status === 'measured') {
      const bp = combo.breakpoint ? `breakpoint ${combo.breakpoint.load} (${f0(combo.breakpoint.rps)} rps, p95 ${f1(combo.breakpoint.p95Ms)} ms)` : 'no breakpoint: the first step already failed';
      const cost = combo.cost ? `; cost at ${combo.cost.load}: app ${f0(combo.cost.appCpuUsPerRequest ?? NaN)} µs, db ${f0(combo.cost.dbCpuUsPerRequest ?? NaN)} µs per request` : '';
      const integrity = combo.integrity ? (combo.integrity.ok ? `data ok (${combo.integrity.orders} order${combo.integrity.orders === 1 ? '' : 's'})` : `DATA PROBLEMS: ${combo.integrity.problems.slice(0, 3).join('; ')}`) : 'data not audited';
      this.line(`      => ${bp}${cost}; ${integrity}${combo.reason ? `\n      note: ${combo.reason}` : ''}`);
    } else {
      this.line(`      => ${combo.status.toUpperCase()}: ${combo.reason ?? ''}`);
    }
  }

  private clearLive(): void {
    if (this.liveShown) {
      this.out.write('\r\x1b[2K');
      this.liveShown = false;
    }
  }
}

/** A fixed-width summary table of a run (printed at the end). */
export function summaryTable(combos: Combo[], repeats = 1): string {
  const rows = combos.map((c) => [
    comboLabel(c, repeats),
    c.status,
    c.breakpoint ? String(c.breakpoint.load) : '-',
    c.breakpoint ? f0(c.breakpoint.rps) : '-',
    c.breakpoint ? f1(c.breakpoint.p95Ms) : '-',
    c.appUsage ? f0(c.appUsage.avgCpuPct) : '-',
    c.appUsage?.peakRssMiB != null ? f0(c.appUsage.peakRssMiB) : '-',
    c.integrity ? (c.integrity.ok ? 'ok' : 'PROBLEMS') : '-',
    c.steps.some((s) => s.driverBound) ? 'yes' : '',
  ]);
  const head = ['combination', 'status', 'breakpoint', 'rps', 'p95 ms', 'cpu %', 'rss MiB', 'data', 'driver-bound'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((cell, i) => (i === 0 || i === 1 || i === 7 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd();
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}
