import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type TenantState, WeirError } from '../../../catalog/index.js';
import {
  compactionCandidates,
  planBytes,
  planRun,
  retentionTriggers,
} from '../../../services/orchestrator/planner/index.js';
import {
  addFile,
  BASE_MS,
  createTable,
  HOUR_MS,
  retentionPolicy,
  seedTables,
  type TestCatalog,
  testCatalog,
} from './fixtures.js';

const DAY_MS = 24 * HOUR_MS;
const iso = (ms: number) => new Date(ms).toISOString();
const files = (table: string, hour: number, count: number, database = 'db') =>
  Array.from({ length: count }, (_, i) => addFile('acme', database, table, hour, `${table}-h${hour}-${i}`));
const hourEnd = (hour: number) => BASE_MS + (hour + 1) * HOUR_MS;

describe('compaction candidates', () => {
  let t: TestCatalog;
  let state: TenantState;
  beforeEach(async () => {
    t = await testCatalog();
    await seedTables(t);
    await t.commit([{ ...(createTable('db', 'daily')[0] as object), partitioning: 'day' }]);
    state = await t.commit([
      ...files('cpu', 0, 10),
      ...files('cpu', 1, 10),
      ...files('cpu', 2, 9),
      ...files('cpu', 3, 2),
      ...files('mem', 1, 12),
      ...files('mem', 4, 1),
      ...files('disk', 1, 10, 'other'),
      // Day partition 2026-03-01 of a day-partitioned table.
      ...Array.from({ length: 10 }, (_, i) => {
        const a = addFile('acme', 'db', 'daily', 5, `d${i}`);
        const file = {
          ...a.file,
          partition: 'date=2026-03-01',
          path: `tenants/acme/data/db/daily/date=2026-03-01/d${i}.parquet`,
        };
        return { ...a, file };
      }),
    ]);
  });
  afterEach(async () => t.cleanup());

  const keys = (list: ReturnType<typeof compactionCandidates>) =>
    list.map((c) => `${c.database}.${c.table}:${c.partition}`);

  it('files already at the target size do not count, so a large partition is not recompacted every day', () => {
    // The fixture files hold 100 rows each: with a target of 100 rows every file is full-sized.
    const atTarget = compactionCandidates(state, {
      tier: 'daily',
      logicalTime: iso(hourEnd(3) + DAY_MS),
      targetRows: 100,
    });
    expect(atTarget).toEqual([]);
    const below = compactionCandidates(state, {
      tier: 'daily',
      logicalTime: iso(hourEnd(3) + DAY_MS),
      targetRows: 101,
    });
    expect(keys(below)).toContain('db.cpu:date=2026-03-01/hour=03');
  });

  it('hourly: partitions that ended at least an hour ago with ≥ 10 files, sorted', () => {
    // Hour 1 ended exactly one hour before: included; hour 2 (9 files) and hour 3 (2 files) are too small.
    const list = compactionCandidates(state, { tier: 'hourly', logicalTime: iso(hourEnd(1) + HOUR_MS) });
    expect(keys(list)).toEqual([
      'db.cpu:date=2026-03-01/hour=00',
      'db.cpu:date=2026-03-01/hour=01',
      'db.mem:date=2026-03-01/hour=01',
      'other.disk:date=2026-03-01/hour=01',
    ]);
    for (const c of list) {
      expect(c).toMatchObject({
        kind: 'compaction',
        tenant: 'acme',
        tier: 'hourly',
        logicalTime: iso(hourEnd(1) + HOUR_MS),
        dedup: false,
        targetRows: 1_000_000,
      });
    }
    // One millisecond earlier, hour 1 is still inside its grace hour.
    const earlier = compactionCandidates(state, {
      tier: 'hourly',
      logicalTime: iso(hourEnd(1) + HOUR_MS - 1),
    });
    expect(keys(earlier)).toEqual(['db.cpu:date=2026-03-01/hour=00']);
  });

  it('hourly: minFiles moves the threshold; the day partition qualifies once its day has ended', () => {
    const list = compactionCandidates(state, {
      tier: 'hourly',
      logicalTime: iso(BASE_MS + DAY_MS + HOUR_MS),
      minFiles: 9,
    });
    expect(keys(list)).toEqual([
      'db.cpu:date=2026-03-01/hour=00',
      'db.cpu:date=2026-03-01/hour=01',
      'db.cpu:date=2026-03-01/hour=02',
      'db.daily:date=2026-03-01',
      'db.mem:date=2026-03-01/hour=01',
      'other.disk:date=2026-03-01/hour=01',
    ]);
    const before = compactionCandidates(state, {
      tier: 'hourly',
      logicalTime: iso(BASE_MS + DAY_MS + HOUR_MS - 1),
      minFiles: 9,
    });
    expect(keys(before)).not.toContain('db.daily:date=2026-03-01');
  });

  it('daily: partitions that ended at least 24 h ago with ≥ 2 files', () => {
    const list = compactionCandidates(state, { tier: 'daily', logicalTime: iso(hourEnd(3) + DAY_MS) });
    expect(keys(list)).toEqual([
      'db.cpu:date=2026-03-01/hour=00',
      'db.cpu:date=2026-03-01/hour=01',
      'db.cpu:date=2026-03-01/hour=02',
      'db.cpu:date=2026-03-01/hour=03',
      'db.mem:date=2026-03-01/hour=01',
      'other.disk:date=2026-03-01/hour=01',
    ]);
    expect(list.every((c) => c.tier === 'daily')).toBe(true);
    // mem hour 4 has one file: never a daily candidate.
    const later = compactionCandidates(state, { tier: 'daily', logicalTime: iso(BASE_MS + 10 * DAY_MS) });
    expect(keys(later)).not.toContain('db.mem:date=2026-03-01/hour=04');
    expect(keys(later)).toContain('db.daily:date=2026-03-01');
    // Hour 3 ended 24 h − 1 ms ago: not yet.
    const early = compactionCandidates(state, { tier: 'daily', logicalTime: iso(hourEnd(3) + DAY_MS - 1) });
    expect(keys(early)).not.toContain('db.cpu:date=2026-03-01/hour=03');
    expect(keys(early)).toContain('db.cpu:date=2026-03-01/hour=02');
  });

  it('passes dedup and targetRows on, and every candidate plans to one task', () => {
    const list = compactionCandidates(state, {
      tier: 'daily',
      logicalTime: iso(BASE_MS + 10 * DAY_MS),
      dedup: true,
      targetRows: 10,
    });
    for (const c of list) {
      expect(c).toMatchObject({ dedup: true, targetRows: 10 });
      const plan = planRun(c, state);
      expect(plan.tasks).toHaveLength(1);
    }
  });

  it('candidates come frozen and plan exactly like an equal plain trigger', () => {
    const list = compactionCandidates(state, { tier: 'daily', logicalTime: iso(BASE_MS + 10 * DAY_MS) });
    expect(list.length).toBeGreaterThan(0);
    for (const c of list) {
      expect(Object.isFrozen(c)).toBe(true);
      expect(planBytes(planRun(c, state))).toEqual(planBytes(planRun({ ...c }, state)));
    }
    expect(() => {
      (list[0] as { partition: string }).partition = 'date=2026-03-09';
    }).toThrow(TypeError);
  });

  it('refuses a bad tick, tier or minFiles', () => {
    const bad = [
      () => compactionCandidates(state, { tier: 'hourly', logicalTime: 'now' }),
      () => compactionCandidates(state, { tier: 'weekly' as 'hourly', logicalTime: iso(BASE_MS) }),
      () => compactionCandidates(state, { tier: 'hourly', logicalTime: iso(BASE_MS), minFiles: 1 }),
      () => compactionCandidates(state, { tier: 'hourly', logicalTime: iso(BASE_MS), targetRows: 0 }),
    ];
    for (const fn of bad) {
      expect(fn).toThrow(WeirError);
      try {
        fn();
      } catch (error) {
        expect((error as WeirError).code).toBe('PLAN_INVALID_TRIGGER');
      }
    }
  });
});

describe('retention triggers', () => {
  let t: TestCatalog;
  afterEach(async () => t.cleanup());

  it('one per retention policy, sorted by id; other kinds are skipped', async () => {
    t = await testCatalog();
    await seedTables(t);
    const state = await t.commit([
      retentionPolicy('zeta', 'db', { retention_days: 1 }),
      retentionPolicy('alpha', 'other', { retention_days: 30 }),
      { op: 'setPolicy', policy: { id: 'cq1', kind: 'cq', database: 'db', definition: {} } },
    ]);
    const list = retentionTriggers(state, '2026-03-10T00:05:00+00:00');
    expect(list).toEqual([
      {
        kind: 'retention',
        tenant: 'acme',
        logicalTime: '2026-03-10T00:05:00.000Z',
        policyId: 'alpha',
        dryRun: false,
      },
      {
        kind: 'retention',
        tenant: 'acme',
        logicalTime: '2026-03-10T00:05:00.000Z',
        policyId: 'zeta',
        dryRun: false,
      },
    ]);
    expect(() => retentionTriggers(state, 'soon')).toThrow(WeirError);
  });
});
