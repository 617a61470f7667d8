import type { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { type ObjectStore, paths, tableKey, WeirError } from '../../catalog/index.js';
import { tableOfBatch } from '../../services/ingest/arrow.js';
import type { TableBatch } from '../../services/ingest/batch.js';
import { encodeStrings } from '../../services/ingest/decode/utf8.js';
import { encodeStagingBatch } from '../../services/ingest/staging-format.js';
import { type PlannedTask, planRun } from '../../services/orchestrator/index.js';
import { executeTask } from '../../workers/tasks/index.js';
import { BASE_US, createDataTable, HOUR_US } from '../helpers/data-files.js';
import { BACKENDS } from '../helpers/stores.js';
import {
  envelopeOf,
  freshTenant,
  keysUnder,
  parquetList,
  queryRows,
  type TestContext,
  useExecutorEnvironment,
  withLocalCopies,
} from './support.js';

/** Rows over three hours, hosts out of order, a missing value and an int column. */
function batchOf(rows: number): TableBatch {
  const time = new BigInt64Array(rows);
  const host: string[] = [];
  const usage = new Float64Array(rows);
  const count = new BigInt64Array(rows);
  const valid = new Uint8Array(rows).fill(1);
  for (let i = 0; i < rows; i++) {
    time[i] = BigInt(BASE_US + ((i * 7919) % 3) * HOUR_US + i);
    host.push(`h${(rows - i) % 5}`);
    usage[i] = i / 2;
    count[i] = BigInt(i);
  }
  valid[3] = 0;
  return {
    database: 'db',
    table: 'cpu',
    rows,
    time,
    columns: [
      { name: 'host', role: 'tag', roleDeclared: true, type: 'string', ...encodeStrings(host) },
      { name: 'usage', role: 'field', roleDeclared: true, type: 'float64', values: usage, valid },
      { name: 'count', role: 'field', roleDeclared: true, type: 'int64', values: count },
    ],
  };
}

describe.each(BACKENDS)('flush executor on $name', (backend) => {
  let store: ObjectStore;
  let duckdb: DuckDBInstance;
  let ctx: TestContext;
  useExecutorEnvironment(backend, 1, (env) => ({ store, duckdb, ctx } = env));

  /** A table, a staged batch of `rows` rows, and the planned flush task for it. */
  async function stage(tenant: string, rows: number) {
    const catalog = ctx.catalogs.forTenant(tenant);
    await createDataTable(catalog, 'db', 'cpu', {
      tags: ['host'],
      fields: { usage: 'float64', count: 'int64', note: 'string' },
    });
    const batchId = '01JZ0000000000000000000001';
    const bytes = Buffer.concat(
      await encodeStagingBatch([tableOfBatch(batchOf(rows))], {
        tenant,
        database: 'db',
        table: 'cpu',
        batchId,
        sealedAt: 1,
      }),
    );
    await store.put(paths.stagingKeys.batch(tenant, batchId), bytes);
    const state = await catalog.refresh();
    const plan = planRun(
      {
        kind: 'flush',
        tenant,
        logicalTime: '2026-03-01T00:00:00Z',
        database: 'db',
        table: 'cpu',
        batchId,
        rows,
        bytes: bytes.byteLength,
        tableVersion: state.tables.get(tableKey('db', 'cpu'))!.createdVersion,
      },
      state,
    );
    const task = plan.tasks[0] as PlannedTask & { kind: 'flush' };
    const envelope = envelopeOf(tenant, 'flush', state.version, task.inputs, { taskId: task.taskId });
    return { catalog, envelope, task, stagingKey: paths.stagingKeys.batch(tenant, batchId) };
  }

  it('writes sorted files per hour, commits them once with the task id, and deletes the staging batch', async () => {
    const tenant = freshTenant();
    const { catalog, envelope, stagingKey } = await stage(tenant, 3_000);
    const result = await executeTask(envelope, ctx);
    expect(result.wrote.committed).toBe(true);
    expect(result.wrote.files.map((f) => f.partition).sort()).toEqual([
      'date=2026-03-01/hour=00',
      'date=2026-03-01/hour=01',
      'date=2026-03-01/hour=02',
    ]);
    expect(result.wrote.files.every((f) => f.path.includes(envelope.taskId))).toBe(true);
    expect(await store.head(stagingKey)).toBeUndefined();
    const state = await catalog.refresh();
    expect(state.history.get(envelope.taskId)?.version).toBe(result.wrote.commitVersion);
    expect(state.tables.get(tableKey('db', 'cpu'))!.rowCount).toBe(3_000);

    const rows = await withLocalCopies(
      store,
      result.wrote.files.map((f) => f.path),
      (local) =>
        queryRows(
          duckdb,
          `SELECT count(*) AS n, count(usage) AS usage, sum("count") AS total, count(DISTINCT host) AS hosts, bool_and(note IS NULL) AS no_note FROM ${parquetList(local)}`,
        ),
    );
    expect(rows[0]).toEqual({ n: 3_000n, usage: 2_999n, total: 4_498_500n, hosts: 5n, no_note: true });
    // Each file is sorted by (host, time) and lies inside its partition's hour.
    for (const file of result.wrote.files) {
      const [check] = await withLocalCopies(store, [file.path], (local) =>
        queryRows(
          duckdb,
          `SELECT bool_and(ok) AS sorted, min(time) AS lo, max(time) AS hi FROM (SELECT time, coalesce((host, time) >= lag((host, time)) OVER (), true) AS ok FROM ${parquetList(local)})`,
        ),
      );
      expect(check!.sorted).toBe(true);
      const hour = paths.parsePartitionPath(file.partition).hour!;
      expect(new Date(check!.lo as Date).getUTCHours()).toBe(hour);
      expect(new Date(check!.hi as Date).getUTCHours()).toBe(hour);
    }
  });

  it('a redelivered attempt after the commit commits nothing new and reports the same files', async () => {
    const tenant = freshTenant();
    const { catalog, envelope } = await stage(tenant, 500);
    const first = await executeTask(envelope, ctx);
    const version = (await catalog.refresh()).version;
    const again = await executeTask({ ...envelope, attempt: 2 }, ctx);
    expect((await catalog.refresh()).version).toBe(version);
    expect(again.wrote.files.map((f) => f.sha256).sort()).toEqual(
      first.wrote.files.map((f) => f.sha256).sort(),
    );
    expect(JSON.parse(again.summaryJson)).toMatchObject({ redelivered: true, rows: 500 });
  });

  it('the same batch flushed for two tenants gives byte-identical files', async () => {
    const a = await stage(freshTenant(), 800);
    const b = await stage(freshTenant(), 800);
    const shas = async (s: typeof a) =>
      (await executeTask(s.envelope, ctx)).wrote.files
        .map((f) => `${f.partition} ${f.rows} ${f.sha256}`)
        .sort();
    expect(await shas(a)).toEqual(await shas(b));
  });

  it('a staging batch that is gone, with no commit, fails the task without committing', async () => {
    const tenant = freshTenant();
    const { catalog, envelope, stagingKey } = await stage(tenant, 10);
    await store.delete(stagingKey);
    const version = (await catalog.refresh()).version;
    await expect(executeTask(envelope, ctx)).rejects.toSatisfy(
      (e) => e instanceof WeirError && e.code === 'STAGING_BATCH_GONE',
    );
    expect((await catalog.refresh()).version).toBe(version);
    expect(await keysUnder(store, paths.dataKeys.tablePrefix(tenant, 'db', 'cpu'))).toEqual([]);
  });

  it('a table dropped and created again while the flush runs gets none of its rows: the commit refuses them', async () => {
    const tenant = freshTenant();
    const { catalog, envelope, task } = await stage(tenant, 10);
    await catalog.commit([{ op: 'dropTable', database: 'db', table: 'cpu' }]);
    await createDataTable(catalog, 'db', 'cpu', {
      tags: ['host'],
      fields: { usage: 'float64', count: 'int64', note: 'string' },
    });
    const version = (await catalog.refresh()).version;
    const refusal = (e: unknown) =>
      e instanceof WeirError && e.code === 'FLUSH_TABLE_DROPPED' && e.httpStatus === 410;
    await expect(executeTask(envelope, ctx)).rejects.toSatisfy(refusal);
    const head = await catalog.refresh();
    expect(head.version).toBe(version);
    expect(head.tables.get(tableKey('db', 'cpu'))!.rowCount).toBe(0);
    // Planned now, the same batch is refused before any task runs.
    const trigger = {
      kind: 'flush' as const,
      tenant,
      logicalTime: '2026-03-01T00:00:00Z',
      database: 'db',
      table: 'cpu',
      batchId: task.inputs.batchId,
      rows: 10,
      bytes: 1,
      tableVersion: task.inputs.tableVersion!,
    };
    expect(() => planRun(trigger, head)).toThrow(
      /db\.cpu, created at version \d+, was dropped after these rows were written to it \(the table of that name now is the one created at version \d+\)/,
    );
  });
});
