import { describe, expect, it } from 'vitest';
import { DRIVER_BOUND_LIMITS, judgeDriver, type DriverWindow } from '../src/index.js';

/** The embedded driver: one JavaScript thread, with its event-loop delay. */
const embedded = (w: Partial<DriverWindow>): DriverWindow => ({
  driverCpuPct: 30,
  parallelism: 1,
  eventLoopDelayP99Ms: 1,
  machineCores: 4,
  appCpuPct: 100,
  dbCpuPct: 50,
  ...w,
});

/** k6: Go threads on every CPU it may use, no event loop to report. */
const k6 = (w: Partial<DriverWindow>): DriverWindow => ({
  driverCpuPct: 100,
  parallelism: 4,
  eventLoopDelayP99Ms: null,
  machineCores: 4,
  appCpuPct: 100,
  dbCpuPct: 50,
  ...w,
});

describe('driver-bound rule', () => {
  it('uses the documented limits', () => {
    expect(DRIVER_BOUND_LIMITS).toEqual({ cpuShareOfCapacity: 0.9, eventLoopDelayP99Ms: 10, minCapacityCores: 0.1 });
  });

  describe('embedded driver: capacity is its one core (when app and database leave at least that)', () => {
    const table: Array<[string, Partial<DriverWindow>, boolean, number, RegExp[]]> = [
      ['idle driver', { driverCpuPct: 20 }, false, 1, []],
      ['just under 90 % of its core', { driverCpuPct: 89.9 }, false, 1, []],
      ['exactly 90 % of its core', { driverCpuPct: 90 }, true, 1, [/load generator CPU 0\.9 cores >= 90 % of its 1 core$/]],
      ['a full core', { driverCpuPct: 100 }, true, 1, [/of its 1 core$/]],
      ['event loop late by 9.99 ms at p99', { eventLoopDelayP99Ms: 9.99 }, false, 1, []],
      ['event loop late by 10 ms at p99', { eventLoopDelayP99Ms: 10 }, true, 1, [/event-loop delay p99 10 ms >= 10 ms/]],
      ['busy core and late loop: both reasons', { driverCpuPct: 95, eventLoopDelayP99Ms: 25 }, true, 1, [/of its 1 core/, /event-loop delay p99 25 ms/]],
      // App 300 % + database 50 % of a 4-core machine leave 0.5 cores: the driver's core is not all its own.
      ['app and database leave half a core', { driverCpuPct: 46, appCpuPct: 300, dbCpuPct: 50 }, true, 0.5, [/of the 0\.5 cores app and database left/]],
      ['half a core left, driver at 40 %', { driverCpuPct: 40, appCpuPct: 300, dbCpuPct: 50 }, false, 0.5, []],
      ['usage not sampled counts as none', { driverCpuPct: 50, appCpuPct: null, dbCpuPct: null, machineCores: 1 }, false, 1, []],
    ];
    it.each(table)('%s', (_name, w, bound, capacityCores, reasons) => {
      const j = judgeDriver(embedded(w));
      expect(j.bound).toBe(bound);
      expect(j.capacityCores).toBe(capacityCores);
      expect(j.reasons).toHaveLength(reasons.length);
      reasons.forEach((re, i) => expect(j.reasons[i]).toMatch(re));
    });
  });

  describe('k6: capacity is its cores, limited by what app and database left', () => {
    const table: Array<[string, Partial<DriverWindow>, boolean, number, RegExp[]]> = [
      // 4 cores, app + database 1.5: 2.5 left, k6 may use 4 -> 2.5.
      ['one core of 2.5 left', { driverCpuPct: 100 }, false, 2.5, []],
      ['2.3 of 2.5 left', { driverCpuPct: 230 }, true, 2.5, [/load generator CPU 2\.3 cores >= 90 % of the 2\.5 cores app and database left/]],
      // An 8-core machine with an idle app: k6's own 4 cores are the limit.
      ['3.5 of its 4 cores', { driverCpuPct: 350, machineCores: 8, appCpuPct: 50, dbCpuPct: 10 }, false, 4, []],
      ['3.6 of its 4 cores', { driverCpuPct: 360, machineCores: 8, appCpuPct: 50, dbCpuPct: 10 }, true, 4, [/of its 4 cores$/]],
      // App and database took the whole machine: the floor keeps the capacity above zero.
      ['app and database took everything', { driverCpuPct: 20, machineCores: 2, appCpuPct: 180, dbCpuPct: 100 }, true, DRIVER_BOUND_LIMITS.minCapacityCores, [/of the 0\.1 cores app and database left/]],
      ['k6 on 1 core', { parallelism: 1, driverCpuPct: 95, machineCores: 8 }, true, 1, [/of its 1 core$/]],
      // No event-loop figure for k6: only CPU can make it bound.
      ['no event-loop delay', { driverCpuPct: 100, eventLoopDelayP99Ms: null }, false, 2.5, []],
    ];
    it.each(table)('%s', (_name, w, bound, capacityCores, reasons) => {
      const j = judgeDriver(k6(w));
      expect(j.bound).toBe(bound);
      expect(j.capacityCores).toBe(capacityCores);
      expect(j.reasons).toHaveLength(reasons.length);
      reasons.forEach((re, i) => expect(j.reasons[i]).toMatch(re));
    });
  });

  it('judges both engines alike when app and database leave them the same capacity', () => {
    // 4 cores - 3 used by app and database = 1 left: the embedded driver's own core, and all k6 may use.
    const window = { driverCpuPct: 95, machineCores: 4, appCpuPct: 250, dbCpuPct: 50, eventLoopDelayP99Ms: null };
    const node = judgeDriver({ ...window, parallelism: 1 });
    const k6Judged = judgeDriver({ ...window, parallelism: 4 });
    expect([node.bound, node.capacityCores]).toEqual([true, 1]);
    expect([k6Judged.bound, k6Judged.capacityCores]).toEqual([true, 1]);
    expect(node.reasons[0]).toMatch(/of its 1 core$/);
    expect(k6Judged.reasons[0]).toMatch(/of the 1 cores app and database left$/);
  });

  describe('under an envelope: the share it leaves the generator', () => {
    // 2 cores, app quota 0.5 and PostgreSQL quota 1: the generator's share is 0.5 cores.
    const twoCores = { machineCores: 2, appCpuPct: 48, dbCpuPct: 38, envelopeShareCores: 0.5 };
    it('marks k6 above its share although app + database + k6 stay under the machine (the measured fastify case)', () => {
      const j = judgeDriver(k6({ ...twoCores, parallelism: 2, driverCpuPct: 70 }));
      expect(j.bound).toBe(true);
      expect(j.reasons).toEqual(['load generator CPU 0.7 cores > the 0.5 cores the envelope leaves it (it took CPU the app and PostgreSQL were sized to have)']);
    });
    it('leaves a generator at or under its share alone, and both engines are judged alike', () => {
      expect(judgeDriver(k6({ ...twoCores, parallelism: 2, driverCpuPct: 50 })).bound).toBe(false);
      expect(judgeDriver(embedded({ ...twoCores, driverCpuPct: 27 })).bound).toBe(false);
      expect(judgeDriver(embedded({ ...twoCores, driverCpuPct: 61 })).reasons).toEqual([expect.stringMatching(/^load generator CPU 0\.61 cores > the 0\.5 cores the envelope leaves it/)]);
    });
    it('does not apply without an envelope share', () => {
      expect(judgeDriver(k6({ ...twoCores, parallelism: 2, driverCpuPct: 70, envelopeShareCores: null })).bound).toBe(false);
      expect(judgeDriver(k6({ ...twoCores, parallelism: 2, driverCpuPct: 70, envelopeShareCores: undefined })).bound).toBe(false);
    });
  });
});
