import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exited, isAlive, runCli, STACKBENCH, startCli } from '@stackbench/test-support/cli';
import { removeHome } from '@stackbench/test-support/home';
import { describeWithPart } from '@stackbench/test-support/optional';
import { cgroupOf, CgroupEnvelope, findHierarchy, listStackbenchCgroups, processTree } from '../src/envelope.js';
import { CGROUP_JOIN_FAILED, spawnInCgroup } from '../src/app-process.js';

/**
 * The resource envelope on real cgroups: a process really confined (read from its own /proc/<pid>/cgroup and the
 * cgroup's files), its quota effective, everything removed afterwards — also after Ctrl-C, and after a killed run.
 */

const busyChildren: ChildProcess[] = [];
afterEach(() => {
  for (const c of busyChildren.splice(0)) c.kill('SIGKILL');
});

function busyChild(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
  busyChildren.push(child);
  return child;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** This run's cgroup directories per controller, from the path of a process inside. */
function runIdOf(pid: number): string | undefined {
  for (const path of cgroupOf(pid).values()) {
    const m = /\/(stackbench-\d+-[0-9a-f]+)\//.exec(path);
    if (m) return m[1];
  }
  return undefined;
}

describeWithPart('cgroups', 'the envelope on real cgroups', () => {
  it('starts a process inside its cgroup, so Node sizes its heap for the memory limit (not for the machine)', async () => {
    const envelope = CgroupEnvelope.create({ appCpus: null, appMemoryMiB: 256, dbCpus: null, dbMemoryMiB: null });
    try {
      const heapLimit = async (procs: string[]) => {
        const child = spawnInCgroup(process.execPath, ['-e', 'console.log(require("v8").getHeapStatistics().heap_size_limit, require("fs").readFileSync("/proc/self/cgroup", "utf8").includes("/app"))'], procs, { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout!.on('data', (d: Buffer) => (out += d));
        await exited(child);
        const [limit, inside] = out.trim().split(' ');
        return { limitMiB: Number(limit) / 2 ** 20, inside: inside === 'true' };
      };
      const confined = await heapLimit(envelope.app.procsFiles());
      const free = await heapLimit([]);
      expect(confined.inside).toBe(true);
      expect(free.inside).toBe(false);
      // V8 sizes its default heap limit from the memory it may use: about the cgroup limit, against GiBs unconfined.
      expect(confined.limitMiB).toBeLessThan(2 * 256);
      expect(free.limitMiB).toBeGreaterThan(2 * confined.limitMiB);
      // A cgroup that cannot be joined: the program never runs.
      const refused = spawnInCgroup(process.execPath, ['-e', 'console.log("ran")'], ['/nonexistent/cgroup.procs'], { stdio: 'ignore' });
      expect(await exited(refused)).toBe(CGROUP_JOIN_FAILED);
    } finally {
      envelope.remove();
    }
  });

  it('confines a process: its cgroup files say so, the quota holds, throttling is counted, and removal moves it out', async () => {
    const envelope = CgroupEnvelope.create({ appCpus: 0.3, appMemoryMiB: 256, dbCpus: 0.5, dbMemoryMiB: 512 });
    try {
      const child = busyChild();
      envelope.app.addPid(child.pid!);
      expect(runIdOf(child.pid!)).toMatch(/^stackbench-\d+-[0-9a-f]{6}$/);
      expect(envelope.app.pids()).toContain(child.pid);
      // The limits as the kernel holds them.
      const h = findHierarchy();
      if ('version' in h && h.version === 1) {
        expect(readFileSync(join(envelope.app.dirs.cpu, 'cpu.cfs_period_us'), 'utf8').trim()).toBe('10000');
        expect(readFileSync(join(envelope.app.dirs.cpu, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('3000');
        expect(readFileSync(join(envelope.app.dirs.memory, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(256 * 2 ** 20));
      } else {
        expect(readFileSync(join(envelope.app.dirs.cpu, 'cpu.max'), 'utf8').trim()).toBe('3000 10000');
        expect(readFileSync(join(envelope.app.dirs.memory, 'memory.max'), 'utf8').trim()).toBe(String(256 * 2 ** 20));
      }
      const cpu0 = envelope.app.cpuSeconds();
      const t0 = performance.now();
      await sleep(1500);
      const cores = (envelope.app.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000);
      // A spinning process would use a whole core; held to 0.3 it stays near that (generous margin for accounting).
      expect(cores).toBeGreaterThan(0.1);
      expect(cores).toBeLessThan(0.5);
      const t = envelope.app.throttling();
      expect(t.throttled).toBeGreaterThan(0);
      expect(t.periods).toBeGreaterThanOrEqual(t.throttled);
      const dirs = Object.values(envelope.app.dirs);
      envelope.remove();
      expect(isAlive(child.pid!)).toBe(true);
      expect(runIdOf(child.pid!)).toBeUndefined();
      for (const dir of dirs) expect(existsSync(dir)).toBe(false);
    } finally {
      envelope.remove();
    }
  });

  it('moves a whole process tree (PostgreSQL: postmaster and backends) and counts CPU of children that exited', async () => {
    const envelope = CgroupEnvelope.create({ appCpus: 1, appMemoryMiB: 256, dbCpus: 1, dbMemoryMiB: 512 });
    try {
      // A parent that keeps forking short-lived CPU burners, like a postmaster forking per-request backends.
      const parent = spawn(process.execPath, ['-e', `const { spawnSync } = require('node:child_process'); setInterval(() => spawnSync(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 150) {}']), 200);`], { stdio: 'ignore' });
      busyChildren.push(parent);
      await sleep(300);
      envelope.db.addProcessTree(parent.pid!);
      expect(processTree(parent.pid!).every((pid) => !isAlive(pid) || runIdOf(pid) !== undefined)).toBe(true);
      const before = envelope.db.cpuSeconds();
      await sleep(1500);
      // The parent itself is idle: the CPU counted is the exited children's.
      expect(envelope.db.cpuSeconds() - before).toBeGreaterThan(0.3);
    } finally {
      envelope.remove();
    }
  });

  it('removes its cgroups, the run\'s own included, right after a process inside was killed', async () => {
    const envelope = CgroupEnvelope.create({ appCpus: 1, appMemoryMiB: 1024, dbCpus: 1, dbMemoryMiB: 1024 });
    // The app's and PostgreSQL's cgroups, and the run's own around them.
    const dirs = [...Object.values(envelope.app.dirs), ...Object.values(envelope.db.dirs), ...Object.values(envelope.app.dirs).map((d) => dirname(d))];
    try {
      // The app killed in the middle of a step, with a large heap that takes a moment to tear down. The kernel
      // keeps the cgroups busy for a moment after (measured: without retrying, the run's cgroup stayed every time).
      const heavy = spawn(process.execPath, ['-e', `const keep = []; for (let i = 0; i < 40; i++) keep.push(Buffer.alloc(16 * 2 ** 20, 1)); process.stdout.write('ready'); setInterval(() => keep.length, 1000);`], { stdio: ['ignore', 'pipe', 'ignore'] });
      busyChildren.push(heavy);
      envelope.app.addPid(heavy.pid!);
      await new Promise((resolve) => heavy.stdout!.once('data', resolve));
      heavy.kill('SIGKILL');
      envelope.remove();
      for (const dir of dirs) expect(existsSync(dir), dir).toBe(false);
    } finally {
      envelope.remove();
    }
  });

  it('removes the cgroups a killed run left behind', async () => {
    const h = findHierarchy();
    if (!('dirs' in h)) throw new Error('no hierarchy');
    // A run "killed with SIGKILL": its pid is gone, its cgroups are still there.
    const dead = spawn(process.execPath, ['-e', '0']);
    await exited(dead);
    const name = `stackbench-${dead.pid}-abcdef`;
    const stale = [...new Set(Object.values(h.dirs))].map((d) => join(d!, name));
    for (const dir of stale) mkdirSync(join(dir, 'app'), { recursive: true });
    const envelope = CgroupEnvelope.create({ appCpus: 0.5, appMemoryMiB: 256, dbCpus: 0.5, dbMemoryMiB: 256 });
    envelope.remove();
    for (const dir of stale) expect(existsSync(dir)).toBe(false);
  });

  describe('stackbench serve with an envelope, on its own embedded PostgreSQL', () => {
    const home = mkdtempSync(join(tmpdir(), 'stackbench-envelope-'));
    afterAll(() => removeHome(home));

    it('confines the app and PostgreSQL while it serves, and removes every cgroup on Ctrl-C', async () => {
      const env = { STACKBENCH_HOME: home, STACKBENCH_PG_PORT: String(23000 + (process.pid % 1000)) /* below the ephemeral range */, DATABASE_URL: '' };
      const { child, output } = await startCli(['serve', '--app', 'fastify', '--port', '0', '--app-cpus', '0.5', '--db-cpus', '1'], env, /verify it:/, 120_000);
      try {
        expect(output()).toMatch(/envelope: app 0\.5 CPU \/ 512 MiB, PostgreSQL 1 CPU \/ 1024 MiB \(cgroup-v[12]/);
        const tree = processTree(child.pid!).filter((pid) => pid !== child.pid);
        const app = tree.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('apps/fastify/dist/main.js'));
        expect(app, output()).toBeDefined();
        expect([...cgroupOf(app!).values()].some((p) => p.endsWith(`/${runIdOf(app!)}/app`))).toBe(true);
        // The postmaster is the CLI's child started with `-D <data dir>`; its backends are its children.
        const postmaster = tree.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('-D'));
        expect(postmaster, output()).toBeDefined();
        expect([...cgroupOf(postmaster!).values()].some((p) => /\/stackbench-\d+-[0-9a-f]+\/db$/.test(p))).toBe(true);
        expect(listStackbenchCgroups().some((d) => d.includes(`stackbench-${child.pid}-`))).toBe(true);
      } finally {
        child.kill('SIGINT');
      }
      expect(await exited(child)).toBe(0);
      expect(listStackbenchCgroups().filter((d) => d.includes(`stackbench-${child.pid}-`))).toEqual([]);
    });
  });
});

describe('where cgroups cannot be written', () => {
  it.runIf(process.getuid?.() === 0)('an unprivileged user gets one line naming --envelope none, before any database starts', async () => {
    const home = mkdtempSync(join(tmpdir(), 'stackbench-noenv-'));
    try {
      // runuser drops root: the cgroup filesystem is not writable for nobody.
      const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn('runuser', ['-u', 'nobody', '--', 'env', `STACKBENCH_HOME=${home}`, 'DATABASE_URL=', process.execPath, STACKBENCH, 'bench', '--profile', 'smoke', '--apps', 'fastify', '--out', join(home, 'out')], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c));
        child.on('exit', (code) => resolve({ code, stderr }));
      });
      if (/Permission denied|EACCES.*stackbench\.js/.test(result.stderr)) return; // the checkout is not readable by nobody
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/cannot apply the resource envelope: .*--envelope none/);
      // Nothing was started: no database directory, no output.
      expect(readdirSync(home)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('--envelope none is refused with envelope flags, in one line', async () => {
    const result = await runCli(['bench', '--envelope', 'none', '--db-cpus', '1'], { DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('stackbench bench: --envelope none cannot be combined with --db-cpus');
  });
});
