import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, type TenantState, WeirError } from '../../../catalog/index.js';
import { parseTaskInputs, type TaskKind, taskInputSchemas } from '../../../proto/task-inputs.js';
import {
  EXPIRE_CHUNK,
  type Plan,
  planBody,
  planBytes,
  planFromBytes,
  planIdOf,
  planRun,
  runIdOf,
  type TriggerInput,
  taskIdOf,
} from '../../../services/orchestrator/planner/index.js';
import {
  addFile,
  addFileEndingAt,
  BASE_MS,
  CLOCK_START_MS,
  HOUR_MS,
  hourStartUs,
  removeFile,
  retentionPolicy,
  seedTables,
  type TestCatalog,
  testCatalog,
} from './fixtures.js';

const DAY_MS = 24 * HOUR_MS;
const iso = (ms: number) => new Date(ms).toISOString();

function compactionTrigger(partition: string, extra: Partial<Record<string, unknown>> = {}): TriggerInput {
  return {
    kind: 'compaction',
    tenant: 'acme',
    logicalTime: '2026-03-05T00:00:00Z',
    tier: 'hourly',
    database: 'db',
    table: 'cpu',
    partition,
    ...extra,
  } as TriggerInput;
}

function planError(fn: () => unknown): WeirError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WeirError);
    return error as WeirError;
  }
  throw new Error('expected planning to fail');
}

/** Every task's inputs are exactly what the worker's schema parses them to. */
function expectValidInputs(plan: Plan) {
  for (const task of plan.tasks) {
    const json = JSON.stringify(task.inputs);
    expect(parseTaskInputs(task.kind as TaskKind, json), task.taskKey).toEqual(task.inputs);
    expect(taskInputSchemas[task.kind].safeParse(task.inputs).success).toBe(true);
  }
}

function expectWellFormed(plan: Plan) {
  expectValidInputs(plan);
  const keys = plan.tasks.map((t) => t.taskKey);
  expect(keys).toEqual([...keys].sort());
  expect(new Set(keys).size).toBe(keys.length);
  expect(plan.summary.tasks).toBe(plan.tasks.length);
  for (const task of plan.tasks) expect(task.taskId).toBe(taskIdOf(plan.planId, task.taskKey));
  expect(plan.runId).toBe(runIdOf(plan.tenant, plan.runKey));
  expect(plan.planId).toBe(planIdOf(planBody(plan)));
  // Integers only: canonical JSON refuses anything else.
  expect(() => canonicalJson(plan)).not.toThrow();
}

