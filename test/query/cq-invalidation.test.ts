/**
 * Which windows a CQ tick re-materializes after the source changed (ADR 0019): late rows, whatever
 * commit brought them into the table, and rows a compaction removed. Ticks are planned at the head
 * and their windows run directly; each test uses its own day of the fixture.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WeirError } from '../../catalog/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { cqProgressId, MAX_TICK_WINDOWS } from '../../services/orchestrator/planner/index.js';
import { executeTask } from '../../workers/tasks/index.js';
import { writeDataFiles } from '../helpers/data-files.js';
import {
  at,
  type CqDirect,
  createCq,
  flushRows,
  iso,
  openCqDirect,
  planAtHead,
  planTick,
  progressOf,
  runAll,
  sqlRows,
} from './cq-direct.js';

let env: CqDirect;
beforeAll(async () => {
  env = await openCqDirect();
}, 120_000);
afterAll(() => env?.close());

/** `date=…/hour=…` of the hour holding `us`. */
const hourPartition = (us: number) => {
  const [date, time] = iso(us).split('T');
  return `date=${date}/hour=${time!.slice(0, 2)}`;
};

async function compact(partitionUs: number, dedup: boolean) {
  const { envelopes } = await planAtHead(env, {
    kind: 'compaction',
    logicalTime: iso(partitionUs + 2 * 3_600_000_000),
    tier: 'hourly',
    database: 'metrics',
    table: 'cpu',
    partition: hourPartition(partitionUs),
    dedup,
  });
  expect(envelopes.length).toBeGreaterThan(0);
  await runAll(env, envelopes);
}

const MINUTE_QUERY = `SELECT time_bucket(INTERVAL '1 minute', time) AS time, host, count(*) AS n
  FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`;

const countOf = async (table: string, host: string) =>
  Number(
    (await sqlRows(env, `SELECT coalesce(sum(n), 0)::INT AS n FROM ${table} WHERE host = '${host}'`))[0]!.n,
  );

