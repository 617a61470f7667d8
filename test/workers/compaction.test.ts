import type { DuckDBInstance } from '@duckdb/node-api';
import { type Timestamp, TimeUnit } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  CatalogConflictError,
  type FileSpec,
  type ObjectStore,
  paths,
  TenantCatalog,
  TenantCatalogs,
  tableKey,
  WeirError,
} from '../../catalog/index.js';
import { readParquet } from '../../catalog/parquet/index.js';
import { planRun } from '../../services/orchestrator/planner/index.js';
import type { QueryService } from '../../services/query/index.js';
import {
  executeTask,
  openWorkerDuckDB,
  RunCancelledError,
  sqlString,
  type TaskContext,
} from '../../workers/tasks/index.js';
import { BASE_US, createDataTable, type DataRow, writeDataFiles } from '../helpers/data-files.js';
import { BACKENDS } from '../helpers/stores.js';
import {
  compactionInputs,
  envelopeOf,
  freshTenant,
  keysUnder,
  liveFilesOf,
  parquetList,
  queryRows,
  scalar,
  type TestContext,
  useExecutorEnvironment,
  withLocalCopies,
} from './support.js';

const PARTITION = 'date=2026-03-01/hour=00';

/** 200 rows of file `f`: unique (host, region, time) across files; file 0–24 predate `dc` and `note`. */
function rowsOfFile(f: number, evolved: boolean): DataRow[] {
  return Array.from({ length: 200 }, (_, i) => {
    const row: DataRow = {
      time: BASE_US + (i * 50 + f) * 100_000,
      host: `h${i % 5}`,
      region: i % 7 === 0 ? null : `r${i % 3}`,
      usage: i % 11 === 0 ? null : (i * 37 + f) / 8,
      count: BigInt(i * 1000 + f),
      ok: i % 2 === 0,
    };
    if (evolved) {
      row.dc = `dc${f % 2}`;
      row.note = i % 4 === 0 ? null : `n${f}-${i}`;
    }
    return row;
  });
}

/** A table with 50 small files in one partition; columns `dc` (tag) and `note` arrive halfway. */
async function fiftyFiles(
  store: ObjectStore,
  catalog: TenantCatalog,
  duckdb: DuckDBInstance,
): Promise<FileSpec[]> {
  await createDataTable(catalog, 'db', 'cpu', {
    tags: ['host', 'region'],
    fields: { usage: 'float64', count: 'int64', ok: 'bool' },
  });
  const early = await writeDataFiles({
    store,
    catalog,
    database: 'db',
    table: 'cpu',
    duckdb,
    files: Array.from({ length: 25 }, (_, f) => ({ fileId: `early-${f}`, rows: rowsOfFile(f, false) })),
  });
  await catalog.commit([
    {
      op: 'addColumns',
      database: 'db',
      table: 'cpu',
      columns: [
        { name: 'dc', type: 'string', role: 'tag' },
        { name: 'note', type: 'string', role: 'field' },
      ],
    },
  ]);
  const late = await writeDataFiles({
    store,
    catalog,
    database: 'db',
    table: 'cpu',
    duckdb,
    files: Array.from({ length: 25 }, (_, i) => ({
      fileId: `late-${i + 25}`,
      rows: rowsOfFile(i + 25, true),
    })),
  });
  return [...early, ...late];
}

