/** Seeding helpers for orchestrator tests: a table with real Parquet files committed like flushes. */
import type { DuckDBInstance } from '@duckdb/node-api';
import { liveFiles, type ObjectStore, type TenantCatalog, type TenantState } from '../../catalog/index.js';
import { createDataTable, writeDataFiles } from '../helpers/data-files.js';
import { parquetList, scalar, withLocalCopies } from '../workers/support.js';

export const PARTITION_0 = 'date=2026-03-01/hour=00';

/** The hourly compaction trigger of db.cpu's partition PARTITION_0, as the schedule would make it. */
export function compactionTrigger(
  tenant: string,
  logicalTime = '2026-03-02T00:05:00.000Z',
  extra: Record<string, unknown> = {},
) {
  return {
    kind: 'compaction',
    tenant,
    logicalTime,
    tier: 'hourly',
    database: 'db',
    table: 'cpu',
    partition: PARTITION_0,
    ...extra,
  };
}

/** `files` files of `rows` rows each in hour `hour` of 2026-03-01; ids are `{prefix}{n}`. */
export async function seedFiles(
  store: ObjectStore,
  catalog: TenantCatalog,
  duckdb: DuckDBInstance,
  options: { files: number; rows: number; hour?: number; prefix?: string; createTable?: boolean },
) {
  if (options.createTable ?? true) {
    await catalog.commit([{ op: 'createDatabase', database: 'db' }]);
    await createDataTable(catalog, 'db', 'cpu', { tags: ['host'], fields: { usage: 'float64', n: 'int64' } });
  }
  const hour = String(options.hour ?? 0).padStart(2, '0');
  return writeDataFiles({
    store,
    catalog,
    database: 'db',
    table: 'cpu',
    duckdb,
    files: Array.from({ length: options.files }, (_, f) => ({
      fileId: `${options.prefix ?? 'f'}${f}`,
      sql: `SELECT TIMESTAMP '2026-03-01 ${hour}:00:00' + to_microseconds(i * 1000 + ${f}) AS time,
                   'host-' || (i % 7) AS host, (i % 100) * 0.5 AS usage, (i + ${f * 100000})::BIGINT AS n
            FROM range(${options.rows}) t(i)`,
    })),
  });
}

/** Rows DuckDB counts over every live file of db.cpu at `state`. */
export async function countLiveRows(
  store: ObjectStore,
  duckdb: DuckDBInstance,
  state: TenantState,
): Promise<number> {
  const table = state.tables.get('db.cpu');
  const keys = table ? [...liveFiles(table)].map((f) => f.path) : [];
  if (keys.length === 0) return 0;
  return withLocalCopies(store, keys, (local) =>
    scalar(duckdb, `SELECT count(*) FROM ${parquetList(local)}`),
  );
}
