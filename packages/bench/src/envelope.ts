/**
 * The resource envelope: the app and PostgreSQL each get a fixed share of the machine through Linux cgroups, as in
 * the deployments the source articles measured (app 1 vCPU / 512 MiB, PostgreSQL 2 vCPU / 1 GiB), so that the load
 * generator keeps the rest and what is measured is the stack, not a fight over two cores.
 *
 * - cgroup v1 (this build machine; root can write the `cpu`, `cpuacct` and `memory` controllers):
 *   cpu.cfs_period_us / cpu.cfs_quota_us, memory.limit_in_bytes; CPU used from cpuacct.usage.
 * - cgroup v2 (most current distributions): cpu.max, memory.max; CPU used from cpu.stat usage_usec. Needs a
 *   delegated subtree: as root, or inside `systemd-run --user --scope -p Delegate=yes`. The CLI's own process moves
 *   into a leaf `cli` child so that its cgroup may enable controllers for `app` and `db` ("no internal processes").
 *
 * The CPU period is 10 ms, not the kernel's 100 ms: a quota spent early in a long period stalls the process for
 * the rest of it, which shows up as latency spikes of up to the period; short periods keep throttling fine-grained.
 * Cgroups are named `stackbench-<pid>-<random>` under the cgroup this process is in, and removed on exit and on
 * Ctrl-C (processes still inside are moved back out first); ones left by a killed run are removed by the next one.
 * A cgroup also accounts CPU of processes that have exited — PostgreSQL's per-request backends — which /proc cannot.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '@stackbench/db';
import type { UsageReader } from '@stackbench/loadtests';
import type { Envelope } from '@stackbench/report';

export const CPU_PERIOD_US = 10_000;

/** Defaults for 2 cores: the articles' app : database = 1 : 2 scaled to half, leaving the generator >= 0.5 core. */
export const DEFAULT_ENVELOPE = { appCpus: 0.5, appMemoryMiB: 512, dbCpus: 1, dbMemoryMiB: 1024 } as const;

export interface EnvelopeRequest {
  appCpus: number | null;
  appMemoryMiB: number | null;
  dbCpus: number | null;
  dbMemoryMiB: number | null;
}

/** Cgroups cannot be used here: the message names `--envelope none`. */
export class EnvelopeUnavailableError extends Error {}

type Controller = 'cpu' | 'cpuacct' | 'memory';

interface Hierarchy {
  version: 1 | 2;
  /** v1: the directory of each controller's hierarchy for this process; v2: one directory for all. */
  dirs: Partial<Record<Controller, string>>;
}

interface MountInfo {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function readMounts(): MountInfo[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [left, right = ''] = line.split(' - ');
      const f = left!.split(' ');
      const r = right.split(' ');
      return { root: f[3]!, mountPoint: f[4]!, fsType: r[0]!, superOptions: (r[2] ?? '').split(',') };
    });
}

/** This process's cgroup path per v1 controller name, and under "" the v2 path. */
function ownCgroups(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, controllers = '', path = '/'] = line.split(':');
    if (controllers === '') out.set('', path);
    for (const c of controllers.split(',')) out.set(c, path);
  }
  return out;
}

