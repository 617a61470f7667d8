import { Table } from 'apache-arrow';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bodyBytes,
  liveFiles,
  type ObjectStore,
  paths,
  type TenantActionInput,
  TenantCatalog,
  type TenantState,
  WeirError,
} from '../../catalog/index.js';
import { tenantStateFromTables, tenantStateToTables } from '../../catalog/tenant/checkpoint-codec.js';
import { BACKENDS } from '../helpers/stores.js';
import { addFile, createTable, removeFile } from './fixtures/actions.js';
import { describeState } from './state-description.js';

/** A random step: the generator draws an intent, the model aims it at entities that exist. */
type Intent =
  | { kind: 'createDb' | 'dropDb' | 'createTable' | 'dropTable' | 'removeFile' | 'checkpoint'; pick: number }
  | { kind: 'addColumn'; pick: number; col: number; type: 'int64' | 'string' }
  | { kind: 'addFiles'; pick: number; hours: number[]; source: number | null }
  | { kind: 'policy'; pick: number; id: number };

const pick = fc.nat(1000);
const intent: fc.Arbitrary<Intent> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('createDb' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dropDb' as const), pick }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('createTable' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dropTable' as const), pick }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('addColumn' as const),
      pick,
      col: fc.nat(3),
      type: fc.constantFrom('int64' as const, 'string' as const),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('addFiles' as const),
      pick,
      hours: fc.array(fc.nat(47), { minLength: 1, maxLength: 3 }),
      // A rewrite's source version (1…head, sometimes the commit's own: refused), or none.
      source: fc.option(fc.nat(1000)),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('removeFile' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('policy' as const), pick, id: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('checkpoint' as const), pick }) },
);

let fileCounter = 0;
let nameCounter = 0;
const at = <T>(items: T[], i: number): T | undefined =>
  items.length === 0 ? undefined : items[i % items.length];

/** Turns an intent into actions against the current head; a few are invalid on purpose. */
function toActions(step: Intent, head: TenantState): TenantActionInput[] {
  const dbs = [...head.databases.keys()];
  const tables = [...head.tables.values()];
  const table = at(tables, step.pick);
  const files = tables.flatMap((t) => [...liveFiles(t)]);
  switch (step.kind) {
    case 'createDb':
      return [{ op: 'createDatabase', database: `db${nameCounter++}` }];
    case 'dropDb':
      return [{ op: 'dropDatabase', database: at(dbs, step.pick) ?? 'missing' }];
    case 'createTable':
      return createTable(at(dbs, step.pick) ?? 'missing', `t${nameCounter++}`);
    case 'dropTable':
      return [{ op: 'dropTable', database: table?.database ?? 'missing', table: table?.name ?? 'missing' }];
    case 'addColumn':
      return [
        {
          op: 'addColumns',
          database: table?.database ?? 'missing',
          table: table?.name ?? 'missing',
          columns: [
            { name: `c${step.col}`, type: step.type, role: step.type === 'string' ? 'tag' : 'field' },
          ],
        },
      ];
    case 'addFiles':
      return step.hours.map((h) => {
        const action = addFile(
          'prop',
          table?.database ?? 'missing',
          table?.name ?? 'missing',
          h,
          `f${fileCounter++}`,
        );
        if (step.source === null) return action;
        return { ...action, file: { ...action.file, sourceVersion: 1 + (step.source % (head.version + 1)) } };
      });
    case 'removeFile': {
      const file = at(files, step.pick);
      return file
        ? [
            {
              op: 'removeFile',
              database: file.database,
              table: file.table,
              partition: file.partition,
              path: file.path,
            },
          ]
        : [{ op: 'dropPolicy', id: 'missing' }];
    }
    case 'policy':
      return [
        {
          op: 'setPolicy',
          policy: {
            id: `p${step.id}`,
            kind: 'retention',
            database: at(dbs, step.pick) ?? 'missing',
            definition: { days: step.id + 1 },
          },
        },
      ];
    case 'checkpoint':
      return [];
  }
}