describe('planRun', () => {
  let t: TestCatalog;
  beforeEach(async () => {
    t = await testCatalog();
  });
  afterEach(async () => t.cleanup());

  describe('compaction', () => {
    it('lists the live files oldest commit first, then by path, with the columns and sort key at V', async () => {
      await seedTables(t);
      // v2 adds z1 and m1 in one commit; v3 adds a1; v4 adds c1 and removes z1.
      const z1 = addFile('acme', 'db', 'cpu', 0, 'z1');
      await t.commit([z1, addFile('acme', 'db', 'cpu', 0, 'm1')]);
      await t.commit([addFile('acme', 'db', 'cpu', 0, 'a1')]);
      const v3 = await t.catalog.current();
      await t.commit([addFile('acme', 'db', 'cpu', 0, 'c1'), removeFile(z1)]);
      await t.commit([
        {
          op: 'addColumns',
          database: 'db',
          table: 'cpu',
          columns: [{ name: 'region', type: 'string', role: 'tag' }],
        },
      ]);
      const head = await t.catalog.current();
      const partition = 'date=2026-03-01/hour=00';
      const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);

      const atHead = planRun(compactionTrigger(partition, { dedup: true, targetRows: 500 }), head);
      expectWellFormed(atHead);
      expect(atHead.catalogVersion).toBe(5);
      expect(atHead.tasks).toHaveLength(1);
      const task = atHead.tasks[0]!;
      expect(task).toMatchObject({
        taskKey: `compact:db.cpu:${partition}`,
        kind: 'compaction',
        dependsOn: [],
      });
      if (task.kind !== 'compaction') throw new Error('kind');
      expect(task.inputs.files.map((f) => name(f.path))).toEqual(['m1.parquet', 'a1.parquet', 'c1.parquet']);
      expect(task.inputs).toMatchObject({
        dedup: true,
        targetRows: 500,
        sortKey: ['host', 'region', 'time'],
      });
      expect(task.inputs.columns.map((c) => c.name)).toEqual(['time', 'host', 'usage', 'region']);
      expect(atHead.summary).toEqual({
        tasks: 1,
        partitionFiles: 3,
        inputFiles: 3,
        inputRows: 300,
        inputBytes: 3000,
      });

      // The state at an older version plans from that version's files and schema.
      const atV3 = planRun(compactionTrigger(partition), v3);
      expectWellFormed(atV3);
      expect(atV3.catalogVersion).toBe(3);
      const old = atV3.tasks[0]!;
      if (old.kind !== 'compaction') throw new Error('kind');
      expect(old.inputs.files.map((f) => name(f.path))).toEqual(['m1.parquet', 'z1.parquet', 'a1.parquet']);
      expect(old.inputs.sortKey).toEqual(['host', 'time']);
      expect(atV3.runId).toBe(planRun(compactionTrigger(partition), head).runId);
      expect(atV3.planId).not.toBe(planRun(compactionTrigger(partition), head).planId);
    });

    it('lists a rewritten file by the recency of its rows, not by the commit that added it', async () => {
      const seeded = await seedTables(t);
      const a1 = addFile('acme', 'db', 'cpu', 0, 'a1');
      await t.commit([a1]);
      await t.commit([addFile('acme', 'db', 'cpu', 0, 'b1')]);
      // c1 rewrites a1 (a compaction planned before b1, or a delete) and commits after b1.
      const c1 = addFile('acme', 'db', 'cpu', 0, 'c1');
      await t.commit([{ ...c1, file: { ...c1.file, sourceVersion: seeded.version + 1 } }, removeFile(a1)]);
      await t.commit([addFile('acme', 'db', 'cpu', 0, 'd1')]);
      const plan = planRun(
        compactionTrigger('date=2026-03-01/hour=00', { dedup: true }),
        await t.catalog.current(),
      );
      expectWellFormed(plan);
      const task = plan.tasks[0]!;
      if (task.kind !== 'compaction') throw new Error('kind');
      expect(task.inputs.files.map((f) => f.path.slice(f.path.lastIndexOf('/') + 1))).toEqual([
        'c1.parquet',
        'b1.parquet',
        'd1.parquet',
      ]);
    });

    it('lists one commit’s outputs in their numbered order: -9 before -10', async () => {
      await seedTables(t);
      const outputs = [10, 9, 2].map((n) => addFile('acme', 'db', 'cpu', 0, `tsk_x-${n}`));
      await t.commit(outputs);
      const plan = planRun(
        compactionTrigger('date=2026-03-01/hour=00', { dedup: true }),
        await t.catalog.current(),
      );
      const task = plan.tasks[0]!;
      if (task.kind !== 'compaction') throw new Error('kind');
      expect(task.inputs.files.map((f) => f.path.slice(f.path.lastIndexOf('/') + 1))).toEqual([
        'tsk_x-2.parquet',
        'tsk_x-9.parquet',
        'tsk_x-10.parquet',
      ]);
    });

    it('a partition with one file gives a plan with no tasks', async () => {
      await seedTables(t);
      const state = await t.commit([addFile('acme', 'db', 'cpu', 0, 'only')]);
      const plan = planRun(compactionTrigger('date=2026-03-01/hour=00'), state);
      expectWellFormed(plan);
      expect(plan.tasks).toEqual([]);
      expect(plan.summary).toMatchObject({ tasks: 0, partitionFiles: 1, inputFiles: 0 });
    });

    it('refuses an unknown table (404), an empty partition (404) and another tenant (400)', async () => {
      await seedTables(t);
      const state = await t.commit([addFile('acme', 'db', 'cpu', 0, 'f1')]);
      const table = planError(() =>
        planRun(compactionTrigger('date=2026-03-01/hour=00', { table: 'nope' }), state),
      );
      expect(table).toMatchObject({
        code: 'PLAN_INVALID_TRIGGER',
        httpStatus: 404,
        details: { field: 'table' },
      });
      expect(table.message).toContain('db.nope');
      const partition = planError(() => planRun(compactionTrigger('date=2026-03-01/hour=01'), state));
      expect(partition).toMatchObject({
        code: 'PLAN_INVALID_TRIGGER',
        httpStatus: 404,
        details: { field: 'partition' },
      });
      const day = planError(() => planRun(compactionTrigger('date=2026-03-01'), state));
      expect(day.httpStatus).toBe(404);
      const tenant = planError(() =>
        planRun({ ...compactionTrigger('date=2026-03-01/hour=00'), tenant: 'other' }, state),
      );
      expect(tenant).toMatchObject({
        code: 'PLAN_INVALID_TRIGGER',
        httpStatus: 400,
        details: { field: 'tenant' },
      });
      const bad = planError(() => planRun(compactionTrigger('date=2026-03-01/hour=99'), state));
      expect(bad).toMatchObject({
        code: 'PLAN_INVALID_TRIGGER',
        httpStatus: 400,
        details: { field: 'partition' },
      });
    });
  });

  describe('retention', () => {
    // Files of hour h hold rows up to hourStart(h) + 1 ms (the fixture's maxTime).
    async function seeded(): Promise<TenantState> {
      await seedTables(t);
      await t.commit([
        ...[0, 1, 2, 3].map((h) => addFile('acme', 'db', 'cpu', h, `c${h}`)),
        addFile('acme', 'db', 'cpu', 1, 'c1b'),
        addFile('acme', 'db', 'mem', 0, 'm0'),
        // Hour 0 of disk (another database) is old too, but no db policy covers it.
        addFile('acme', 'other', 'disk', 0, 'd0'),
        // A partition with one old and one recent file is kept whole.
        addFile('acme', 'db', 'mem', 1, 'm1-old'),
        addFileEndingAt('acme', 'db', 'mem', 1, 'm1-new', hourStartUs(1) + 3_599_000_000),
      ]);
      return t.commit([
        retentionPolicy('keep-1d', 'db', { retention_days: 1 }),
        retentionPolicy('cpu-1d', 'db', { retention_days: 1, measurement: 'cpu' }),
        retentionPolicy('mem-1d', 'db', { retention_days: 1 }, 'mem'),
        retentionPolicy('ghost', 'db', { retention_days: 1, measurement: 'ghost' }),
        {
          op: 'setPolicy',
          policy: { id: 'cq1', kind: 'cq', database: 'db', definition: { query: 'select 1' } },
        },
        retentionPolicy('bad-days', 'db', { retention_days: -1 }),
        retentionPolicy('text-days', 'db', { retention_days: '30' }),
        retentionPolicy('clash', 'db', { retention_days: 1, measurement: 'cpu' }, 'mem'),
      ]);
    }

    const retention = (policyId: string, logicalMs: number, dryRun?: boolean): TriggerInput => ({
      kind: 'retention',
      tenant: 'acme',
      logicalTime: iso(logicalMs),
      policyId,
      dryRun,
    });

    it('drops partitions whose newest row is strictly older than logical time − retention_days', async () => {
      const state = await seeded();
      // cutoff = hourStart(2) + 1 ms: hour 2's newest row equals the cutoff and is kept.
      const atCutoff = planRun(retention('cpu-1d', BASE_MS + DAY_MS + 2 * HOUR_MS + 1), state);
      expectWellFormed(atCutoff);
      const task = atCutoff.tasks[0]!;
      if (task.kind !== 'retention') throw new Error('kind');
      expect(task.taskKey).toBe('retain:db.cpu');
      expect(task.inputs.cutoffMicros).toBe(hourStartUs(2) + 1000);
      expect(task.inputs.partitions).toEqual(['date=2026-03-01/hour=00', 'date=2026-03-01/hour=01']);
      expect(task.inputs.files.map((f) => [f.partition, f.path.slice(f.path.lastIndexOf('/') + 1)])).toEqual([
        ['date=2026-03-01/hour=00', 'c0.parquet'],
        ['date=2026-03-01/hour=01', 'c1.parquet'],
        ['date=2026-03-01/hour=01', 'c1b.parquet'],
      ]);
      // One more millisecond and hour 2 is older than the cutoff.
      const after = planRun(retention('cpu-1d', BASE_MS + DAY_MS + 2 * HOUR_MS + 2), state);
      const next = after.tasks[0]!;
      if (next.kind !== 'retention') throw new Error('kind');
      expect(next.inputs.partitions).toEqual([
        'date=2026-03-01/hour=00',
        'date=2026-03-01/hour=01',
        'date=2026-03-01/hour=02',
      ]);
      // Before any partition is old enough: zero tasks.
      const early = planRun(retention('cpu-1d', BASE_MS + DAY_MS), state);
      expectWellFormed(early);
      expect(early.tasks).toEqual([]);
      expect(early.summary).toMatchObject({ tasks: 0, partitions: 0, files: 0, rows: 0 });
    });

    it('without a measurement covers every table of the database, one task per table', async () => {
      const state = await seeded();
      const plan = planRun(retention('keep-1d', BASE_MS + DAY_MS + 5 * HOUR_MS), state);
      expectWellFormed(plan);
      expect(plan.tasks.map((task) => task.taskKey)).toEqual(['retain:db.cpu', 'retain:db.mem']);
      const mem = plan.tasks[1]!;
      if (mem.kind !== 'retention') throw new Error('kind');
      // cutoff 2026-03-01T05:00: every mem partition (newest row 01:59:59) is older.
      expect(mem.inputs.partitions).toEqual(['date=2026-03-01/hour=00', 'date=2026-03-01/hour=01']);
      expect(plan.summary).toEqual({
        tasks: 2,
        tablesCovered: 2,
        tables: 2,
        partitions: 6,
        files: 8,
        rows: 800,
        bytes: 8000,
        cutoffMicros: hourStartUs(5),
      });
    });

    it('keeps a partition whose newest row is recent even if other files are old; honours policy.table', async () => {
      const state = await seeded();
      // cutoff = 01:30: m1-old (01:00:00.001) is older, m1-new (01:59:59) is not.
      const plan = planRun(retention('mem-1d', BASE_MS + DAY_MS + 1.5 * HOUR_MS), state);
      expectWellFormed(plan);
      expect(plan.tasks.map((task) => task.taskKey)).toEqual(['retain:db.mem']);
      const task = plan.tasks[0]!;
      if (task.kind !== 'retention') throw new Error('kind');
      expect(task.inputs.partitions).toEqual(['date=2026-03-01/hour=00']);
    });

    it('a dry run carries dryRun, reports the counts and has its own run', async () => {
      const state = await seeded();
      const logical = BASE_MS + DAY_MS + 2 * HOUR_MS + 1;
      const dry = planRun(retention('cpu-1d', logical, true), state);
      const real = planRun(retention('cpu-1d', logical), state);
      expectWellFormed(dry);
      expect(dry.dryRun).toBe(true);
      expect(real.dryRun).toBe(false);
      expect(dry.summary).toMatchObject({ partitions: 2, files: 3, rows: 300, bytes: 3000, tables: 1 });
      expect(dry.tasks.map((task) => task.inputs)).toEqual(real.tasks.map((task) => task.inputs));
      expect(dry.runKey).toBe(`${real.runKey}:dry-run`);
      expect(dry.runId).not.toBe(real.runId);
    });

    it('a policy naming a table that does not exist plans nothing', async () => {
      const state = await seeded();
      const plan = planRun(retention('ghost', BASE_MS + 10 * DAY_MS), state);
      expect(plan.tasks).toEqual([]);
      expect(plan.summary).toMatchObject({ tablesCovered: 0, tasks: 0 });
    });

    it('refuses unknown policies (404), other kinds and bad definitions (400)', async () => {
      const state = await seeded();
      const missing = planError(() => planRun(retention('nope', BASE_MS), state));
      expect(missing).toMatchObject({ code: 'POLICY_NOT_FOUND', httpStatus: 404 });
      expect(missing.message).toContain('nope');
      const cq = planError(() => planRun(retention('cq1', BASE_MS), state));
      expect(cq).toMatchObject({ code: 'PLAN_INVALID_TRIGGER', httpStatus: 400 });
      for (const id of ['bad-days', 'text-days']) {
        const bad = planError(() => planRun(retention(id, BASE_MS), state));
        expect(bad).toMatchObject({ code: 'PLAN_INVALID_POLICY', httpStatus: 400 });
        expect(bad.message).toContain('definition.retention_days');
      }
      const clash = planError(() => planRun(retention('clash', BASE_MS), state));
      expect(clash.message).toContain('definition.measurement');
    });
  });

  describe('expire', () => {
    it('lists tombstones removed in the two days up to logical time − window, sorted, chunked by 1000, then sweeps', async () => {
      await seedTables(t);
      const early = Array.from({ length: 2500 }, (_, i) => addFile('acme', 'db', 'cpu', i % 5, `e${i}`, 1));
      const late = addFile('acme', 'db', 'mem', 0, 'late');
      await t.commit([...early, late]);
      const removedEarly = CLOCK_START_MS + DAY_MS;
      t.setClock(removedEarly);
      await t.commit(early.map(removeFile));
      t.setClock(removedEarly + 60_000);
      const state = await t.commit([removeFile(late)]);
      const expire = (
        logicalMs: number,
        more: { windowMs?: number; orphanGraceMs?: number } = {},
      ): TriggerInput => ({
        kind: 'expire',
        tenant: 'acme',
        logicalTime: iso(logicalMs),
        ...more,
      });
      const WEEK = 7 * DAY_MS;
      const sweepOf = (plan: Plan) => plan.tasks.at(-1)!;
      const listed = (plan: Plan) =>
        plan.tasks.flatMap((task) =>
          task.kind === 'expire' && 'paths' in task.inputs ? task.inputs.paths : [],
        );

      const none = planRun(expire(removedEarly + WEEK - 1), state);
      expectWellFormed(none);
      expect(none.tasks.map((task) => task.taskKey)).toEqual(['expire:sweep']);
      expect(none.summary).toEqual({ tasks: 1, paths: 0, bytes: 0, tombstones: 2501 });
      // The sweep deletes what was removed before the horizon, and never-named objects 3 days old.
      expect(sweepOf(none).inputs).toEqual({
        sweep: {
          removedBeforeMs: removedEarly - 1 - 2 * DAY_MS,
          writtenBeforeMs: removedEarly + WEEK - 1 - 3 * DAY_MS,
        },
      });

      const boundary = planRun(expire(removedEarly + WEEK), state);
      expectWellFormed(boundary);
      expect(boundary.tasks.map((task) => task.taskKey)).toEqual([
        'expire:000000',
        'expire:000001',
        'expire:000002',
        'expire:sweep',
      ]);
      expect(
        boundary.tasks.slice(0, 3).map((task) => ('paths' in task.inputs ? task.inputs.paths.length : 0)),
      ).toEqual([EXPIRE_CHUNK, EXPIRE_CHUNK, 500]);
      expect(listed(boundary)).toEqual(early.map((a) => a.file.path).sort());
      expect(boundary.summary).toEqual({ tasks: 4, paths: 2500, bytes: 25_000, tombstones: 2501 });

      // A one-minute window reaches the late removal too; a shorter grace moves the sweep's bound.
      const short = planRun(
        expire(removedEarly + 120_000, { windowMs: 60_000, orphanGraceMs: DAY_MS }),
        state,
      );
      expect(short.summary).toMatchObject({ paths: 2501, tasks: 4 });
      expect(sweepOf(short).inputs).toEqual({
        sweep: {
          removedBeforeMs: removedEarly + 60_000 - 2 * DAY_MS,
          writtenBeforeMs: removedEarly + 120_000 - DAY_MS,
        },
      });

      // Removals more than two days before the horizon are no longer listed: the sweep finds what is left of them.
      const weekLater = planRun(expire(removedEarly + WEEK + 2 * DAY_MS + 30_000), state);
      expect(listed(weekLater)).toEqual([late.file.path]);
      const later = planRun(expire(removedEarly + 3 * WEEK), state);
      expect(later.tasks.map((task) => task.taskKey)).toEqual(['expire:sweep']);
      expect(sweepOf(later).inputs).toMatchObject({
        sweep: { removedBeforeMs: removedEarly + 2 * WEEK - 2 * DAY_MS },
      });
    });
  });

  describe('checkpoint, events compaction and noop', () => {
    it('checkpoint: one task, named by the catalog version', async () => {
      const state = await seedTables(t);
      const plan = planRun(
        { kind: 'checkpoint', tenant: 'acme', logicalTime: '2026-03-05T00:00:00Z' },
        state,
      );
      expectWellFormed(plan);
      expect(plan.runKey).toBe('checkpoint:1');
      expect(plan.tasks.map((task) => [task.taskKey, task.kind, task.inputs])).toEqual([
        ['checkpoint', 'checkpoint', {}],
      ]);
    });

    it('events compaction: one task with the settle window', async () => {
      const state = await seedTables(t);
      const plan = planRun(
        { kind: 'events-compaction', tenant: 'acme', logicalTime: '2026-03-05T00:00:00Z', settleMs: 15_000 },
        state,
      );
      expectWellFormed(plan);
      expect(plan.tasks.map((task) => [task.taskKey, task.inputs])).toEqual([
        ['events-compaction', { settleMs: 15_000 }],
      ]);
    });

    it('noop: N tasks with padded, sorted keys and distinct ids', async () => {
      const state = await seedTables(t);
      const plan = planRun(
        { kind: 'noop', tenant: 'acme', logicalTime: '2026-03-05T00:00:00Z', tasks: 12 },
        state,
      );
      expectWellFormed(plan);
      expect(plan.tasks.map((task) => task.taskKey).slice(0, 3)).toEqual([
        'noop:000000',
        'noop:000001',
        'noop:000002',
      ]);
      expect(plan.tasks.at(-1)!.taskKey).toBe('noop:000011');
      expect(new Set(plan.tasks.map((task) => task.taskId)).size).toBe(12);
      expect(plan.tasks[0]!.inputs).toEqual({ sleepMs: 0 });
    });

    it('noop: the maximum of 100,000 tasks', async () => {
      const state = await seedTables(t);
      const plan = planRun(
        { kind: 'noop', tenant: 'acme', logicalTime: '2026-03-05T00:00:00Z', tasks: 100_000 },
        state,
      );
      expect(plan.tasks).toHaveLength(100_000);
      expect(plan.tasks.at(-1)!.taskKey).toBe('noop:099999');
    });
  });

  describe('determinism', () => {
    async function state(): Promise<TenantState> {
      await seedTables(t);
      return t.commit([addFile('acme', 'db', 'cpu', 0, 'f1'), addFile('acme', 'db', 'cpu', 0, 'f2')]);
    }

    it('the same trigger twice gives the same run, plan and bytes', async () => {
      const s = await state();
      const trigger = compactionTrigger('date=2026-03-01/hour=00');
      const a = planRun(trigger, s);
      const b = planRun(structuredClone(trigger), s);
      expect(b.runId).toBe(a.runId);
      expect(b.planId).toBe(a.planId);
      expect(planBytes(b)).toEqual(planBytes(a));
    });

    it('equivalent triggers (other ISO spelling, defaults spelled out, key order) give the same bytes', async () => {
      const s = await state();
      const a = planRun(compactionTrigger('date=2026-03-01/hour=00'), s);
      const b = planRun(
        {
          targetRows: 1_000_000,
          dedup: false,
          partition: 'date=2026-03-01/hour=00',
          table: 'cpu',
          database: 'db',
          tier: 'hourly',
          logicalTime: '2026-03-05T01:00:00.000+01:00',
          tenant: 'acme',
          kind: 'compaction',
        },
        s,
      );
      expect(planBytes(b)).toEqual(planBytes(a));
    });

    it('another logical time or tier is another run; another tenant is refused', async () => {
      const s = await state();
      const a = planRun(compactionTrigger('date=2026-03-01/hour=00'), s);
      const later = planRun(
        compactionTrigger('date=2026-03-01/hour=00', { logicalTime: '2026-03-05T01:00:00Z' }),
        s,
      );
      const daily = planRun(compactionTrigger('date=2026-03-01/hour=00', { tier: 'daily' }), s);
      expect(later.runId).not.toBe(a.runId);
      expect(daily.runId).not.toBe(a.runId);
      expect(later.planId).not.toBe(a.planId);
      // Same files, so the same task inputs; only the ids differ.
      expect(later.tasks[0]!.inputs).toEqual(a.tasks[0]!.inputs);
      expect(later.tasks[0]!.taskId).not.toBe(a.tasks[0]!.taskId);
    });

    it('plan bytes read back verified; any edit is caught', async () => {
      const s = await state();
      const plan = planRun(compactionTrigger('date=2026-03-01/hour=00'), s);
      const bytes = planBytes(plan);
      expect(planFromBytes(bytes)).toEqual(JSON.parse(new TextDecoder().decode(bytes)));
      const text = new TextDecoder().decode(bytes);
      const edits = [
        text.replace('"targetRows":1000000', '"targetRows":1000001'),
        text.replace(plan.runId, runIdOf('acme', 'other')),
        text.replace(plan.tasks[0]!.taskId, 'tsk_00000000000000000000000000000000'),
        text.replace('"format":1', '"format":2'),
        '{"not":"a plan"}',
        'not json',
      ];
      for (const edited of edits) {
        let error: unknown;
        try {
          planFromBytes(new TextEncoder().encode(edited));
        } catch (e) {
          error = e;
        }
        expect(error, edited.slice(0, 60)).toBeInstanceOf(WeirError);
        expect((error as WeirError).code).toBe('PLAN_CORRUPT');
      }
    });
  });
});