describe.each(BACKENDS)('compaction executor on $name', (backend) => {
  let store: ObjectStore;
  let duckdb: DuckDBInstance;
  let ctx: TestContext;
  useExecutorEnvironment(backend, 2, (env) => ({ store, duckdb, ctx } = env));

  it('merges 50 small files into ceil(N/targetRows) sorted files holding the same rows', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    const inputsWritten = await fiftyFiles(store, catalog, duckdb);
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION, {
      targetRows: 3_000,
    });
    expect(inputs.files).toHaveLength(50);
    expect(inputs.sortKey).toEqual(['host', 'region', 'dc', 'time']);

    const result = await executeTask(envelopeOf(tenant, 'compaction', version, inputs), ctx);

    expect(result.wrote.committed).toBe(true);
    expect(result.wrote.commitVersion).toBe(version + 1);
    expect(result.wrote.files).toHaveLength(Math.ceil(10_000 / 3_000));
    expect(result.wrote.files.map((f) => f.rows)).toEqual([2500, 2500, 2500, 2500]);
    expect(result.wrote.removed.map((f) => f.path)).toEqual(inputs.files.map((f) => f.path));
    expect(result.reads).toEqual([
      expect.objectContaining({
        database: 'db',
        table: 'cpu',
        partitions: [PARTITION],
        catalogVersion: version,
      }),
    ]);
    expect(result.reads[0]!.files).toHaveLength(50);
    expect(JSON.parse(result.summaryJson)).toMatchObject({
      rowsIn: 10_000,
      rowsOut: 10_000,
      duplicatesDropped: 0,
    });
    for (const [i, file] of result.wrote.files.entries()) {
      expect(file.path).toBe(
        paths.dataKeys.file(
          tenant,
          'db',
          'cpu',
          paths.parsePartitionPath(PARTITION),
          `${result.taskId}-${i}`,
        ),
      );
    }

    // The head lists only the outputs, with the statistics of their rows.
    const head = await liveFilesOf(catalog, 'db', 'cpu', PARTITION);
    expect(head.map((f) => f.path).sort()).toEqual(result.wrote.files.map((f) => f.path).sort());
    const outputKeys = result.wrote.files.map((f) => f.path);
    await withLocalCopies(store, outputKeys, async (outputs) => {
      await withLocalCopies(
        store,
        inputsWritten.map((f) => f.path),
        async (originals) => {
          const ins = parquetList(originals);
          const outs = parquetList(outputs);
          const cols = 'time, host, region, dc, usage, count, ok, note';
          expect(await scalar(duckdb, `SELECT count(*) FROM ${outs}`)).toBe(10_000);
          expect(
            await scalar(
              duckdb,
              `SELECT count(*) FROM (SELECT ${cols} FROM ${ins} EXCEPT ALL SELECT ${cols} FROM ${outs})`,
            ),
          ).toBe(0);
          expect(
            await scalar(
              duckdb,
              `SELECT count(*) FROM (SELECT ${cols} FROM ${outs} EXCEPT ALL SELECT ${cols} FROM ${ins})`,
            ),
          ).toBe(0);
          // Output files, in order, are one sorted sequence (the sort key; times are unique here).
          const misplaced = await scalar(
            duckdb,
            `SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY file_index, file_row_number) AS pos,
             row_number() OVER (ORDER BY host, region, dc, time) AS ord FROM ${outs}) WHERE pos <> ord`,
          );
          expect(misplaced).toBe(0);
          // Times are TIMESTAMP (µs, no zone), as ADR 0003 says.
          const types = await queryRows(duckdb, `DESCRIBE SELECT * FROM ${outs}`);
          expect(types.map((t) => [t.column_name, t.column_type])).toEqual([
            ['time', 'TIMESTAMP'],
            ['host', 'VARCHAR'],
            ['region', 'VARCHAR'],
            ['usage', 'DOUBLE'],
            ['count', 'BIGINT'],
            ['ok', 'BOOLEAN'],
            ['dc', 'VARCHAR'],
            ['note', 'VARCHAR'],
          ]);
          const stats = await queryRows(
            duckdb,
            `SELECT file_index, count(*) AS n, epoch_us(min(time)) AS t0, epoch_us(max(time)) AS t1, min(host) AS h0,
             max(usage) AS u1, count(*) - count(region) AS rn, max(count) AS c1 FROM ${outs} GROUP BY ALL ORDER BY 1`,
          );
          for (const [i, file] of head
            .sort((a, b) => outputKeys.indexOf(a.path) - outputKeys.indexOf(b.path))
            .entries()) {
            const s = stats[i]!;
            expect(file.rows).toBe(Number(s.n));
            expect(file.minTime).toBe(Number(s.t0));
            expect(file.maxTime).toBe(Number(s.t1));
            const columnStats = JSON.parse(file.columnStatsJson!);
            expect(columnStats.host.min).toBe(s.h0);
            expect(columnStats.usage.max).toBe(s.u1);
            expect(columnStats.region.nullCount).toBe(Number(s.rn));
            expect(columnStats.count.max).toBe(Number(s.c1));
            expect(columnStats.time).toEqual({ min: file.minTime, max: file.maxTime, nullCount: 0 });
          }
        },
      );
    });

    // Arrow readers (parquet-wasm, the browser path) see time as Timestamp(µs) without a zone.
    const arrow = readParquet(await store.get(outputKeys[0]!));
    const time = arrow.schema.fields.find((f) => f.name === 'time')!.type as Timestamp;
    expect([time.unit, time.timezone]).toEqual([TimeUnit.MICROSECOND, null]);

    // The state pinned at the old version still lists the inputs, and their objects still read.
    const pinned = await liveFilesOf(catalog, 'db', 'cpu', PARTITION, version);
    expect(pinned.map((f) => f.path)).toEqual(inputs.files.map((f) => f.path));
    await withLocalCopies(
      store,
      pinned.map((f) => f.path),
      async (originals) => {
        expect(await scalar(duckdb, `SELECT count(*) FROM ${parquetList(originals)}`)).toBe(10_000);
      },
    );
  });

  it('is deterministic: replays match each other and the real run; a redelivered attempt commits nothing', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    await fiftyFiles(store, catalog, duckdb);
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION, {
      targetRows: 4_000,
    });
    const envelope = envelopeOf(tenant, 'compaction', version, inputs);
    const replay = (id: string) => ({ ...envelope, scratchPrefix: paths.scratchKeys.prefix(tenant, id) });

    const first = await executeTask(replay('rpl_a'), ctx);
    const second = await executeTask(replay('rpl_b'), ctx);
    // Another DuckDB with one thread writes the same bytes.
    const oneThread = await openWorkerDuckDB({ threads: 1 });
    const third = await executeTask(replay('rpl_c'), { ...ctx, duckdb: oneThread });
    oneThread.closeSync();
    expect(first.outputsChecksum).toBe(second.outputsChecksum);
    expect(third.outputsChecksum).toBe(first.outputsChecksum);
    expect(first.wrote).toMatchObject({ committed: false, commitVersion: 0, removed: [] });
    for (const [i, file] of first.wrote.files.entries()) {
      expect(file.path.startsWith(paths.scratchKeys.prefix(tenant, 'rpl_a'))).toBe(true);
      expect(
        Buffer.from(await store.get(file.path)).equals(
          Buffer.from(await store.get(second.wrote.files[i]!.path)),
        ),
      ).toBe(true);
    }
    // Replays commit nothing and write nothing outside scratch.
    expect((await catalog.refresh()).version).toBe(version);
    expect(await keysUnder(store, paths.dataKeys.tablePrefix(tenant, 'db', 'cpu'))).toHaveLength(50);

    const real = await executeTask(envelope, ctx);
    expect(real.wrote.committed).toBe(true);
    expect(real.outputsChecksum).toBe(first.outputsChecksum);

    // Redelivery: same outputs, the commit already landed, nothing new in the log.
    const again = await executeTask({ ...envelope, attempt: 2, attemptId: 'att_second' }, ctx);
    expect(again.wrote.committed).toBe(false);
    expect(again.wrote.commitVersion).toBe(real.wrote.commitVersion);
    expect(again.wrote.files).toEqual(real.wrote.files);
    expect(again.wrote.removed).toEqual(real.wrote.removed);
    expect(again.outputsChecksum).toBe(real.outputsChecksum);
    expect((await catalog.refresh()).version).toBe(real.wrote.commitVersion);

    // A worker that does not know about the first commit (another process) redoes the work
    // and its commit is the no-op.
    const otherProcess = { ...ctx, catalogs: new TenantCatalogs(store) };
    const third2 = await executeTask({ ...envelope, attempt: 3, attemptId: 'att_third' }, otherProcess);
    expect(third2.wrote.committed).toBe(false);
    expect(third2.wrote.files).toEqual(real.wrote.files);

    const live = await liveFilesOf(catalog, 'db', 'cpu', PARTITION);
    expect(live.map((f) => f.path).sort()).toEqual(real.wrote.files.map((f) => f.path).sort());
    expect(live.reduce((sum, f) => sum + f.rows, 0)).toBe(10_000);
    await withLocalCopies(
      store,
      live.map((f) => f.path),
      async (local) => {
        const list = parquetList(local);
        expect(await scalar(duckdb, `SELECT count(*) FROM ${list}`)).toBe(10_000);
        expect(await scalar(duckdb, `SELECT count(DISTINCT (host, region, dc, time)) FROM ${list}`)).toBe(
          10_000,
        );
      },
    );
  });

  it('commits once when two attempts of one task race', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: Array.from({ length: 6 }, (_, f) => ({
        fileId: `f${f}`,
        rows: Array.from({ length: 50 }, (_, i) => ({
          time: BASE_US + (i * 6 + f) * 1000,
          host: `h${i % 3}`,
          usage: i,
        })),
      })),
    });
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION);
    const envelope = envelopeOf(tenant, 'compaction', version, inputs);
    const results = await Promise.all([
      executeTask(envelope, { ...ctx, catalogs: new TenantCatalogs(store) }),
      executeTask({ ...envelope, attempt: 2 }, { ...ctx, catalogs: new TenantCatalogs(store) }),
    ]);
    expect(results.map((r) => r.wrote.committed).sort()).toEqual([false, true]);
    expect(results[0]!.wrote.files).toEqual(results[1]!.wrote.files);
    expect(results[0]!.wrote.commitVersion).toBe(results[1]!.wrote.commitVersion);
    const head = await catalog.refresh();
    expect(head.version).toBe(version + 1);
    expect(head.tables.get(tableKey('db', 'cpu'))!.rowCount).toBe(300);
  });

  it('a cancelled attempt leaves the outputs an attempt still committing then commits', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: ['a', 'b', 'c'].map((host) => ({ fileId: host, rows: [{ time: BASE_US + 5, host, usage: 1 }] })),
    });
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION);
    const envelope = envelopeOf(tenant, 'compaction', version, inputs);
    // Attempt 1 (its job's lock lapsed, so BullMQ redelivered it) is inside its commit: the log
    // write is held until attempt 2 has seen the run cancelled.
    let reachedCommit!: () => void;
    const atCommit = new Promise<void>((resolve) => {
      reachedCommit = resolve;
    });
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held: ObjectStore = Object.create(store);
    held.putIfAbsent = async (key, body) => {
      if (key.includes('/catalog/log/')) {
        reachedCommit();
        await released;
      }
      return store.putIfAbsent(key, body);
    };
    const first = executeTask(envelope, { ...ctx, store: held, catalogs: new TenantCatalogs(held) });
    await atCommit;
    const cancelled = await executeTask(
      { ...envelope, attempt: 2 },
      {
        ...ctx,
        catalogs: new TenantCatalogs(store),
        checkCancelled: async () => {
          throw new RunCancelledError(envelope.runId);
        },
      },
    ).catch((error: unknown) => error);
    expect(cancelled).toBeInstanceOf(RunCancelledError);
    release();
    expect((await first).wrote.committed).toBe(true);

    const live = await liveFilesOf(new TenantCatalog(store, tenant), 'db', 'cpu', PARTITION);
    expect(live).toHaveLength(1);
    expect(await store.head(live[0]!.path)).toMatchObject({ size: live[0]!.bytes });
  });

  it('keeps a file another commit adds to the partition while the compaction runs', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    const rows = (f: number) =>
      Array.from({ length: 100 }, (_, i) => ({
        time: BASE_US + (i * 10 + f) * 1000,
        host: `h${i % 4}`,
        usage: f,
      }));
    await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: Array.from({ length: 5 }, (_, f) => ({ fileId: `f${f}`, rows: rows(f) })),
    });
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION);
    // Another process writes a late file; it commits it once the compaction has fetched its inputs.
    const other = new TenantCatalog(store, tenant);
    const [late] = await writeDataFiles({
      store,
      catalog: other,
      database: 'db',
      table: 'cpu',
      duckdb,
      commit: 'none',
      files: [{ fileId: 'late', rows: rows(7) }],
    });
    const lastInput = inputs.files.at(-1)!.path;
    let committedLate = false;
    const hooked: ObjectStore = Object.create(store, {
      get: {
        value: async (key: string, range?: { offset: number; length?: number }) => {
          const data = await store.get(key, range);
          if (key === lastInput && !committedLate) {
            committedLate = true;
            await other.commit([{ op: 'addFile', file: late! }]);
          }
          return data;
        },
      },
    });
    const result = await executeTask(envelopeOf(tenant, 'compaction', version, inputs), {
      ...ctx,
      store: hooked,
    });
    expect(committedLate).toBe(true);
    expect(result.wrote.committed).toBe(true);
    expect(result.wrote.commitVersion).toBe(version + 2);

    const live = await liveFilesOf(catalog, 'db', 'cpu', PARTITION);
    expect(live.map((f) => f.path).sort()).toEqual(
      [...result.wrote.files.map((f) => f.path), late!.path].sort(),
    );
    await withLocalCopies(
      store,
      live.map((f) => f.path),
      async (local) => {
        const list = parquetList(local);
        expect(await scalar(duckdb, `SELECT count(*) FROM ${list}`)).toBe(600);
        expect(await scalar(duckdb, `SELECT count(DISTINCT (host, time)) FROM ${list}`)).toBe(600);
      },
    );
  });

  it('fails with the catalog conflict when an input is removed meanwhile, and leaves nothing behind', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: Array.from({ length: 3 }, (_, f) => ({
        fileId: `f${f}`,
        rows: [{ time: BASE_US + f, host: 'a', usage: f }],
      })),
    });
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION);
    const other = new TenantCatalog(store, tenant);
    const victim = inputs.files[1]!.path;
    await other.commit([
      { op: 'removeFile', database: 'db', table: 'cpu', partition: PARTITION, path: victim },
    ]);

    const envelope = envelopeOf(tenant, 'compaction', version, inputs);
    const failure = await executeTask(envelope, ctx).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CatalogConflictError);
    expect((failure as CatalogConflictError).code).toBe('FILE_ALREADY_REMOVED');
    const head = await catalog.refresh();
    expect(head.version).toBe(version + 1);
    expect(head.history.get(envelope.taskId)).toBeUndefined();
    const keys = await keysUnder(store, paths.dataKeys.tablePrefix(tenant, 'db', 'cpu'));
    expect(keys.sort()).toEqual(inputs.files.map((f) => f.path).sort());
  });

  it('refuses inputs that are not live at the task version', async () => {
    const tenant = freshTenant();
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    const [a, b] = await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: [
        { fileId: 'a', rows: [{ time: BASE_US, host: 'a', usage: 1 }] },
        { fileId: 'b', rows: [{ time: BASE_US + 1, host: 'a', usage: 2 }] },
      ],
    });
    const { inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION);
    const before = (await catalog.refresh()).version;
    // Pinned at the version before `b` was added.
    const failure = await executeTask(envelopeOf(tenant, 'compaction', before - 1, inputs), ctx).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(WeirError);
    expect((failure as WeirError).code).toBe('INPUT_NOT_LIVE');
    expect((failure as WeirError).message).toContain(b!.path);
    // A stale sha256 is refused the same way.
    const tampered = {
      ...inputs,
      files: [{ ...inputs.files[0]!, sha256: '0'.repeat(64) }, inputs.files[1]!],
    };
    const second = await executeTask(envelopeOf(tenant, 'compaction', before, tampered), ctx).catch(
      (e: unknown) => e,
    );
    expect((second as WeirError).code).toBe('INPUT_NOT_LIVE');
    expect((await catalog.refresh()).version).toBe(before);
    expect(a).toBeDefined();
  });
});

