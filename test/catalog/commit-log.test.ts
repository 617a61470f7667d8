import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CatalogConflictError,
  fileColumnStats,
  type ObjectStore,
  paths,
  TenantCatalog,
  WeirError,
} from '../../catalog/index.js';
import { BACKENDS } from '../helpers/stores.js';
import { addFile, createTable, removeFile } from './fixtures/actions.js';

async function expectCode(promise: Promise<unknown>, code: string, status?: number) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected error ${code}`).toBeInstanceOf(WeirError);
  expect((error as WeirError).code).toBe(code);
  if (status !== undefined) expect((error as WeirError).httpStatus).toBe(status);
  return error as WeirError;
}

describe.each(BACKENDS)('commit log on $name storage', (backend) => {
  let store: ObjectStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await backend.create());
  });
  afterEach(async () => cleanup());

  async function seeded(tenant = 'acme') {
    const catalog = new TenantCatalog(store, tenant);
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    return catalog;
  }

  it('writes one log object per commit, numbered from 1, each naming its version', async () => {
    const catalog = await seeded();
    const second = await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')]);
    expect(second.version).toBe(2);
    const keys: string[] = [];
    for await (const o of store.listAll(paths.catalogKeys.logPrefix(paths.tenantScope('acme'))))
      keys.push(o.key);
    expect(keys).toEqual([
      'tenants/acme/catalog/log/00000000000000000001.json',
      'tenants/acme/catalog/log/00000000000000000002.json',
    ]);
    const record = await catalog.log.readCommit(2);
    expect(record?.version).toBe(2);
    expect(record?.actions[0]).toMatchObject({ op: 'addFile' });
  });

  it('a repeated idempotency key returns the earlier version and commits nothing', async () => {
    const catalog = await seeded();
    const first = await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')], { idempotencyKey: 'task-1' });
    const again = await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')], { idempotencyKey: 'task-1' });
    expect(first.committed).toBe(true);
    expect(again).toMatchObject({ committed: false, version: first.version });
    // A second process that never saw the first commit in memory gets the same answer.
    const other = new TenantCatalog(store, 'acme');
    const fromOther = await other.commit([addFile('acme', 'db', 'cpu', 0, 'f1')], {
      idempotencyKey: 'task-1',
    });
    expect(fromOther).toMatchObject({ committed: false, version: first.version });
    expect((await other.refresh()).version).toBe(first.version);
  });

  it('refuses names that differ from existing ones only in case, reserved column names and unsafe file keys, writing nothing', async () => {
    const catalog = await seeded();
    const version = (await catalog.refresh()).version;
    const unsafe = addFile('acme', 'db', 'cpu', 0, 'ok');
    const dir = unsafe.file.path.slice(0, unsafe.file.path.lastIndexOf('/') + 1);
    for (const [actions, code, mentions] of [
      [[{ op: 'createDatabase', database: 'DB' }], 'NAME_CASE_CONFLICT', 'database db'],
      [createTable('db', 'CPU'), 'NAME_CASE_CONFLICT', 'table db.cpu'],
      [
        [
          { op: 'createDatabase', database: 'two' },
          { op: 'createDatabase', database: 'TWO' },
        ],
        'NAME_CASE_CONFLICT',
        'database two',
      ],
      [
        [{ ...unsafe, file: { ...unsafe.file, path: `${dir}a%2f..%2fb.parquet` } }],
        'INVALID_FILE_PATH',
        '%2f',
      ],
      [[{ ...unsafe, file: { ...unsafe.file, path: `${dir}.parquet` } }], 'INVALID_FILE_PATH', ''],
      // Names the workers' SQL reads as DuckDB's own columns or its helpers, in any case.
      [
        [
          {
            op: 'createTable',
            database: 'db',
            table: 'other',
            columns: [
              { name: 'time', type: 'timestamp', role: 'time' },
              { name: 'File_Row_Number', type: 'int64', role: 'field' },
            ],
          },
        ],
        'RESERVED_COLUMN',
        'File_Row_Number of db.other',
      ],
      [
        [
          {
            op: 'addColumns',
            database: 'db',
            table: 'cpu',
            columns: [{ name: 'file_index', type: 'int64', role: 'field' }],
          },
        ],
        'RESERVED_COLUMN',
        'file_index',
      ],
      [
        [
          {
            op: 'addColumns',
            database: 'db',
            table: 'cpu',
            columns: [{ name: '__WEIR_row', type: 'string', role: 'tag' }],
          },
        ],
        'RESERVED_COLUMN',
        '__WEIR_row',
      ],
    ] as const) {
      const error = await expectCode(catalog.commit(actions as unknown as unknown[]), code);
      expect(error.message).toContain(mentions);
    }
    expect((await catalog.refresh()).version).toBe(version);
  });

  it('a log written before the case and reserved-name rules still loads, both tables included', async () => {
    const catalog = await seeded();
    const head = await catalog.refresh();
    // A commit an older version of Weir made: db.CPU next to db.cpu.
    const record = {
      version: head.version + 1,
      timestamp: head.timestamp + 1,
      meta: {},
      actions: [
        ...createTable('db', 'CPU'),
        {
          op: 'addColumns',
          database: 'db',
          table: 'cpu',
          columns: [{ name: 'file_index', type: 'int64', role: 'field' }],
        },
      ],
    };
    await store.put(
      paths.catalogKeys.log(paths.tenantScope('acme'), record.version),
      new TextEncoder().encode(JSON.stringify(record)),
    );
    const loaded = await new TenantCatalog(store, 'acme').refresh();
    expect(loaded.version).toBe(record.version);
    expect([...loaded.tables.keys()].sort()).toEqual(['db.CPU', 'db.cpu']);
    expect(loaded.tables.get('db.cpu')!.columns.map((c) => c.name)).toContain('file_index');
  });

  it('two commits removing the same file: exactly one wins, the other gets a conflict', async () => {
    const catalog = await seeded();
    const file = addFile('acme', 'db', 'cpu', 0, 'f1');
    await catalog.commit([file]);
    const a = new TenantCatalog(store, 'acme');
    const b = new TenantCatalog(store, 'acme');
    await Promise.all([a.refresh(), b.refresh()]);
    const results = await Promise.allSettled([
      a.commit([removeFile(file), addFile('acme', 'db', 'cpu', 0, 'compacted-a')]),
      b.commit([removeFile(file), addFile('acme', 'db', 'cpu', 0, 'compacted-b')]),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(CatalogConflictError);
    expect((lost[0] as PromiseRejectedResult).reason.code).toBe('FILE_ALREADY_REMOVED');
    const head = await new TenantCatalog(store, 'acme').refresh();
    expect(head.tables.get('db.cpu')!.fileCount).toBe(1);
  });

  it('writers touching different tables both succeed after a lost race', async () => {
    const setup = await seeded();
    await setup.commit(createTable('db', 'mem'));
    const a = new TenantCatalog(store, 'acme');
    const b = new TenantCatalog(store, 'acme');
    await Promise.all([a.refresh(), b.refresh()]);
    // Both start from the same version, so one must lose the put-if-absent and rebase.
    const [ra, rb] = await Promise.all([
      a.commit([addFile('acme', 'db', 'cpu', 1, 'a1')]),
      b.commit([addFile('acme', 'db', 'mem', 1, 'b1')]),
    ]);
    expect(new Set([ra.version, rb.version])).toEqual(new Set([3, 4]));
    const head = await new TenantCatalog(store, 'acme').refresh();
    expect(head.tables.get('db.cpu')!.fileCount).toBe(1);
    expect(head.tables.get('db.mem')!.fileCount).toBe(1);
  });

  it('schema evolves additively; a type clash is refused and nothing is written', async () => {
    const catalog = await seeded();
    await catalog.commit([
      {
        op: 'addColumns',
        database: 'db',
        table: 'cpu',
        columns: [
          { name: 'region', type: 'string', role: 'tag' },
          { name: 'idle', type: 'int64', role: 'field' },
        ],
      },
    ]);
    const table = (await catalog.current()).tables.get('db.cpu')!;
    expect(table.columns.map((c) => c.name)).toEqual(['time', 'host', 'usage', 'region', 'idle']);
    expect(table.sortKey).toEqual(['host', 'region', 'time']);
    // Re-adding an identical column (a second ingest node saw it too) is a no-op.
    const same = await catalog.commit([
      {
        op: 'addColumns',
        database: 'db',
        table: 'cpu',
        columns: [{ name: 'idle', type: 'int64', role: 'field' }],
      },
    ]);
    expect(same.state.tables.get('db.cpu')!.columns).toHaveLength(5);
    const before = (await catalog.refresh()).version;
    const error = await expectCode(
      catalog.commit([
        {
          op: 'addColumns',
          database: 'db',
          table: 'cpu',
          columns: [{ name: 'usage', type: 'string', role: 'field' }],
        },
      ]),
      'TYPE_CONFLICT',
      400,
    );
    expect(error.message).toContain('usage');
    expect(error.message).toContain('float64');
    expect((await catalog.refresh()).version).toBe(before);
    expect(await catalog.log.readCommit(before + 1)).toBeUndefined();
  });

  it('refuses invalid and conflicting actions with codes that name the problem', async () => {
    const catalog = await seeded();
    await expectCode(catalog.commit([{ op: 'createDatabase', database: 'db' }]), 'DATABASE_EXISTS', 409);
    await expectCode(catalog.commit(createTable('db', 'cpu')), 'TABLE_EXISTS', 409);
    await expectCode(catalog.commit(createTable('nope', 'cpu')), 'DATABASE_NOT_FOUND', 404);
    await expectCode(catalog.commit([{ op: 'createDatabase', database: '../etc' }]), 'INVALID_ACTION', 400);
    await expectCode(catalog.commit([]), 'INVALID_ACTION', 400);
    await expectCode(
      catalog.commit([{ op: 'dropTable', database: 'db', table: 'nope' }]),
      'TABLE_NOT_FOUND',
      404,
    );
    const foreign = addFile('other', 'db', 'cpu', 0, 'f1');
    await expectCode(catalog.commit([foreign]), 'INVALID_FILE_PATH', 400);
    const wrongHour = addFile('acme', 'db', 'cpu', 0, 'f1');
    wrongHour.file.maxTime += 3_600_000_000;
    await expectCode(catalog.commit([wrongHour]), 'FILE_OUTSIDE_PARTITION', 400);
    // A file's rows cannot have been committed at or after the commit that adds it.
    const fromFuture = addFile('acme', 'db', 'cpu', 0, 'f0');
    const next = (await catalog.refresh()).version + 1;
    await expectCode(
      catalog.commit([{ ...fromFuture, file: { ...fromFuture.file, sourceVersion: next } }]),
      'INVALID_SOURCE_VERSION',
      400,
    );
    const twice = addFile('acme', 'db', 'cpu', 0, 'f1');
    await catalog.commit([twice]);
    await expectCode(catalog.commit([twice]), 'FILE_EXISTS', 409);
    await catalog.commit([removeFile(twice)]);
    // Data keys are never reused, even after removal: caches of immutable files stay valid.
    await expectCode(catalog.commit([twice]), 'FILE_EXISTS', 409);
    await expectCode(catalog.commit([{ op: 'dropPolicy', id: 'nope' }]), 'POLICY_NOT_FOUND', 404);
    const dup = createTable('db', 'dup');
    (dup[0] as { columns: unknown[] }).columns.push({ name: 'HOST', type: 'string', role: 'tag' });
    await expectCode(catalog.commit(dup), 'DUPLICATE_COLUMN', 400);
  });

  it('time travel by version and by timestamp returns the old schema and file set', async () => {
    let clock = Date.parse('2026-03-02T00:00:00Z');
    const catalog = new TenantCatalog(store, 'acme', { now: () => clock });
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    clock += 60_000;
    const v2 = await catalog.commit([
      addFile('acme', 'db', 'cpu', 0, 'f1'),
      addFile('acme', 'db', 'cpu', 1, 'f2'),
    ]);
    const v2Time = clock;
    clock += 60_000;
    await catalog.commit([
      {
        op: 'addColumns',
        database: 'db',
        table: 'cpu',
        columns: [{ name: 'dc', type: 'string', role: 'tag' }],
      },
      removeFile(addFile('acme', 'db', 'cpu', 0, 'f1')),
      addFile('acme', 'db', 'cpu', 0, 'f3'),
    ]);
    await catalog.checkpoint();
    clock += 60_000;
    await catalog.commit([{ op: 'dropTable', database: 'db', table: 'cpu' }]);

    const fresh = new TenantCatalog(store, 'acme');
    const byVersion = await fresh.at({ version: v2.version });
    const byTime = await fresh.at({ timestamp: new Date(v2Time + 30_000).toISOString() });
    for (const old of [byVersion, byTime]) {
      expect(old.version).toBe(2);
      const cpu = old.tables.get('db.cpu')!;
      expect(cpu.columns.map((c) => c.name)).toEqual(['time', 'host', 'usage']);
      const files = [...cpu.partitions.values()].flatMap((p) => [...p.keys()]).sort();
      expect(files).toEqual([
        addFile('acme', 'db', 'cpu', 0, 'f1').file.path,
        addFile('acme', 'db', 'cpu', 1, 'f2').file.path,
      ]);
    }
    const v3 = await fresh.at({ version: 3 });
    expect(v3.tables.get('db.cpu')!.columns.map((c) => c.name)).toContain('dc');
    expect((await fresh.current()).tables.has('db.cpu')).toBe(false);
    await expectCode(fresh.at({ version: 99 }), 'VERSION_NOT_FOUND', 404);
    await expectCode(fresh.at({ timestamp: '2020-01-01T00:00:00Z' }), 'VERSION_NOT_FOUND', 404);
    await expectCode(fresh.at({ timestamp: 'yesterday-ish' }), 'INVALID_TIMESTAMP', 400);
  });

  it('dropping a table keeps its files as tombstones for expiry, and drops its policies', async () => {
    const catalog = await seeded();
    await catalog.commit([
      addFile('acme', 'db', 'cpu', 0, 'f1'),
      {
        op: 'setPolicy',
        policy: { id: 'keep-30d', kind: 'retention', database: 'db', table: 'cpu', definition: { days: 30 } },
      },
    ]);
    const dropped = await catalog.commit([{ op: 'dropTable', database: 'db', table: 'cpu' }]);
    expect([...dropped.state.tombstones].map((t) => t.path)).toEqual([
      addFile('acme', 'db', 'cpu', 0, 'f1').file.path,
    ]);
    expect(dropped.state.policies.size).toBe(0);
  });

  it('column statistics of a file survive the log and a checkpoint', async () => {
    const catalog = await seeded();
    const action = addFile('acme', 'db', 'cpu', 0, 'f1');
    action.file.columnStats = { usage: { min: 0.5, max: 99.25, nullCount: 3 }, host: { min: 'a', max: 'z' } };
    await catalog.commit([action]);
    await catalog.checkpoint();
    for (const state of [await catalog.current(), await new TenantCatalog(store, 'acme').refresh()]) {
      const file = state.tables.get('db.cpu')!.partitions.get(action.file.partition)!.get(action.file.path)!;
      expect(fileColumnStats(file)).toEqual(action.file.columnStats);
    }
  });

  it('a reader refreshes incrementally and names the version it used', async () => {
    const writer = await seeded();
    const reader = new TenantCatalog(store, 'acme');
    expect((await reader.refresh()).version).toBe(1);
    for (let i = 0; i < 6; i++) await writer.commit([addFile('acme', 'db', 'cpu', i, `f${i}`)]);
    const refreshed = await reader.refresh();
    expect(refreshed.version).toBe(7);
    expect(refreshed.tables.get('db.cpu')!.fileCount).toBe(6);
    // A state handed out earlier is immutable: it still shows its own version.
    const pinned = await reader.at({ version: 3 });
    await writer.commit([addFile('acme', 'db', 'cpu', 10, 'late')]);
    await reader.refresh();
    expect(pinned.tables.get('db.cpu')!.fileCount).toBe(2);
  });

  it('a lost log object is a CATALOG_CORRUPT error, never a shorter head, and no commit forks the log', async () => {
    const writer = await seeded();
    const reader = new TenantCatalog(store, 'acme');
    await writer.commit([addFile('acme', 'db', 'cpu', 0, 'f0')]);
    const atTwo = await reader.refresh();
    expect(atTwo.version).toBe(2);
    for (let hour = 1; hour < 8; hour++)
      await writer.commit([addFile('acme', 'db', 'cpu', hour, `f${hour}`)]);
    const scope = paths.tenantScope('acme');
    const logKeys = async () => {
      const keys: string[] = [];
      for await (const o of store.listAll(paths.catalogKeys.logPrefix(scope))) keys.push(o.key);
      return keys;
    };
    // Version 3 is lost (an operator's delete, a lifecycle rule): versions 4–9 remain.
    await store.delete(paths.catalogKeys.log(scope, 3));
    const before = await logKeys();

    await expectCode(reader.refresh(), 'CATALOG_CORRUPT', 500);
    await expectCode(new TenantCatalog(store, 'acme').refresh(), 'CATALOG_CORRUPT', 500);
    // A writer whose head is from before the loss does not write version 3 again.
    await expectCode(
      writer.log.commit(atTwo, [addFile('acme', 'db', 'cpu', 20, 'g1')]),
      'CATALOG_CORRUPT',
      500,
    );
    expect(await logKeys()).toEqual(before);

    // Two lost in a row are found on a load too (a listing, as a probe sees one ahead only).
    await store.delete(paths.catalogKeys.log(scope, 4));
    await expectCode(new TenantCatalog(store, 'acme').refresh(), 'CATALOG_CORRUPT', 500);
  });

  it("tenants' catalogs are separate: one tenant's commits never show in another's", async () => {
    const a = await seeded('alpha');
    await a.commit([addFile('alpha', 'db', 'cpu', 0, 'f1')]);
    const b = new TenantCatalog(store, 'beta');
    expect((await b.refresh()).version).toBe(0);
    expect((await b.refresh()).databases.size).toBe(0);
  });
});
