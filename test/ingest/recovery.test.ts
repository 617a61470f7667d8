/**
 * The ingest service over WAL directories a crash leaves, and over faults after a request's rows
 * are accepted: a request of several tables lands whole or not at all, keys are marked done only
 * for rows that land, a segment that cannot be staged does not stop start-up, and a column that
 * changes type never mixes in one staging batch. Flush runs are not run: what lands is what the
 * staging batches hold.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalObjectStore, paths, TenantCatalogs } from '../../catalog/index.js';
import type { TableBatch } from '../../services/ingest/batch.js';
import { IdempotencyKeys } from '../../services/ingest/idempotency.js';
import { IngestService, type IngestServiceOptions } from '../../services/ingest/service.js';
import { readStagingBatch } from '../../services/ingest/staging-format.js';
import { WalBrokenError, type WalSegment, WriteAheadLog } from '../../services/ingest/wal.js';
import { encodeWalBatch } from '../../services/ingest/wal-record.js';
import { planRun, type TriggerInput } from '../../services/orchestrator/planner/index.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { cutLast, keyed, legacyKeyField, writeSegmentFile } from './wal-files.js';

const T0 = 1_772_323_200_000_000n;
const TENANT = 'default';

/** Rows of `db.<table>`: one float64 field `v` (or a string `v` when the values are strings). */
function batch(table: string, values: readonly number[] | readonly string[]): TableBatch {
  const time = BigInt64Array.from({ length: values.length }, (_, i) => T0 + BigInt(i));
  const base = { name: 'v', role: 'field', roleDeclared: true } as const;
  if (typeof values[0] === 'string') {
    const bytes = Buffer.from((values as string[]).join(''));
    const offsets = new Int32Array(values.length + 1);
    (values as string[]).forEach((v, i) => {
      offsets[i + 1] = offsets[i]! + Buffer.byteLength(v);
    });
    return {
      database: 'db',
      table,
      rows: values.length,
      time,
      columns: [{ ...base, type: 'string', offsets, data: bytes }],
    };
  }
  return {
    database: 'db',
    table,
    rows: values.length,
    time,
    columns: [{ ...base, type: 'float64', values: Float64Array.from(values as number[]) }],
  };
}