/** Where this process's cgroups are, preferring v1 controllers when they are mounted (hybrid systems). */
export function findHierarchy(): Hierarchy | { unavailable: string } {
  if (process.platform !== 'linux') return { unavailable: `cgroups are a Linux feature (this is ${process.platform})` };
  let mounts: MountInfo[];
  let own: Map<string, string>;
  try {
    mounts = readMounts();
    own = ownCgroups();
  } catch (err) {
    return { unavailable: `cannot read /proc: ${(err as Error).message}` };
  }
  const inside = (m: MountInfo, path: string) => join(m.mountPoint, m.root === '/' ? path : path.startsWith(m.root) ? path.slice(m.root.length) : path);
  const v1: Hierarchy = { version: 1, dirs: {} };
  for (const c of ['cpu', 'cpuacct', 'memory'] as Controller[]) {
    const m = mounts.find((x) => x.fsType === 'cgroup' && x.superOptions.includes(c));
    const path = own.get(c);
    if (m && path !== undefined) v1.dirs[c] = inside(m, path);
  }
  if (v1.dirs.cpu && v1.dirs.cpuacct && v1.dirs.memory) return v1;
  const m2 = mounts.find((x) => x.fsType === 'cgroup2');
  const path2 = own.get('');
  if (m2 && path2 !== undefined) {
    const dir = inside(m2, path2);
    const available = readFileSafe(join(m2.mountPoint, 'cgroup.controllers')).split(/\s+/);
    if (available.includes('cpu') && available.includes('memory')) return { version: 2, dirs: { cpu: dir, cpuacct: dir, memory: dir } };
    return { unavailable: 'the cgroup v2 hierarchy has no cpu and memory controllers (they may be bound to cgroup v1)' };
  }
  return { unavailable: 'no cgroup cpu/memory controllers are mounted' };
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

/** How long a cgroup's removal waits while the kernel still calls it busy (see {@link removeCgroupDirs}). */
const REMOVE_WAIT_MS = 3000;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Moves every process still inside each cgroup back to its parent, then removes the cgroups. The kernel answers
 * EBUSY for a moment after the last process left: one still exiting (an app just killed, a PostgreSQL backend
 * closing) can be neither moved nor gone, and a child cgroup just removed is released asynchronously (the run's
 * cgroup around app and db stayed behind that way). So removal is retried until REMOVE_WAIT_MS (synchronously: it
 * also runs on Ctrl-C), and the last error thrown if a cgroup is still there then.
 */
function removeCgroupDirs(dirs: Record<Controller, string>, parents: Record<Controller, string>): void {
  const deadline = Date.now() + REMOVE_WAIT_MS;
  for (;;) {
    let busy: unknown = null;
    const seen = new Set<string>();
    for (const [controller, dir] of Object.entries(dirs) as [Controller, string][]) {
      if (seen.has(dir)) continue;
      seen.add(dir);
      if (!existsSync(dir)) continue;
      for (const pid of pidsIn(dir)) {
        try {
          write(join(parents[controller], 'cgroup.procs'), String(pid));
        } catch {
          /* exiting or exited */
        }
      }
      try {
        rmdirSync(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        if (code !== 'EBUSY') throw err;
        busy = err;
      }
    }
    if (busy === null) return;
    if (Date.now() >= deadline) throw busy;
    Atomics.wait(pause, 0, 0, 20);
  }
}

function pidsIn(dir: string): number[] {
  return readFileSafe(join(dir, 'cgroup.procs'))
    .split('\n')
    .filter(Boolean)
    .map(Number);
}

/** A process and its descendants, from /proc (PostgreSQL: the postmaster and its backends). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readFileSafe(`/proc/${entry}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isInteger(ppid)) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** One confined group of processes (the app, or PostgreSQL). */
export class Cgroup {
  constructor(
    readonly name: string,
    private readonly version: 1 | 2,
    /** Its directory per controller (one shared directory on v2). */
    readonly dirs: Record<Controller, string>,
    /** Where its processes go back to before it is removed. */
    private readonly parents: Record<Controller, string>,
  ) {}

  private distinctDirs(): string[] {
    return [...new Set(Object.values(this.dirs))];
  }

  addPid(pid: number): void {
    for (const file of this.procsFiles()) write(file, String(pid));
  }

  /** Its `cgroup.procs` files, one per controller directory: where a pid is written to move a process in. */
  procsFiles(): string[] {
    return this.distinctDirs().map((dir) => join(dir, 'cgroup.procs'));
  }

  /** Sets (or changes) its CPU quota in cores and its memory limit (null: none). */
  setLimits(cpus: number | null, memoryMiB: number | null): void {
    if (this.version === 1) {
      write(join(this.dirs.cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      write(join(this.dirs.cpu, 'cpu.cfs_quota_us'), cpus !== null ? String(Math.round(cpus * CPU_PERIOD_US)) : '-1');
      write(join(this.dirs.memory, 'memory.limit_in_bytes'), memoryMiB !== null ? String(Math.round(memoryMiB * 2 ** 20)) : '-1');
    } else {
      write(join(this.dirs.cpu, 'cpu.max'), `${cpus !== null ? Math.round(cpus * CPU_PERIOD_US) : 'max'} ${CPU_PERIOD_US}`);
      write(join(this.dirs.memory, 'memory.max'), memoryMiB !== null ? String(Math.round(memoryMiB * 2 ** 20)) : 'max');
    }
  }

  /**
   * Moves a process and all its descendants in; later children inherit the cgroup. The tree is listed again after
   * each pass, because a child forked while the parent was being moved (a PostgreSQL backend starting) can land
   * outside; the parent goes first, so once it is in, nothing new is born outside.
   */
  addProcessTree(rootPid: number): void {
    const inside = new Set(this.pids());
    for (let pass = 0; pass < 5; pass++) {
      const outside = processTree(rootPid).filter((pid) => !inside.has(pid));
      if (outside.length === 0) return;
      for (const pid of outside) {
        try {
          this.addPid(pid);
          inside.add(pid);
        } catch (err) {
          // A backend that exited meanwhile cannot be moved; anything else is a real failure.
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
          inside.add(pid);
        }
      }
    }
  }

  pids(): number[] {
    return pidsIn(this.dirs.cpu);
  }

  /** Cumulative CPU seconds of everything that ran inside, exited processes included. */
  cpuSeconds(): number {
    if (this.version === 1) return Number(readFileSafe(join(this.dirs.cpuacct, 'cpuacct.usage')).trim()) / 1e9;
    const m = /^usage_usec (\d+)/m.exec(readFileSafe(join(this.dirs.cpu, 'cpu.stat')));
    return m ? Number(m[1]) / 1e6 : 0;
  }

  /** CFS periods elapsed and periods in which the quota throttled the group. */
  throttling(): { periods: number; throttled: number } {
    const stat = readFileSafe(join(this.dirs.cpu, 'cpu.stat'));
    const num = (key: string) => Number(new RegExp(`^${key} (\\d+)`, 'm').exec(stat)?.[1] ?? 0);
    return { periods: num('nr_periods'), throttled: num('nr_throttled') };
  }

  memoryMiB(): number {
    const file = this.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';
    return Number(readFileSafe(join(this.dirs.memory, file)).trim()) / 2 ** 20;
  }

  /** A UsageReader for the shared sampler: CPU (cgroup-exact), memory, throttling. */
  reader(withMemory: boolean): UsageReader {
    return () => {
      if (!existsSync(this.dirs.cpu)) return null;
      const t = this.throttling();
      return { cpuSeconds: this.cpuSeconds(), rssMiB: withMemory ? this.memoryMiB() : null, periods: t.periods, throttledPeriods: t.throttled };
    };
  }

  /** Moves every process still inside back to the parent, then removes the cgroup. */
  remove(): void {
    removeCgroupDirs(this.dirs, this.parents);
  }
}

const fmtCpus = (n: number) => String(Math.round(n * 100) / 100);

/**
 * The app's and the database's cgroups for one run. Create with {@link CgroupEnvelope.create}; `remove()` when done
 * (registered for Ctrl-C by the caller).
 */
export class CgroupEnvelope {
  private constructor(
    readonly request: EnvelopeRequest,
    private readonly hierarchy: Hierarchy,
    /** The run's own cgroup per controller (parent of app and db). */
    private readonly runDirs: Record<Controller, string>,
    readonly app: Cgroup,
    readonly db: Cgroup,
    /** v2: this process's leaf, and where it was before. */
    private readonly cliMove: { leaf: string; from: string } | null,
  ) {}

  get mechanism(): 'cgroup-v1' | 'cgroup-v2' {
    return this.hierarchy.version === 1 ? 'cgroup-v1' : 'cgroup-v2';
  }

  static create(request: EnvelopeRequest): CgroupEnvelope {
    const found = findHierarchy();
    if ('unavailable' in found) throw new EnvelopeUnavailableError(found.unavailable);
    removeStaleCgroups(found);
    const id = `stackbench-${process.pid}-${randomBytes(3).toString('hex')}`;
    const parents = found.dirs as Record<Controller, string>;
    const runDirs = Object.fromEntries(Object.entries(parents).map(([c, d]) => [c, join(d, id)])) as Record<Controller, string>;
    let cliMove: { leaf: string; from: string } | null = null;
    try {
      for (const dir of new Set(Object.values(runDirs))) mkdirSync(dir);
      if (found.version === 2) {
        // The run's cgroup enables cpu and memory for its children; the parent must hand them down first.
        const parent = parents.cpu;
        try {
          write(join(parent, 'cgroup.subtree_control'), '+cpu +memory');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
          // "No internal processes": move this process (alone in a delegated scope) into a leaf, then retry.
          const leaf = join(runDirs.cpu, 'cli');
          mkdirSync(leaf);
          write(join(leaf, 'cgroup.procs'), String(process.pid));
          cliMove = { leaf, from: parent };
          if (pidsIn(parent).length > 0) throw new Error(`${parent} holds other processes: run stackbench in a cgroup of its own (systemd-run --user --scope -p Delegate=yes ...)`);
          write(join(parent, 'cgroup.subtree_control'), '+cpu +memory');
        }
        write(join(runDirs.cpu, 'cgroup.subtree_control'), '+cpu +memory');
      }
      const make = (name: string, cpus: number | null, memoryMiB: number | null): Cgroup => {
        const dirs = Object.fromEntries(Object.entries(runDirs).map(([c, d]) => [c, join(d, name)])) as Record<Controller, string>;
        for (const dir of new Set(Object.values(dirs))) mkdirSync(dir);
        const group = new Cgroup(name, found.version, dirs, runDirs);
        group.setLimits(cpus, memoryMiB);
        return group;
      };
      const app = make('app', request.appCpus, request.appMemoryMiB);
      const db = make('db', request.dbCpus, request.dbMemoryMiB);
      return new CgroupEnvelope(request, found, runDirs, app, db, cliMove);
    } catch (err) {
      removeTree(runDirs, parents, cliMove);
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS' ? `no permission to create cgroups under ${parents.cpu} (run as root, or in a delegated cgroup v2 subtree)` : e.message.split('\n')[0];
      throw new EnvelopeUnavailableError(why!);
    }
  }

  /** Moves what is still inside back out and removes every cgroup this run made. Safe to call twice. */
  remove(): void {
    // Still busy after the wait: the run's cgroup is tried anyway, and the next run sweeps what stays.
    try {
      this.app.remove();
    } catch {
      /* see above */
    }
    try {
      this.db.remove();
    } catch {
      /* see above */
    }
    removeTree(this.runDirs, this.hierarchy.dirs as Record<Controller, string>, this.cliMove);
  }

  /** What results.json records. `db` says whether PostgreSQL could be confined (not when it is not ours). */
  describe(db: { applied: boolean; note?: string }, instances?: 'shared' | 'each'): Envelope {
    const r = this.request;
    return {
      mechanism: this.mechanism,
      periodUs: CPU_PERIOD_US,
      app: { cpus: r.appCpus, memoryMiB: r.appMemoryMiB, applied: true },
      db: { cpus: r.dbCpus, memoryMiB: r.dbMemoryMiB, applied: db.applied, ...(db.note ? { note: db.note } : {}) },
      ...(instances ? { instances } : {}),
    };
  }

  summary(): string {
    const r = this.request;
    const part = (cpus: number | null, mem: number | null) => `${cpus === null ? 'any CPU' : `${fmtCpus(cpus)} CPU`} / ${mem === null ? 'any memory' : `${mem} MiB`}`;
    return `app ${part(r.appCpus, r.appMemoryMiB)}, PostgreSQL ${part(r.dbCpus, r.dbMemoryMiB)} (${this.mechanism}, ${CPU_PERIOD_US / 1000} ms period)`;
  }
}

function removeTree(runDirs: Record<Controller, string>, parents: Record<Controller, string>, cliMove: { leaf: string; from: string } | null): void {
  if (cliMove) {
    try {
      write(join(cliMove.from, 'cgroup.subtree_control'), '-cpu -memory');
    } catch {
      /* best effort */
    }
    try {
      write(join(cliMove.from, 'cgroup.procs'), String(process.pid));
      rmdirSync(cliMove.leaf);
    } catch {
      /* best effort */
    }
  }
  try {
    removeCgroupDirs(runDirs, parents);
  } catch {
    /* still busy: the next run removes it (removeStaleCgroups) */
  }
}

/** Cgroups of runs whose process is gone (killed with SIGKILL): their processes moved out, the cgroups removed. */
function removeStaleCgroups(h: Hierarchy): void {
  const parents = h.dirs as Record<Controller, string>;
  for (const parent of new Set(Object.values(parents))) {
    let entries: string[];
    try {
      entries = readdirSync(parent);
    } catch {
      continue;
    }
    for (const name of entries) {
      const m = /^stackbench-(\d+)-[0-9a-f]+$/.exec(name);
      if (!m || isAlive(Number(m[1]))) continue;
      const runDirs = Object.fromEntries(Object.entries(parents).map(([c, d]) => [c, join(d, name)])) as Record<Controller, string>;
      for (const child of ['app', 'db', 'cli']) {
        const childDirs = Object.fromEntries(Object.entries(runDirs).map(([c, d]) => [c, join(d, child)])) as Record<Controller, string>;
        if (existsSync(childDirs.cpu) || existsSync(childDirs.memory)) removeTree(childDirs, parents, null);
      }
      removeTree(runDirs, parents, null);
    }
  }
}

/** Cgroups named stackbench-* under this process's cgroups (for tests and diagnostics). */
export function listStackbenchCgroups(): string[] {
  const found = findHierarchy();
  if ('unavailable' in found) return [];
  const out: string[] = [];
  for (const dir of new Set(Object.values(found.dirs))) {
    try {
      for (const name of readdirSync(dir)) if (name.startsWith('stackbench-')) out.push(join(dir, name));
    } catch {
      /* unreadable */
    }
  }
  return out;
}

/** The cgroup path of a process per controller, from /proc/<pid>/cgroup (tests read it to prove confinement). */
export function cgroupOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSafe(`/proc/${pid}/cgroup`).split('\n').filter(Boolean)) {
    const [, controllers = '', path = '/'] = line.split(':');
    for (const c of controllers.split(',')) out.set(c, path);
  }
  return out;
}

/** Whether an envelope can be made here, trying for real (created and removed at once): for tests and `doctor`-like checks. */
export function envelopeAvailability(): { available: true } | { available: false; reason: string } {
  try {
    CgroupEnvelope.create({ appCpus: 0.5, appMemoryMiB: 256, dbCpus: 0.5, dbMemoryMiB: 256 }).remove();
    return { available: true };
  } catch (err) {
    return { available: false, reason: (err as Error).message };
  }
}