describe('compaction dedup', () => {
  let duckdb: DuckDBInstance;
  let ctx: TestContext;
  useExecutorEnvironment(BACKENDS[0]!, 2, (env) => ({ duckdb, ctx } = env));

  it("keeps the newest file's row for each (tags, time) and keeps distinct tag sets", async () => {
    const tenant = freshTenant('dd');
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host', 'region'], fields: { usage: 'float64' } });
    const t = BASE_US + 5_000_000;
    await writeDataFiles({
      store: ctx.store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: [
        {
          fileId: 'old',
          rows: [
            { time: t, host: 'a', region: 'x', usage: 1 },
            { time: t, host: 'a', region: 'y', usage: 10 },
            { time: t, host: 'b', region: null, usage: 20 },
            { time: t + 1, host: 'a', region: 'x', usage: 30 },
          ],
        },
        {
          fileId: 'mid',
          rows: [
            { time: t, host: 'a', region: 'x', usage: 2 },
            { time: t, host: 'b', region: null, usage: 21 },
          ],
        },
        { fileId: 'new', rows: [{ time: t, host: 'a', region: 'x', usage: 3 }] },
      ],
    });
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION, { dedup: true });
    expect(inputs.files.map((f) => f.path.split('/').at(-1))).toEqual([
      'old.parquet',
      'mid.parquet',
      'new.parquet',
    ]);
    const result = await executeTask(envelopeOf(tenant, 'compaction', version, inputs), ctx);
    expect(JSON.parse(result.summaryJson)).toMatchObject({ rowsIn: 7, rowsOut: 4, duplicatesDropped: 3 });
    await withLocalCopies(
      ctx.store,
      result.wrote.files.map((f) => f.path),
      async (local) => {
        const rows = await queryRows(
          duckdb,
          `SELECT host, region, epoch_us(time) - ${t} AS dt, usage FROM ${parquetList(local)} ORDER BY file_row_number`,
        );
        expect(rows).toEqual([
          { host: 'a', region: 'x', dt: 0n, usage: 3 },
          { host: 'a', region: 'x', dt: 1n, usage: 30 },
          { host: 'a', region: 'y', dt: 0n, usage: 10 },
          { host: 'b', region: null, dt: 0n, usage: 21 },
        ]);
      },
    );
    // Without dedup every row stays (a replay of the same files: the planner plans no single file).
    const plain = await compactionInputs(catalog, 'db', 'cpu', PARTITION, { version });
    const kept = await executeTask(
      {
        ...envelopeOf(tenant, 'compaction', plain.version, plain.inputs),
        scratchPrefix: paths.scratchKeys.prefix(tenant, 'rpl_plain'),
      },
      ctx,
    );
    expect(JSON.parse(kept.summaryJson)).toMatchObject({ rowsIn: 7, rowsOut: 7, duplicatesDropped: 0 });
  });
  /** The rows of written files in file order, as (host, dt from t, usage). */
  const rowsOf = (files: readonly { path: string }[], t: number) =>
    withLocalCopies(
      ctx.store,
      files.map((f) => f.path),
      (local) =>
        queryRows(
          duckdb,
          `SELECT host, epoch_us(time) - ${t} AS dt, usage FROM ${parquetList(local)} ORDER BY file_index, file_row_number`,
        ),
    );
  /** A fresh tenant's table db.cpu (tag host, field usage), and a writer of one file per call. */
  const hostTable = async (prefix: string) => {
    const tenant = freshTenant(prefix);
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    const write = (fileId: string, rows: DataRow[]) =>
      writeDataFiles({
        store: ctx.store,
        catalog,
        database: 'db',
        table: 'cpu',
        duckdb,
        files: [{ fileId, rows }],
      });
    return { tenant, catalog, write, t: BASE_US + 5_000_000 };
  };
  /** Runs a delete of `host = 'z'` rows from `file`, planned at the head. */
  const deleteHostZ = async (
    tenant: string,
    catalog: TenantCatalog,
    file: string,
    taskId?: string,
    context: Partial<TaskContext> = {},
  ) => {
    const state = await catalog.refresh();
    const plan = planRun(
      {
        kind: 'delete',
        tenant,
        logicalTime: new Date(state.timestamp).toISOString(),
        database: 'db',
        table: 'cpu',
        predicate: "(host = 'z')",
        files: [{ path: file, matchedRows: 1 }],
        matchedRows: 1,
      },
      state,
    );
    // The predicate guard has tests of its own; this worker only needs it to let the predicate pass.
    const query = { checkPredicate: async () => {} } as unknown as QueryService;
    const envelope = envelopeOf(tenant, 'delete', state.version, plan.tasks[0]!.inputs, { taskId });
    return { state, result: await executeTask(envelope, { ...ctx, query, ...context }) };
  };

  it('a delete that runs past the time limit of tenant SQL is stopped with a 408 and commits nothing', async () => {
    const { catalog, tenant, write, t } = await hostTable('dt');
    const rows = Array.from({ length: 50_000 }, (_, i) => ({
      time: t + i,
      host: i === 0 ? 'z' : 'k',
      usage: i,
    }));
    const [file] = await write('big', rows);
    const before = await catalog.refresh();
    // 1 ms: the work over 50,000 rows takes longer, wherever the interrupt lands.
    const failure = await deleteHostZ(tenant, catalog, file!.path, undefined, {
      tenantSqlTimeoutMs: 1,
    }).catch((error: unknown) => error);
    expect(failure).toMatchObject({
      code: 'DELETE_TIMEOUT',
      httpStatus: 408,
      details: { path: file!.path, limitMs: 1 },
    });
    expect((failure as Error).message).toContain('(query.timeoutMs)');
    expect((await catalog.refresh()).version).toBe(before.version);
    expect((await liveFilesOf(catalog, 'db', 'cpu', PARTITION)).map((f) => f.path)).toEqual([file!.path]);
    const stored = [];
    for await (const object of ctx.store.listAll(paths.dataKeys.tablePrefix(tenant, 'db', 'cpu')))
      stored.push(object.key);
    expect(stored).toEqual([file!.path]);
  });

  it("keeps the newest commit's row after a plain compaction merged both rows of a key into one file", async () => {
    const { tenant, catalog, write, t } = await hostTable('dd');
    await write('old', [{ time: t, host: 'a', usage: 5 }]);
    await write('new', [{ time: t, host: 'a', usage: 3 }]);
    const plain = await compactionInputs(catalog, 'db', 'cpu', PARTITION);
    const merged = await executeTask(envelopeOf(tenant, 'compaction', plain.version, plain.inputs), ctx);
    // Commit order within the file, not value order; the file is as recent as its newest row.
    expect(await rowsOf(merged.wrote.files, t)).toEqual([
      { host: 'a', dt: 0n, usage: 5 },
      { host: 'a', dt: 0n, usage: 3 },
    ]);
    expect(await liveFilesOf(catalog, 'db', 'cpu', PARTITION)).toEqual([
      expect.objectContaining({ addedVersion: plain.version + 1, sourceVersion: plain.version }),
    ]);

    await write('other', [{ time: t + 1, host: 'b', usage: 7 }]);
    const dedup = await compactionInputs(catalog, 'db', 'cpu', PARTITION, { dedup: true });
    const result = await executeTask(envelopeOf(tenant, 'compaction', dedup.version, dedup.inputs), ctx);
    expect(JSON.parse(result.summaryJson)).toMatchObject({ rowsIn: 3, rowsOut: 2, duplicatesDropped: 1 });
    expect(await rowsOf(result.wrote.files, t)).toEqual([
      { host: 'a', dt: 0n, usage: 3 },
      { host: 'b', dt: 1n, usage: 7 },
    ]);
  });

  it("a delete's rewrite of an older file does not make its rows win over a newer file's", async () => {
    const { tenant, catalog, write, t } = await hostTable('dd');
    const [a] = await write('a', [
      { time: t, host: 'k', usage: 1 },
      { time: t, host: 'z', usage: 9 },
    ]);
    const aVersion = (await catalog.refresh()).version;
    await write('b', [{ time: t, host: 'k', usage: 2 }]);
    const { state, result: deleted } = await deleteHostZ(tenant, catalog, a!.path);
    expect(deleted.wrote.committed).toBe(true);
    const rewritten = (await liveFilesOf(catalog, 'db', 'cpu', PARTITION)).find(
      (f) => f.path === deleted.wrote.files[0]!.path,
    );
    expect(rewritten).toMatchObject({ addedVersion: state.version + 1, sourceVersion: aVersion });

    const dedup = await compactionInputs(catalog, 'db', 'cpu', PARTITION, { dedup: true });
    expect(dedup.inputs.files.map((f) => f.path)).toEqual([
      rewritten!.path,
      expect.stringMatching(/\/b\.parquet$/),
    ]);
    const result = await executeTask(envelopeOf(tenant, 'compaction', dedup.version, dedup.inputs), ctx);
    expect(await rowsOf(result.wrote.files, t)).toEqual([{ host: 'k', dt: 0n, usage: 2 }]);
  });

  it("keeps a key's newest row after a split compaction's output was rewritten by a delete", async () => {
    const { tenant, catalog, write, t } = await hostTable('ds');
    await write('old', [
      { time: t, host: 'a', usage: 1 },
      { time: t, host: 'k', usage: 5 },
    ]);
    await write('new', [
      { time: t, host: 'k', usage: 3 },
      { time: t, host: 'y', usage: 8 },
      { time: t, host: 'z', usage: 9 },
    ]);
    // A plain compaction into two files: cut evenly it would put k's old row in the first file
    // and its new row in the second, two equally recent files ordered by their paths only.
    const plain = await compactionInputs(catalog, 'db', 'cpu', PARTITION, { targetRows: 3 });
    const compacted = await executeTask(
      envelopeOf(tenant, 'compaction', plain.version, plain.inputs, { taskId: `tsk_${'f'.repeat(32)}` }),
      ctx,
    );
    expect(compacted.wrote.files.map((f) => f.rows)).toEqual([3, 2]);
    // A delete rewrites the file holding z; its task id sorts before the compaction's.
    await deleteHostZ(tenant, catalog, compacted.wrote.files.at(-1)!.path, `tsk_${'0'.repeat(32)}`);
    const dedup = await compactionInputs(catalog, 'db', 'cpu', PARTITION, { dedup: true });
    const result = await executeTask(envelopeOf(tenant, 'compaction', dedup.version, dedup.inputs), ctx);
    expect(await rowsOf(result.wrote.files, t)).toEqual([
      { host: 'a', dt: 0n, usage: 1 },
      { host: 'k', dt: 0n, usage: 3 },
      { host: 'y', dt: 0n, usage: 8 },
    ]);
  });
});