describe('ingest recovery and accepted rows', () => {
  let redis: TestRedis;
  let client: Redis;
  let root: string;
  let walDir: string;
  let store: LocalObjectStore;
  let catalogs: TenantCatalogs;
  let errors: { error: unknown; context: Record<string, unknown> }[];
  const nextId = monotonicFactory();

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'weir-recovery-'));
    walDir = join(root, 'wal');
    store = new LocalObjectStore(join(root, 'objects'));
    catalogs = new TenantCatalogs(store);
    errors = [];
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  async function startService(flushRuns?: IngestServiceOptions['flushRuns']): Promise<IngestService> {
    const service = new IngestService({
      store,
      catalogs,
      redis: client,
      flushRuns: flushRuns ?? { submit: async () => ({ runId: 'run' }), status: async () => 'running' },
      tenants: async () => [TENANT],
      durability: 'wal',
      walDir,
      thresholds: { maxRows: 100_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
      maxTotalBufferBytes: 256 * 1024 * 1024,
      maxStagingBacklog: 64,
      onError: (error, context) => errors.push({ error, context }),
    });
    await service.start();
    return service;
  }

  /** Rows each table's staging batches hold, and the type of `v` in each batch. */
  async function staged(): Promise<{ rows: Record<string, number>; types: Record<string, string[]> }> {
    const rows: Record<string, number> = {};
    const types: Record<string, string[]> = {};
    for await (const object of store.listAll(paths.stagingKeys.prefix(TENANT))) {
      const { meta, table } = readStagingBatch(await store.get(object.key));
      rows[meta.table] = (rows[meta.table] ?? 0) + table.numRows;
      const type = String(table.schema.fields.find((f) => f.name === 'v')?.type);
      types[meta.table] = [...(types[meta.table] ?? []), type];
    }
    return { rows, types };
  }

  /** The header of a new segment of `db.<table>`. */
  const header = (table: string) => ({
    tenant: TENANT,
    database: 'db',
    table,
    batchId: nextId(),
    createdAt: 1,
  });

  /** Writes with the key bound to `request` (by default, one request per key). */
  const write = (service: IngestService, batches: TableBatch[], key: string, request = key) =>
    service.write(TENANT, batches, { idempotency: keyed(key, request), format: 'test' });

  it('a request of several tables cut short by a crash lands nowhere and keeps no key; a finished one lands once', async () => {
    const wal = await WriteAheadLog.open(walDir);
    const segments: WalSegment[] = [];
    /** One request's parts in new segments of its tables (names in creation order), with their markers. */
    const request = (key: string, tables: Record<string, number[]>) => {
      const created = Object.entries(tables).map(([table, values]) => {
        const segment = wal.create(header(table));
        segments.push(segment);
        return { segment, parts: encodeWalBatch(batch(table, values)) };
      });
      wal.append(created, keyed(key));
      return created.map((c) => c.segment.path);
    };
    // Killed after x's part, before y's: x holds a part without its marker, y its header only.
    const [ax, ay] = request('req-cut', { a_x: [1, 2], a_y: [3, 4, 5] });
    // Killed between the two markers: both parts, x's marker, not y's (the last one).
    const [, cy] = request('req-between', { c_x: [1], c_y: [2] });
    request('req-whole', { b_x: [1, 2], b_y: [3, 4, 5] });
    await wal.sync(segments);
    for (const segment of segments) wal.close(segment);
    cutLast(ax!);
    cutLast(ay!, 2);
    cutLast(cy!);

    const service = await startService();
    try {
      expect(readdirSync(walDir).filter((n) => n.endsWith('.wal'))).toEqual([]);
      expect((await staged()).rows).toEqual({ b_x: 2, b_y: 3 });
      // The keys of the requests that did not land are free: their retries write both tables.
      expect(await write(service, [batch('a_x', [1, 2]), batch('a_y', [3, 4, 5])], 'req-cut')).toEqual({
        rows: 5,
        duplicate: false,
      });
      expect(await write(service, [batch('c_x', [1]), batch('c_y', [2])], 'req-between')).toEqual({
        rows: 2,
        duplicate: false,
      });
      // A replay answers the rows its request wrote.
      expect(await write(service, [batch('b_x', [1, 2]), batch('b_y', [3, 4, 5])], 'req-whole')).toEqual({
        rows: 5,
        duplicate: true,
      });
    } finally {
      await service.close();
    }
    expect((await staged()).rows).toEqual({ a_x: 2, a_y: 3, b_x: 2, b_y: 3, c_x: 1, c_y: 1 });
    expect(errors).toEqual([]);
  });

  it('keys recovered from the WAL stay bound to their request; a key of a record older than digests matches any', async () => {
    const wal = await WriteAheadLog.open(walDir);
    // Synced (acknowledged), then killed before its key was marked done: only the WAL knows it landed.
    const bound = wal.create(header('bound'));
    wal.append([{ segment: bound, parts: encodeWalBatch(batch('bound', [1, 2])) }], keyed('req-bound'));
    await wal.sync([bound]);
    wal.close(bound);
    // Left by the version before keys were bound: a whole-request record whose key has no digest.
    const legacy = header('legacy');
    writeSegmentFile(join(walDir, `${legacy.batchId}.wal`), 'WEIRWAL2', legacy, [
      Buffer.concat([
        Buffer.from([0]),
        legacyKeyField('req-legacy'),
        ...encodeWalBatch(batch('legacy', [1])),
      ]),
    ]);

    const service = await startService();
    try {
      expect((await staged()).rows).toEqual({ bound: 2, legacy: 1 });
      await expect(write(service, [batch('bound', [9])], 'req-bound', 'other rows')).rejects.toMatchObject({
        code: 'IDEMPOTENCY_KEY_REUSED',
        httpStatus: 422,
      });
      expect(await write(service, [batch('bound', [1, 2])], 'req-bound')).toEqual({
        rows: 2,
        duplicate: true,
      });
      // Nothing to compare it with: answered as a replay (of its own rows), as every key was before digests.
      expect(await write(service, [batch('legacy', [7])], 'req-legacy', 'other rows')).toEqual({
        rows: 1,
        duplicate: true,
      });
    } finally {
      await service.close();
    }
    expect((await staged()).rows).toEqual({ bound: 2, legacy: 1 });
    expect(errors).toEqual([]);
  });

  it('a leftover segment that cannot be staged is reported and left for an operator; start-up goes on', async () => {
    const wal = await WriteAheadLog.open(walDir);
    // Written before generations kept one type per column: `v` is a float64, then a string.
    const mixed = wal.create(header('mixed'));
    wal.append([{ segment: mixed, parts: encodeWalBatch(batch('mixed', [1])) }], keyed('req-mixed'));
    wal.append([{ segment: mixed, parts: encodeWalBatch(batch('mixed', ['one'])) }]);
    const good = wal.create(header('good'));
    wal.append([{ segment: good, parts: encodeWalBatch(batch('good', [1, 2])) }], keyed('req-good'));
    await wal.sync([mixed, good]);
    wal.close(mixed);
    wal.close(good);

    const service = await startService();
    try {
      expect(errors.map((e) => [String(e.error), e.context])).toEqual([
        [
          expect.stringMatching(/column v changes type between chunks/),
          { segment: mixed.path, stage: 'recovery' },
        ],
      ]);
      expect(existsSync(mixed.path)).toBe(true);
      expect(existsSync(good.path)).toBe(false);
      expect((await staged()).rows).toEqual({ good: 2 });
      // Its rows have not landed, so its key is not done.
      expect((await write(service, [batch('mixed', [1])], 'req-mixed')).duplicate).toBe(false);
      expect((await write(service, [batch('good', [1, 2])], 'req-good')).duplicate).toBe(true);
    } finally {
      await service.close();
    }
  });

  it('a column that changes type (table dropped and re-created) starts a new buffer generation', async () => {
    const service = await startService();
    try {
      await write(service, [batch('retype', [1, 2])], 'retype-1');
      await catalogs.forTenant(TENANT).commit([{ op: 'dropTable', database: 'db', table: 'retype' }]);
      await write(service, [batch('retype', ['a'])], 'retype-2');
    } finally {
      await service.close();
    }
    expect(errors).toEqual([]);
    expect(await staged()).toEqual({ rows: { retype: 3 }, types: { retype: ['Float64', 'Utf8'] } });
    expect(readdirSync(walDir).filter((n) => n.endsWith('.wal'))).toEqual([]);
  });

  it('rows written before a drop never flush into the table created again under its name: their batch is deleted', async () => {
    // Flush requests are planned for real: the planner refuses the rows of the dropped table.
    const planned: { batchId: string; rows: number }[] = [];
    const service = await startService({
      submit: async (trigger) => {
        const flush = trigger as TriggerInput & { batchId: string; rows: number };
        planRun(flush, await catalogs.forTenant(TENANT).refresh());
        const { batchId, rows } = flush;
        planned.push({ batchId, rows });
        return { runId: `run-${batchId}` };
      },
      status: async () => 'running',
    });
    try {
      await write(service, [batch('same', [1.5, 2.5])], 'same-1');
      await catalogs.forTenant(TENANT).commit([{ op: 'dropTable', database: 'db', table: 'same' }]);
      // Through another node: this one's catalog head is a second old by the next write.
      vi.spyOn(Date, 'now').mockReturnValue(Date.now() + 1_500);
      await write(service, [batch('same', [9])], 'same-2');
    } finally {
      await service.close();
    }
    expect(planned.map((p) => p.rows)).toEqual([1]);
    expect(await staged()).toEqual({ rows: { same: 1 }, types: { same: ['Float64'] } });
    // Only the new table's batch awaits its flush: the dropped table's holds no place.
    expect(service.stagingBacklog).toBe(1);
    expect(errors.map((e) => e.context.stage)).toEqual(['flush-discard']);
    expect(String(errors[0]!.error)).toMatch(/its 2 rows were written to db\.same, which was dropped since/);
  });

  it('a batch whose table is dropped while its flush runs is deleted once the run fails, freeing the backlog', async () => {
    let submitted!: () => void;
    const wasSubmitted = new Promise<void>((resolve) => {
      submitted = resolve;
    });
    const service = await startService({
      submit: async () => {
        submitted();
        return { runId: 'run' };
      },
      // The flush's commit refused the rows (FLUSH_TABLE_DROPPED): the run failed.
      status: async () => 'failed',
    });
    try {
      await write(service, [batch('gone', [1, 2, 3])], 'gone-1');
      const realNow = Date.now;
      let skew = 0;
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skew);
      const draining = service.drain(60_000);
      await wasSubmitted;
      await catalogs.forTenant(TENANT).commit([{ op: 'dropTable', database: 'db', table: 'gone' }]);
      skew = 11_000; // past the wait before a flush run's status is asked
      await draining;
      expect(service.stagingBacklog).toBe(0);
    } finally {
      await service.close();
    }
    expect(await staged()).toEqual({ rows: {}, types: {} });
    expect(errors.map((e) => e.context.stage)).toEqual(['flush-discard']);
  });

  describe('faults after the rows are accepted', () => {
    it('a key that fails to be marked once is marked on a second try: its retry is a duplicate', async () => {
      const complete = vi
        .spyOn(IdempotencyKeys.prototype, 'complete')
        .mockRejectedValueOnce(new Error('redis went away'));
      const service = await startService();
      try {
        expect(await write(service, [batch('idem', [1, 2])], 'idem-1')).toEqual({
          rows: 2,
          duplicate: false,
        });
        expect(complete).toHaveBeenCalledTimes(2);
        expect(await write(service, [batch('idem', [1, 2])], 'idem-1')).toEqual({ rows: 2, duplicate: true });
      } finally {
        await service.close();
      }
      expect(errors).toEqual([]);
      expect((await staged()).rows).toEqual({ idem: 2 });
    });

    it('when Redis keeps failing the rows are acknowledged, the failure reported, and the key stays pending', async () => {
      vi.spyOn(IdempotencyKeys.prototype, 'complete').mockRejectedValue(new Error('redis went away'));
      const service = await startService();
      try {
        expect(await write(service, [batch('idem', [1, 2])], 'idem-2')).toEqual({
          rows: 2,
          duplicate: false,
        });
        expect(errors.map((e) => e.context)).toEqual([{ tenant: TENANT, attempt: 4, stage: 'idempotency' }]);
        vi.restoreAllMocks();
        // Not released: a retry is told the request is still in progress instead of writing again.
        await expect(write(service, [batch('idem', [1, 2])], 'idem-2')).rejects.toMatchObject({
          code: 'IDEMPOTENCY_KEY_IN_USE',
        });
      } finally {
        await service.close();
      }
      expect((await staged()).rows).toEqual({ idem: 2 });
    });

    it('a failed WAL sync answers an error, but the buffered rows land once: the key is done', async () => {
      const service = await startService();
      vi.spyOn(WriteAheadLog.prototype, 'sync').mockRejectedValueOnce(new WalBrokenError('fdatasync failed'));
      try {
        await expect(write(service, [batch('idem', [1, 2])], 'idem-3')).rejects.toThrow(WalBrokenError);
        expect(await write(service, [batch('idem', [1, 2])], 'idem-3')).toEqual({ rows: 2, duplicate: true });
      } finally {
        await service.close();
      }
      expect((await staged()).rows).toEqual({ idem: 2 });
    });
  });
});