describe.each(BACKENDS)('checkpoints on $name storage', (backend) => {
  let store: ObjectStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await backend.create());
  });
  afterEach(async () => cleanup());

  it('property: the state at every version is the same from the log alone and from checkpoint + log', async () => {
    const runs = backend.name === 'local' ? 40 : 8;
    await fc.assert(
      fc.asyncProperty(fc.array(intent, { minLength: 10, maxLength: 60 }), async (steps) => {
        const { store: runStore, cleanup: runCleanup } = await backend.create();
        try {
          let clock = Date.parse('2026-03-05T00:00:00Z');
          const writer = new TenantCatalog(runStore, 'prop', { now: () => (clock += 1000) });
          const byVersion = new Map<number, ReturnType<typeof describeState>>();
          const seed = await writer.commit([
            { op: 'createDatabase', database: 'db' },
            ...createTable('db', 'seed'),
          ]);
          byVersion.set(1, describeState(seed.state));
          for (const step of steps) {
            if (step.kind === 'checkpoint') {
              const head = await writer.current();
              if (head.version > 0) await writer.checkpoint(head);
              continue;
            }
            const actions = toActions(step, await writer.current());
            try {
              const { state } = await writer.commit(actions);
              byVersion.set(state.version, describeState(state));
            } catch (error) {
              if (!(error instanceof WeirError) || error.httpStatus >= 500) throw error;
            }
          }
          const head = await writer.current();
          if (head.version > 0) await writer.checkpoint(head);
          // Every version, read back both ways, equals what the writer saw when it committed.
          for (const [version, expected] of byVersion) {
            const fromLogOnly = await new TenantCatalog(runStore, 'prop').log.catchUp(
              new TenantCatalog(runStore, 'prop').log.emptyState(),
              version,
            );
            const fromCheckpoint = await new TenantCatalog(runStore, 'prop').log.loadAt(version);
            expect(describeState(fromLogOnly)).toEqual(expected);
            expect(describeState(fromCheckpoint)).toEqual(expected);
          }
        } finally {
          await runCleanup();
        }
      }),
      { numRuns: runs },
    );
  }, 300_000);

  it('a checkpoint interrupted before its manifest changes nothing a reader sees; the next one succeeds', async () => {
    const catalog = new TenantCatalog(store, 'acme');
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')]);
    const first = await catalog.checkpoint();
    await catalog.commit([addFile('acme', 'db', 'cpu', 1, 'f2')]);
    const head = await catalog.current();

    // Interrupt a checkpoint of version 3: its Parquet files are half written, no manifest.
    const failing = Object.create(store) as ObjectStore;
    let puts = 0;
    failing.put = async (key, body) => {
      if (++puts === 3) throw new Error('power cut');
      const bytes = bodyBytes(body);
      return store.put(key, puts === 2 ? bytes.subarray(0, Math.floor(bytes.length / 2)) : bytes);
    };
    failing.putIfAbsent = async () => {
      throw new Error('never reached');
    };
    const crashing = new TenantCatalog(failing, 'acme');
    await expect(crashing.checkpoint(head)).rejects.toThrow('power cut');

    const reader = new TenantCatalog(store, 'acme');
    const seen = await reader.refresh();
    expect(describeState(seen)).toEqual(describeState(head));
    expect(await reader.log.checkpoints.newest()).toMatchObject({ version: first.version });

    const next = await catalog.checkpoint();
    expect(next.version).toBe(3);
    const afterRetry = await new TenantCatalog(store, 'acme').log.loadAt(3);
    expect(describeState(afterRetry)).toEqual(describeState(head));
  });

  it('a checkpoint whose file is damaged or missing is never read as truth: loads fall back to an older one and the log', async () => {
    const catalog = new TenantCatalog(store, 'acme');
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')]);
    const older = await catalog.checkpoint();
    await catalog.commit([addFile('acme', 'db', 'cpu', 1, 'f2')]);
    const newest = await catalog.checkpoint();
    await catalog.commit([addFile('acme', 'db', 'cpu', 2, 'f3')]);
    const head = await catalog.current();
    const atNewest = describeState(await catalog.at({ version: newest.version }));

    const filesEntry = newest.files.find((f) => f.table === 'files')!;
    await store.put(filesEntry.key, new Uint8Array([1, 2, 3]));
    const damaged = new TenantCatalog(store, 'acme');
    expect(describeState(await damaged.refresh())).toEqual(describeState(head));
    expect(describeState(await damaged.at({ version: newest.version }))).toEqual(atNewest);

    // With the older checkpoint's file gone as well, the log alone still holds every version.
    await store.delete(newest.files.find((f) => f.table === 'files')!.key);
    await store.delete(older.files.find((f) => f.table === 'tables')!.key);
    const bare = new TenantCatalog(store, 'acme');
    expect(describeState(await bare.refresh())).toEqual(describeState(head));
    expect(describeState(await bare.at({ version: newest.version }))).toEqual(atNewest);
  });

  it('a checkpoint whose manifest is damaged, of a newer format or names foreign files is passed over', async () => {
    const catalog = new TenantCatalog(store, 'acme');
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')]);
    const older = await catalog.checkpoint();
    await catalog.commit([addFile('acme', 'db', 'cpu', 1, 'f2')]);
    const newest = await catalog.checkpoint();
    await catalog.commit([addFile('acme', 'db', 'cpu', 2, 'f3')]);
    const head = describeState(await catalog.current());
    const atNewest = describeState(await catalog.at({ version: newest.version }));
    const manifestKey = paths.catalogKeys.checkpointManifest(paths.tenantScope('acme'), newest.version);
    const text = JSON.stringify(newest);
    const foreign = {
      ...newest,
      files: newest.files.map((f, i) => (i === 0 ? { ...f, key: 'tenants/other/catalog/x.parquet' } : f)),
    };
    for (const damage of [
      text.slice(0, text.length >> 1),
      JSON.stringify({ ...newest, format: 2 }),
      JSON.stringify({ ...newest, files: newest.files.map(({ key: _key, ...rest }) => rest) }),
      JSON.stringify(foreign),
    ]) {
      await store.put(manifestKey, new TextEncoder().encode(damage));
      const reader = new TenantCatalog(store, 'acme');
      expect(describeState(await reader.refresh()), damage).toEqual(head);
      expect(describeState(await reader.at({ version: newest.version }))).toEqual(atNewest);
      expect(await reader.log.checkpoints.newest()).toMatchObject({ version: older.version });
    }
  });

  it('writing a checkpoint of a version that has one again, with other bytes, leaves the first intact', async () => {
    const catalog = new TenantCatalog(store, 'acme');
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    await catalog.commit([addFile('acme', 'db', 'cpu', 0, 'f1')]);
    const first = await catalog.checkpoint();
    const head = await catalog.current();
    // A retried checkpoint task after a deploy that changed the encoding: same version, new bytes.
    const tables = tenantStateToTables(head);
    const files = tables.files!;
    const newer = new Table({
      ...Object.fromEntries(files.schema.fields.map((f) => [f.name, files.getChild(f.name)!])),
      extra: files.getChild('path')!,
    });
    const again = await catalog.log.checkpoints.write(head.version, head.timestamp, {
      ...tables,
      files: newer,
    });
    expect(again).toEqual(first);
    for (const file of first.files) {
      const bytes = await store.get(file.key);
      expect(bytes.length).toBe(file.bytes);
    }
    expect(describeState(await new TenantCatalog(store, 'acme').refresh())).toEqual(describeState(head));
  });

  it('a checkpoint from before files carried a source version loads, every file without one', async () => {
    const catalog = new TenantCatalog(store, 'acme');
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')]);
    const f1 = addFile('acme', 'db', 'cpu', 0, 'f1');
    await catalog.commit([f1, addFile('acme', 'db', 'cpu', 0, 'f2')]);
    const rewrite = addFile('acme', 'db', 'cpu', 0, 'f3');
    const { state } = await catalog.commit([
      removeFile(f1),
      { ...rewrite, file: { ...rewrite.file, sourceVersion: 2 } },
    ]);
    const tables = tenantStateToTables(state);
    const files = tables.files!;
    const withoutColumn = new Table(
      Object.fromEntries(
        files.schema.fields
          .filter((f) => f.name !== 'source_version')
          .map((f) => [f.name, files.getChild(f.name)!]),
      ),
    );
    const old = tenantStateFromTables('acme', { ...tables, files: withoutColumn }, state);
    const expected = describeState(state);
    for (const table of expected.tables)
      table.files = table.files.map(({ sourceVersion: _, ...file }) => file);
    expect(describeState(old)).toEqual(expected);
    // With the column, the source version comes back.
    expect(describeState(tenantStateFromTables('acme', tables, state))).toEqual(describeState(state));
  });

  it('checkpointing the same state twice gives identical bytes (deterministic snapshots)', async () => {
    const catalog = new TenantCatalog(store, 'acme', { now: () => Date.parse('2026-03-05T00:00:00Z') });
    await catalog.commit([
      { op: 'createDatabase', database: 'db' },
      ...createTable('db', 'cpu'),
      addFile('acme', 'db', 'cpu', 0, 'f1'),
    ]);
    const a = await catalog.checkpoint();
    const b = await new TenantCatalog(store, 'acme').checkpoint();
    expect(b.files.map((f) => f.sha256)).toEqual(a.files.map((f) => f.sha256));
  });
});
