import { existsSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventLogWriter,
  type LocalObjectStore,
  type ObjectStore,
  paths,
  readEvents,
  sha256Hex,
  WeirError,
} from '../../catalog/index.js';
import { LOCAL_TEMP_PREFIX } from '../../catalog/store/local.js';
import { ContractError } from '../../proto/index.js';
import { SWEEP_MAX_DELETES } from '../../workers/tasks/expire.js';
import { executeTask, openWorkerDuckDB, outputsChecksum } from '../../workers/tasks/index.js';
import { publish } from '../../workers/tasks/outputs.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../helpers/data-files.js';
import { BACKENDS } from '../helpers/stores.js';
import {
  envelopeOf,
  freshTenant,
  keysUnder,
  liveFilesOf,
  type TestContext,
  taskContext,
  useExecutorEnvironment,
} from './support.js';

const H0 = 'date=2026-03-01/hour=00';
const H1 = 'date=2026-03-01/hour=01';

describe.each(BACKENDS)('maintenance executors on $name', (backend) => {
  let store: ObjectStore;
  let duckdb: DuckDBInstance;
  let ctx: TestContext;
  useExecutorEnvironment(backend, 1, (env) => ({ store, duckdb, ctx } = env));

  /** Two files in hour 0, one in hour 1. */
  async function seed(tenant: string) {
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    const files = await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: [
        { fileId: 'a', rows: [{ time: BASE_US + 1, host: 'x', usage: 1 }] },
        { fileId: 'b', rows: [{ time: BASE_US + 2, host: 'y', usage: 2 }] },
        { fileId: 'c', rows: [{ time: BASE_US + HOUR_US + 3, host: 'x', usage: 3 }] },
      ],
    });
    return { catalog, files };
  }

  function retentionInputs(
    files: Awaited<ReturnType<typeof seed>>['files'],
    cutoffMicros = BASE_US + HOUR_US,
  ) {
    return {
      database: 'db',
      table: 'cpu',
      cutoffMicros,
      partitions: [H0],
      files: files
        .filter((f) => f.partition === H0)
        .map((f) => ({
          path: f.path,
          partition: f.partition,
          sha256: f.sha256,
          rows: f.rows,
          bytes: f.bytes,
        })),
    };
  }

  it('retention removes the listed files in one commit and keeps their objects', async () => {
    const tenant = freshTenant('ret');
    const { catalog, files } = await seed(tenant);
    const version = (await catalog.refresh()).version;
    const envelope = envelopeOf(tenant, 'retention', version, retentionInputs(files));
    const result = await executeTask(envelope, ctx);
    expect(result.wrote.committed).toBe(true);
    expect(result.wrote.commitVersion).toBe(version + 1);
    expect(result.wrote.removed.map((f) => f.path)).toEqual([files[0]!.path, files[1]!.path]);
    expect(result.reads[0]).toMatchObject({ partitions: [H0], catalogVersion: version });
    expect(await liveFilesOf(catalog, 'db', 'cpu', H0)).toEqual([]);
    expect((await liveFilesOf(catalog, 'db', 'cpu', H1)).map((f) => f.path)).toEqual([files[2]!.path]);
    const head = await catalog.refresh();
    expect(head.history.get(envelope.taskId)).toMatchObject({
      operation: 'retention',
      runId: envelope.runId,
    });
    for (const file of files) expect(await store.head(file.path)).toBeDefined();

    const again = await executeTask({ ...envelope, attempt: 2 }, ctx);
    expect(again.wrote).toMatchObject({ committed: false, commitVersion: version + 1 });
    expect((await catalog.refresh()).version).toBe(version + 1);
  });

  it('retention refuses files with rows at or after the cutoff', async () => {
    const tenant = freshTenant('ret');
    const { catalog, files } = await seed(tenant);
    const version = (await catalog.refresh()).version;
    const envelope = envelopeOf(tenant, 'retention', version, retentionInputs(files, BASE_US + 2));
    await expect(executeTask(envelope, ctx)).rejects.toMatchObject({ code: 'RETENTION_NOT_EXPIRED' });
    expect((await catalog.refresh()).version).toBe(version);
  });

  it('expire deletes only the listed removed objects and refuses live ones', async () => {
    const tenant = freshTenant('exp');
    const { catalog, files } = await seed(tenant);
    const removed = await executeTask(
      envelopeOf(tenant, 'retention', (await catalog.refresh()).version, retentionInputs(files)),
      ctx,
    );
    const [a, b, c] = files;
    const version = removed.wrote.commitVersion;

    const live = envelopeOf(tenant, 'expire', version, { paths: [a!.path, c!.path] });
    const refusal = await executeTask(live, ctx).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(WeirError);
    expect((refusal as WeirError).code).toBe('EXPIRE_LIVE_FILE');
    expect(await store.head(a!.path)).toBeDefined();

    const foreign = envelopeOf(tenant, 'expire', version, { paths: ['tenants/other/data/db/cpu/x.parquet'] });
    await expect(executeTask(foreign, ctx)).rejects.toBeInstanceOf(ContractError);

    const result = await executeTask(envelopeOf(tenant, 'expire', version, { paths: [a!.path] }), ctx);
    expect(result.wrote.deleted).toEqual([a!.path]);
    expect(await store.head(a!.path)).toBeUndefined();
    expect(await store.head(b!.path)).toBeDefined(); // removed too, but not listed
    expect(await store.head(c!.path)).toBeDefined();
    // Running it again is harmless.
    const again = await executeTask(envelopeOf(tenant, 'expire', version, { paths: [a!.path] }), ctx);
    expect(again.wrote.deleted).toEqual([a!.path]);
  });

  /** A sweep's inputs; the bounds are instants in ms. */
  const sweepOf = (removedBeforeMs: number, writtenBeforeMs: number) => ({
    sweep: { removedBeforeMs, writtenBeforeMs },
  });
  const HOUR_MS = 3_600_000;

  it('expire sweep deletes expired removals and old never-committed objects, nothing live, young or foreign', async () => {
    const tenant = freshTenant('swp');
    const { catalog, files } = await seed(tenant);
    const removed = await executeTask(
      envelopeOf(tenant, 'retention', (await catalog.refresh()).version, retentionInputs(files)),
      ctx,
    );
    const version = removed.wrote.commitVersion;
    const [a, b, c] = files;
    // Never committed: an attempt's upload that lost its commit, a replay's scratch output, and another tenant's upload.
    const orphan = paths.dataKeys.file(tenant, 'db', 'cpu', paths.parsePartitionPath(H0), 'tsk_dead-0');
    const scratch = paths.scratchKeys.mirror(tenant, 'rpl_old', c!.path);
    const foreign = paths.dataKeys.file(freshTenant('other'), 'db', 'cpu', paths.parsePartitionPath(H0), 'x');
    for (const key of [orphan, scratch, foreign]) await store.put(key, new TextEncoder().encode('bytes'));
    const everything = async () => [
      ...(await keysUnder(store, paths.tenantPrefix(tenant))),
      ...(await keysUnder(store, foreign)),
    ];
    const before = await everything();
    const now = Date.now();

    // Removals inside the window stay; uploads younger than the grace stay.
    const young = await executeTask(
      envelopeOf(tenant, 'expire', version, sweepOf(now - HOUR_MS, now - HOUR_MS)),
      ctx,
    );
    expect(young.wrote.deleted).toEqual([]);
    expect(JSON.parse(young.summaryJson)).toMatchObject({ expired: 0, orphan: 0, scratch: 0, more: false });
    // Bounds in the future do not reach uploads younger than an hour by the worker's clock either.
    const future = await executeTask(
      envelopeOf(tenant, 'expire', version, sweepOf(now - HOUR_MS, now + 10 * HOUR_MS)),
      ctx,
    );
    expect(future.wrote.deleted).toEqual([]);
    expect(await everything()).toEqual(before);

    // A day and an hour later by the worker's clock, with the horizon past the removals.
    const later = { ...ctx, now: () => now + 25 * HOUR_MS };
    const bounds = sweepOf(now + HOUR_MS, now + HOUR_MS);
    const replay = await executeTask(
      envelopeOf(tenant, 'expire', version, bounds, {
        scratchPrefix: paths.scratchKeys.prefix(tenant, 'rpl_sweep'),
      }),
      later,
    );
    expect(JSON.parse(replay.summaryJson)).toMatchObject({ expired: 2, orphan: 1, scratch: 1, replay: true });
    expect(await everything()).toEqual(before);

    const swept = await executeTask(envelopeOf(tenant, 'expire', version, bounds), later);
    expect([...swept.wrote.deleted].sort()).toEqual([a!.path, b!.path, orphan, scratch].sort());
    expect(JSON.parse(swept.summaryJson)).toMatchObject({
      expired: 2,
      orphan: 1,
      scratch: 1,
      deleted: 4,
      more: false,
      catalogVersion: version,
    });
    expect(await store.head(c!.path)).toBeDefined(); // live
    expect(await store.head(foreign)).toBeDefined(); // another tenant's
    expect(await everything()).toEqual(
      before.filter((key) => ![a!.path, b!.path, orphan, scratch].includes(key)),
    );
    expect((await catalog.refresh()).version).toBe(version);
  });

  it('expire sweep checks liveness again before deleting: an upload committed during its listing stays', async () => {
    const tenant = freshTenant('swp');
    const { catalog } = await seed(tenant);
    // An attempt's output, uploaded but not yet committed.
    const [late] = await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      commit: 'none',
      files: [{ fileId: 'late', rows: [{ time: BASE_US + 4, host: 'z', usage: 4 }] }],
    });
    const dataRoot = paths.dataKeys.prefix(tenant);
    // The store commits the upload as soon as the sweep has listed it: the attempt's commit lands in between.
    const committing: ObjectStore = Object.assign(Object.create(store), {
      listAll: async function* (prefix: string, options?: { startAfter?: string }) {
        yield* store.listAll(prefix, options);
        if (prefix === dataRoot) await catalog.commit([{ op: 'addFile', file: late! }]);
      },
    });
    const now = Date.now();
    const result = await executeTask(
      envelopeOf(tenant, 'expire', (await catalog.refresh()).version, sweepOf(now, now + HOUR_MS)),
      { ...ctx, store: committing, now: () => now + 25 * HOUR_MS },
    );
    expect(result.wrote.deleted).toEqual([]);
    expect(await store.head(late!.path)).toBeDefined();
    expect((await liveFilesOf(catalog, 'db', 'cpu', H0)).map((f) => f.path)).toContain(late!.path);
  });

  it('checkpoint writes the state at the task version; a replay writes it under scratch', async () => {
    const tenant = freshTenant('cp');
    const { catalog } = await seed(tenant);
    const version = (await catalog.refresh()).version;
    await catalog.commit([{ op: 'createDatabase', database: 'later' }]);

    const replayPrefix = paths.scratchKeys.prefix(tenant, 'rpl_cp');
    const replayed = await executeTask(
      envelopeOf(tenant, 'checkpoint', version, {}, { scratchPrefix: replayPrefix }),
      ctx,
    );
    expect(await catalog.log.checkpoints.newest()).toBeUndefined();
    expect(replayed.wrote.files.every((f) => f.path.startsWith(replayPrefix))).toBe(true);

    const result = await executeTask(envelopeOf(tenant, 'checkpoint', version, {}), ctx);
    const manifest = await catalog.log.checkpoints.newest();
    expect(manifest?.version).toBe(version);
    expect(result.wrote.files.map((f) => f.path)).toEqual(manifest!.files.map((f) => f.key));
    expect(result.wrote.files.map((f) => f.sha256)).toEqual(manifest!.files.map((f) => f.sha256));
    expect(result.outputsChecksum).toBe(replayed.outputsChecksum);
    expect(result.outputsChecksum).toBe(outputsChecksum(tenant, result.wrote.files));
    // The checkpoint loads back to the same state.
    const loaded = await catalog.log.loadAt(version);
    expect(loaded.tables.get('db.cpu')!.fileCount).toBe(3);
  });

  it('events compaction folds settled batches', async () => {
    const tenant = freshTenant('ev');
    const writer = new EventLogWriter(store, { flushIntervalMs: 5 });
    await Promise.all(
      [1, 2, 3].map((i) =>
        writer.append({
          type: 'task.succeeded',
          tenant,
          idempotencyKey: `k${i}`,
          occurredAt: Date.now(),
          source: 'test',
          payload: { taskId: `t${i}` },
        }),
      ),
    );
    await sleep(5);
    const result = await executeTask(envelopeOf(tenant, 'events-compaction', 0, { settleMs: 0 }), ctx);
    expect(JSON.parse(result.summaryJson)).toMatchObject({ compacted: true, events: 3, generation: 1 });
    const events = await readEvents(store, tenant, 'tasks');
    expect(events).toMatchObject({ compactedEvents: 3, tailEvents: 0 });
  });
});