describe('compaction of larger partitions', () => {
  let duckdb: DuckDBInstance;
  let ctx: TestContext;
  useExecutorEnvironment(BACKENDS[0]!, 2, (env) => ({ duckdb, ctx } = env));

  it('splits 360K rows into sorted files of consecutive rows, the same bytes with 1 or 2 threads', async () => {
    const tenant = freshTenant('big');
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64', n: 'int64' } });
    // 37K (host, time) keys of ~10 rows each, in every input file, with two values of usage and
    // fully identical rows: only the tie-breakers order rows within a key, and they must be total.
    const sql = (
      f: number,
    ) => `SELECT TIMESTAMP '2026-03-01 00:00:00' + to_microseconds((i * 7919) % 37000) AS time,
      'h' || (i % 37) AS host, ((i * 31) % 2000) / 10 AS usage, (i % 5)::BIGINT AS n
      FROM range(${f * 120_000}, ${(f + 1) * 120_000}) r(i)`;
    await writeDataFiles({
      store: ctx.store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: [0, 1, 2].map((f) => ({ fileId: `f${f}`, sql: sql(f) })),
    });
    const { version, inputs } = await compactionInputs(catalog, 'db', 'cpu', PARTITION, {
      targetRows: 100_000,
    });
    const envelope = envelopeOf(tenant, 'compaction', version, inputs);
    const replay = await executeTask(
      { ...envelope, scratchPrefix: paths.scratchKeys.prefix(tenant, 'rpl_big') },
      ctx,
    );
    const oneThread = await openWorkerDuckDB({ threads: 1 });
    try {
      const result = await executeTask(envelope, { ...ctx, duckdb: oneThread });
      expect(result.outputsChecksum).toBe(replay.outputsChecksum);
      // Cut near every 90K rows, each cut moved past its (host, time) group of ~10 rows.
      const sizes = result.wrote.files.map((f) => f.rows);
      expect(sizes.reduce((a, b) => a + b)).toBe(360_000);
      expect(sizes.every((rows) => Math.abs(rows - 90_000) < 40)).toBe(true);
      await withLocalCopies(
        ctx.store,
        result.wrote.files.map((f) => f.path),
        async (outputs) => {
          await withLocalCopies(
            ctx.store,
            inputs.files.map((f) => f.path),
            async (originals) => {
              const outs = parquetList(outputs);
              const ins = parquetList(originals);
              const misplaced = await scalar(
                duckdb,
                `SELECT count(*) FROM (SELECT (host, time) AS cur,
                   lag((host, time)) OVER (ORDER BY file_index, file_row_number) AS prev FROM ${outs})
                 WHERE cur < prev`,
              );
              expect(misplaced).toBe(0);
              // No (host, time) has rows in two files.
              const straddling = await scalar(
                duckdb,
                `SELECT count(*) FROM (SELECT host, time FROM ${outs} GROUP BY host, time HAVING count(DISTINCT file_index) > 1)`,
              );
              expect(straddling).toBe(0);
              // Rows of one (host, time) keep the input order (file, then row): commit order.
              const inOrder = (files: string) =>
                `SELECT host, time, list((usage, n) ORDER BY file_index, file_row_number) AS seq FROM ${files} GROUP BY host, time`;
              expect(
                await scalar(duckdb, `SELECT count(*) FROM (${inOrder(ins)} EXCEPT ${inOrder(outs)})`),
              ).toBe(0);
              expect(await scalar(duckdb, `SELECT count(*) FROM (FROM ${ins} EXCEPT ALL FROM ${outs})`)).toBe(
                0,
              );
              expect(await scalar(duckdb, `SELECT count(*) FROM (FROM ${outs} EXCEPT ALL FROM ${ins})`)).toBe(
                0,
              );
              const groups = await queryRows(
                duckdb,
                `SELECT row_group_num_rows AS n FROM parquet_metadata(${sqlString(outputs[0]!)}) WHERE column_id = 0`,
              );
              expect(groups.map((g) => Number(g.n))).toEqual([sizes[0]]);
            },
          );
        },
      );
    } finally {
      oneThread.closeSync();
    }
  });
});