describe('CQ invalidation', () => {
  it('re-materializes a window whose late rows a compaction merged before the next tick', async () => {
    const cqId = await createCq(env, 'compacted', at(1));
    await runAll(env, (await planTick(env, cqId, at(1, 12))).envelopes);
    await flushRows(env, 'late-compacted', at(1, 6) + 1_000_000, 'host-late', 10);
    await compact(at(1, 6), false);

    const { plan, envelopes } = await planTick(env, cqId, at(1, 12) + 60_000_000);
    expect(plan.summary).toMatchObject({ windows: 1, invalidWindows: 1, fromUs: at(1, 6) });
    await runAll(env, envelopes);
    expect(await countOf('cpu_compacted', 'host-late')).toBe(10);
  });

  it('re-materializes a window whose duplicates a deduplicating compaction dropped', async () => {
    const cqId = await createCq(env, 'dedup', at(2));
    // A client sends the same rows twice (at-least-once ingest): two flushes of identical rows.
    await flushRows(env, 'sent-once', at(2, 6) + 1_000_000, 'host-dup', 10);
    await flushRows(env, 'sent-twice', at(2, 6) + 1_000_000, 'host-dup', 10);
    await runAll(env, (await planTick(env, cqId, at(2, 12))).envelopes);
    expect(await countOf('cpu_dedup', 'host-dup')).toBe(20);
    await compact(at(2, 6), true);

    const { plan, envelopes } = await planTick(env, cqId, at(2, 12) + 60_000_000);
    expect(plan.summary).toMatchObject({ windows: 1, invalidWindows: 1, fromUs: at(2, 6) });
    await runAll(env, envelopes);
    expect(await countOf('cpu_dedup', 'host-dup')).toBe(10);
  });

  it('leaves windows alone after a compaction that dropped nothing, even with dedup on', async () => {
    const cqId = await createCq(env, 'nodup', at(3));
    await flushRows(env, 'distinct', at(3, 6) + 1_000_000, 'host-distinct', 10);
    await runAll(env, (await planTick(env, cqId, at(3, 12))).envelopes);
    await compact(at(3, 6), true);
    expect((await planTick(env, cqId, at(3, 12) + 60_000_000)).plan.summary).toMatchObject({ windows: 0 });
  });

  it('goes on with more stale windows than a tick plans, and plans due windows meanwhile', async () => {
    const cqId = await createCq(env, 'minutely', at(5), { interval: '1m', query: MINUTE_QUERY });
    const catalog = env.fixture.catalogs.forTenant('acme');
    // As if ticks had materialized day 5 and accounted for the source so far.
    const checked = (await catalog.refresh()).version;
    await catalog.commit([
      {
        op: 'setPolicy',
        policy: {
          id: cqProgressId(cqId),
          kind: 'cq',
          database: 'metrics',
          table: 'cpu_minutely',
          definition: { progress_of: cqId, watermark_us: at(6), checked_version: checked },
        },
      },
    ]);
    // A re-import of 20 hours of day 5, a row a minute: 1200 stale windows.
    await writeDataFiles({
      store: env.fixture.store,
      catalog,
      database: 'metrics',
      table: 'cpu',
      duckdb: env.duckdb,
      commit: 'one',
      files: Array.from({ length: 20 }, (_, h) => ({
        fileId: `reimport-h${h}`,
        sql: `SELECT make_timestamp(${at(5, h)}::BIGINT + i * 60_000_000) AS time, 'host-r' AS host, 'eu' AS region,
          1.0 AS usage, 1::BIGINT AS procs, false AS busy FROM range(60) t(i)`,
      })),
    });
    const scanned = (await catalog.refresh()).version;
    const inputsOf = (plan: { tasks: { inputs: unknown }[] }) =>
      plan.tasks.map((t) => t.inputs as TaskInputs<'cq'>);

    // Day 6 01:00: 60 windows are due too; both kinds are planned.
    const first = await planTick(env, cqId, at(6, 1));
    const firstInputs = inputsOf(first.plan);
    expect(first.plan.summary).toMatchObject({ windows: MAX_TICK_WINDOWS, invalidWindows: 1200 });
    expect(firstInputs.filter((i) => i.windowStartUs >= at(6))).toHaveLength(60);
    expect(firstInputs.every((i) => i.checkedVersion === -1)).toBe(true);
    const lastStale = firstInputs.findLastIndex((i) => i.windowStartUs < at(6));
    await runAll(env, [first.envelopes[lastStale]!]);
    expect(await progressOf(env, cqId)).toMatchObject({
      checked_version: checked,
      stale_version: scanned,
      stale_cursor_us: firstInputs[lastStale]!.windowEndUs,
    });

    // The next tick goes on after the cursor and finishes the scan.
    const second = await planTick(env, cqId, at(6, 1));
    const secondInputs = inputsOf(second.plan);
    expect(second.plan.summary).toMatchObject({ invalidWindows: 1200 - 940 });
    expect(secondInputs[0]!.windowStartUs).toBe(firstInputs[lastStale]!.windowEndUs);
    expect(secondInputs.at(-1)!.checkedVersion).toBe(scanned);
    await runAll(env, [second.envelopes.at(-1)!]);
    const progress = await progressOf(env, cqId);
    expect(progress).toMatchObject({ checked_version: scanned });
    expect(progress).not.toHaveProperty('stale_cursor_us');
    expect((await planTick(env, cqId, at(6, 1))).plan.summary).toMatchObject({ invalidWindows: 0 });
  });
});