describe('executor contract', () => {
  let store: ObjectStore;
  let cleanupStore: () => Promise<void>;
  let duckdb: DuckDBInstance;
  let ctx: TestContext;

  beforeAll(async () => {
    ({ store, cleanup: cleanupStore } = await BACKENDS[0]!.create());
    duckdb = await openWorkerDuckDB({ threads: 1 });
    ctx = await taskContext(store, duckdb);
  });
  afterAll(async () => {
    await ctx?.cleanup();
    duckdb?.closeSync();
    await cleanupStore?.();
  });

  it('refuses bad inputs and unknown kinds with ContractError before writing anything', async () => {
    const tenant = freshTenant('bad');
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64' } });
    const [file] = await writeDataFiles({
      store,
      catalog,
      database: 'db',
      table: 'cpu',
      duckdb,
      files: [{ fileId: 'a', rows: [{ time: BASE_US, host: 'x', usage: 1 }] }],
    });
    const before = await keysUnder(store, paths.tenantPrefix(tenant));
    const version = (await catalog.refresh()).version;
    const compaction = {
      database: 'db',
      table: 'cpu',
      partition: H0,
      files: [{ path: file!.path, sha256: file!.sha256, rows: 1, bytes: file!.bytes }],
      columns: [
        { name: 'time', type: 'timestamp', role: 'time' },
        { name: 'host', type: 'string', role: 'tag' },
        { name: 'usage', type: 'float64', role: 'field' },
      ],
      sortKey: ['host', 'time'],
      dedup: false,
      targetRows: 10,
    };
    const cases = [
      envelopeOf(tenant, 'compaction', version, '{not json'),
      envelopeOf(tenant, 'compaction', version, { ...compaction, targetRows: 0 }),
      envelopeOf(tenant, 'compaction', version, { ...compaction, extra: true }),
      envelopeOf(tenant, 'compaction', version, { ...compaction, sortKey: ['time'] }),
      envelopeOf(tenant, 'retention', version, compaction),
      envelopeOf(tenant, 'defragment', version, compaction),
      envelopeOf(tenant, 'expire', version, { paths: [] }),
      envelopeOf(tenant, 'expire', version, { sweep: { removedBeforeMs: 0 } }),
      envelopeOf(tenant, 'expire', version, {
        paths: [file!.path],
        sweep: { removedBeforeMs: 0, writtenBeforeMs: 0 },
      }),
      { ...envelopeOf(tenant, 'noop', version, {}), attempt: 0 },
    ];
    for (const envelope of cases) {
      const error = await executeTask(envelope, ctx).catch((e: unknown) => e);
      expect(error, envelope.inputsJson).toBeInstanceOf(ContractError);
    }
    // A scratch prefix of another tenant is refused too.
    const foreign = envelopeOf(tenant, 'compaction', version, compaction, {
      scratchPrefix: paths.scratchKeys.prefix('other', 'rpl_x'),
    });
    await expect(executeTask(foreign, ctx)).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(await keysUnder(store, paths.tenantPrefix(tenant))).toEqual(before);
    expect((await catalog.refresh()).version).toBe(version);
  });

  it('noop answers an empty result and its wait is abortable', async () => {
    const tenant = freshTenant('noop');
    const result = await executeTask(envelopeOf(tenant, 'noop', 0, { sleepMs: 1 }), ctx);
    expect(result).toMatchObject({ kind: 'noop', reads: [], wrote: { files: [], committed: false } });
    const controller = new AbortController();
    const started = Date.now();
    const pending = executeTask(envelopeOf(tenant, 'noop', 0, { sleepMs: 60_000 }), {
      ...ctx,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('expire sweep on a large backlog (local store)', () => {
  let ctx: TestContext;
  let store: ObjectStore;
  useExecutorEnvironment(BACKENDS.find((b) => b.name === 'local')!, 1, (env) => ({ store, ctx } = env));

  it(`deletes at most ${SWEEP_MAX_DELETES} objects per task, says there is more, and the next run goes on`, async () => {
    const tenant = freshTenant('big');
    const partition = paths.parsePartitionPath('date=2026-03-01/hour=00');
    const keys = Array.from({ length: SWEEP_MAX_DELETES + 5 }, (_, i) =>
      paths.dataKeys.file(tenant, 'db', 'cpu', partition, `tsk_dead-${i}`),
    );
    const bytes = new TextEncoder().encode('x');
    for (let i = 0; i < keys.length; i += 100)
      await Promise.all(keys.slice(i, i + 100).map((k) => store.put(k, bytes)));
    const now = Date.now();
    const later = { ...ctx, now: () => now + 25 * 3_600_000 };
    const sweep = { sweep: { removedBeforeMs: now, writtenBeforeMs: now + 3_600_000 } };
    const first = await executeTask(envelopeOf(tenant, 'expire', 0, sweep, { attempt: 1 }), later);
    expect(first.wrote.deleted).toHaveLength(SWEEP_MAX_DELETES);
    expect(JSON.parse(first.summaryJson)).toMatchObject({ orphan: SWEEP_MAX_DELETES, more: true });
    const second = await executeTask(envelopeOf(tenant, 'expire', 0, sweep, { attempt: 2 }), later);
    expect(second.wrote.deleted).toHaveLength(5);
    expect(JSON.parse(second.summaryJson)).toMatchObject({ orphan: 5, more: false });
    expect(await keysUnder(store, paths.tenantPrefix(tenant))).toEqual([]);
  }, 120_000);

  it('keeps an old upload that an attempt rewrites while the sweep lists (it is about to be committed)', async () => {
    const tenant = freshTenant('rw');
    const key = paths.dataKeys.file(tenant, 'db', 'cpu', paths.parsePartitionPath(H0), 'tsk_retry-0');
    const bytes = new TextEncoder().encode('deterministic output');
    await store.put(key, bytes);
    const fourDaysAgo = new Date(Date.now() - 4 * 24 * 3_600_000);
    await utimes(join((store as LocalObjectStore).root, key), fourDaysAgo, fourDaysAgo);
    // The attempt publishes its (identical) output again once the sweep has listed it as old.
    const rewriting: ObjectStore = Object.assign(Object.create(store), {
      listAll: async function* (prefix: string, options?: { startAfter?: string }) {
        yield* store.listAll(prefix, options);
        if (prefix === paths.dataKeys.prefix(tenant))
          await publish(store, key, bytes, sha256Hex(bytes), async () => false);
      },
    });
    const now = Date.now();
    const sweep = { sweep: { removedBeforeMs: now, writtenBeforeMs: now - 3 * 24 * 3_600_000 } };
    const result = await executeTask(envelopeOf(tenant, 'expire', 0, sweep), { ...ctx, store: rewriting });
    expect(result.wrote.deleted).toEqual([]);
    expect(await store.head(key)).toBeDefined();
    // Without the rewrite, the same sweep deletes it.
    await utimes(join((store as LocalObjectStore).root, key), fourDaysAgo, fourDaysAgo);
    const swept = await executeTask(envelopeOf(tenant, 'expire', 0, sweep, { attempt: 2 }), ctx);
    expect(swept.wrote.deleted).toEqual([key]);
  });

  it('removes temp files that crashed writes left, when old enough, in the tenant only', async () => {
    const tenant = freshTenant('tmp');
    const other = freshTenant('tmpo');
    const root = (store as LocalObjectStore).root;
    const live = paths.dataKeys.file(tenant, 'db', 'cpu', paths.parsePartitionPath(H0), 'tsk_live-0');
    await store.put(live, new TextEncoder().encode('live'));
    const dataDir = join(root, live, '..');
    // What a write killed between its temp file and the rename leaves: in a data partition, in the
    // catalog log, and in another tenant.
    const temps = {
      oldData: join(dataDir, `${LOCAL_TEMP_PREFIX}aaaa`),
      oldLog: join(root, paths.tenantPrefix(tenant), 'catalog', `${LOCAL_TEMP_PREFIX}bbbb`),
      young: join(dataDir, `${LOCAL_TEMP_PREFIX}cccc`),
      foreign: join(root, paths.tenantPrefix(other), `${LOCAL_TEMP_PREFIX}dddd`),
    };
    const fourDaysAgo = new Date(Date.now() - 4 * 24 * 3_600_000);
    for (const [name, file] of Object.entries(temps)) {
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, 'half-written');
      if (name !== 'young') await utimes(file, fourDaysAgo, fourDaysAgo);
    }
    const now = Date.now();
    const sweep = { sweep: { removedBeforeMs: now, writtenBeforeMs: now - 3 * 24 * 3_600_000 } };
    const replay = await executeTask(
      envelopeOf(tenant, 'expire', 0, sweep, { scratchPrefix: paths.scratchKeys.prefix(tenant, 'rpl_tmp') }),
      ctx,
    );
    expect(JSON.parse(replay.summaryJson)).toMatchObject({ incompleteWrites: 0, replay: true });
    expect(existsSync(temps.oldData)).toBe(true);

    const swept = await executeTask(envelopeOf(tenant, 'expire', 0, sweep), ctx);
    expect(JSON.parse(swept.summaryJson)).toMatchObject({ incompleteWrites: 2, deleted: 0 });
    expect(Object.fromEntries(Object.entries(temps).map(([name, file]) => [name, existsSync(file)]))).toEqual(
      {
        oldData: false,
        oldLog: false,
        young: true,
        foreign: true,
      },
    );
    expect(await store.head(live)).toBeDefined();
  });
});