describe('CQ invalidation before the start', () => {
  it('re-materializes a backfilled window before the start; leaves windows never materialized alone', async () => {
    const cqId = await createCq(env, 'backfilled', at(10));
    const backfill = await planAtHead(env, {
      kind: 'cq',
      cqId,
      logicalTime: iso(at(10, 12)),
      range: { start: iso(at(9)), end: iso(at(9, 6)) },
    });
    await runAll(env, backfill.envelopes);
    await runAll(env, (await planTick(env, cqId, at(10, 12))).envelopes);
    await flushRows(env, 'late-backfilled', at(9, 1), 'host-late', 10);
    await flushRows(env, 'late-never', at(9, 7), 'host-late', 10);

    const { plan, envelopes } = await planTick(env, cqId, at(10, 12) + 60_000_000);
    expect(plan.summary).toMatchObject({ windows: 1, invalidWindows: 1, fromUs: at(9) });
    await runAll(env, envelopes);
    expect(await countOf('cpu_backfilled', 'host-late')).toBe(10);
  });
});

describe('overlapping runs of one CQ', () => {
  it('refuses the window of an older run that commits after a newer run read late rows', async () => {
    const cqId = await createCq(env, 'overlap', at(7));
    const older = await planTick(env, cqId, at(7, 12));
    await flushRows(env, 'late-overlap', at(7, 7), 'host-late', 10);
    const newer = await planTick(env, cqId, at(7, 12) + 60_000_000);
    await runAll(env, newer.envelopes);
    expect(await countOf('cpu_overlap', 'host-late')).toBe(10);

    for (const envelope of older.envelopes) {
      const failure = await executeTask(envelope, env.ctx).catch((error: WeirError) => error);
      expect(failure).toMatchObject({ code: 'CQ_WINDOW_SUPERSEDED', httpStatus: 409 });
    }
    expect(await countOf('cpu_overlap', 'host-late')).toBe(10);
  });
});

describe('overlapping runs of one CQ, the newer finding the window empty', () => {
  it('refuses the older run, which read rows since removed, once the newer one committed the empty window', async () => {
    // A day past the fixture's: the window's only rows are the ones flushed here.
    const day = 40;
    const cqId = await createCq(env, 'emptied', at(day));
    const [flushed] = await flushRows(env, 'emptied-rows', at(day, 1), 'host-gone', 10);
    const older = await planTick(env, cqId, at(day, 6) + 60_000_000);
    const catalog = env.fixture.catalogs.forTenant('acme');
    await catalog.commit([
      {
        op: 'removeFile',
        database: 'metrics',
        table: 'cpu',
        partition: flushed!.partition,
        path: flushed!.path,
      },
    ]);
    // The newer run reads the window empty: it commits the CQ's progress and no file, and removes
    // nothing (the window had no output yet), so it leaves no file and no tombstone behind.
    const newer = await planTick(env, cqId, at(day, 6) + 120_000_000);
    expect(newer.envelopes.length).toBeGreaterThan(0);
    await runAll(env, newer.envelopes);
    expect(await countOf('cpu_emptied', 'host-gone')).toBe(0);

    const versionBefore = (await catalog.refresh()).version;
    for (const envelope of older.envelopes) {
      const failure = await executeTask(envelope, env.ctx).catch((error: WeirError) => error);
      expect(failure).toMatchObject({ code: 'CQ_WINDOW_SUPERSEDED', httpStatus: 409 });
    }
    expect((await catalog.refresh()).version).toBe(versionBefore);
    expect(await countOf('cpu_emptied', 'host-gone')).toBe(0);
  });
});

describe('CQ answers', () => {
  it('refuses an answer with rows of NULL time, naming the problem, and commits nothing', async () => {
    const cqId = await createCq(env, 'nulls', at(11), {
      query: `SELECT CASE WHEN host = 'host-1' THEN NULL ELSE time_bucket(INTERVAL '1 hour', time) END AS time,
        host, count(*) AS n FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`,
    });
    const [window] = (await planTick(env, cqId, at(11, 6))).envelopes;
    const failure = await executeTask(window!, env.ctx).catch((error: WeirError) => error);
    expect(failure).toMatchObject({ code: 'CQ_NULL_TIME', httpStatus: 422 });
    expect(await sqlRows(env, 'SELECT count(*)::INT AS n FROM cpu_nulls')).toEqual([{ n: 0 }]);
  });
});
