/**
 * A tenant with real data for query tests: database `metrics` with `cpu` (30 days, four hourly
 * files a day) and `mem`, database `ops` with `deploys`; a second tenant `other` whose `metrics.cpu`
 * holds different rows. Files are real Parquet written by the workers' writer and committed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { LocalObjectStore, type TenantCatalog, TenantCatalogs, tableKey } from '../../catalog/index.js';
import { QueryService, queryFilesFor } from '../../services/query/index.js';
import { openWorkerDuckDB } from '../../workers/tasks/index.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../helpers/data-files.js';

export const DAYS = 30;
export const HOURS_PER_DAY = [0, 6, 12, 18];
export const ROWS_PER_FILE = 500;

export interface QueryFixture {
  dir: string;
  store: LocalObjectStore;
  catalogs: TenantCatalogs;
  /** Object keys of each table's files, by `db.table`, for raw DuckDB comparisons. */
  keys(tenant: string, database: string, table: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Rows of one hourly file: 500 rows a few seconds apart, 5 hosts in 2 regions. */
function cpuRowsSql(hourStartUs: number, seed: number): string {
  return `SELECT make_timestamp(${hourStartUs}::BIGINT + i * 7_000_000) AS time,
    'host-' || (i % 5) AS host, CASE WHEN i % 5 < 3 THEN 'eu' ELSE 'us' END AS region,
    round(((i * 37 + ${seed}) % 1000) / 10.0, 1) AS usage, (i * 13 + ${seed}) % 97 AS procs,
    i % 7 = 0 AS busy FROM range(${ROWS_PER_FILE}) t(i)`;
}

/** `beforeData` runs on the empty store (e.g. to register the tenants, which needs their prefix empty). */
export async function createQueryFixture(
  beforeData?: (store: LocalObjectStore) => Promise<void>,
): Promise<QueryFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-query-'));
  const store = new LocalObjectStore(join(dir, 'objects'));
  await beforeData?.(store);
  const catalogs = new TenantCatalogs(store);
  const duckdb = await openWorkerDuckDB({ threads: 1 });
  try {
    await fillTenant(catalogs.forTenant('acme'), store, duckdb, 0);
    await fillTenant(catalogs.forTenant('other'), store, duckdb, 500);
  } finally {
    duckdb.closeSync();
  }
  return {
    dir,
    store,
    catalogs,
    async keys(tenant, database, table) {
      const state = await catalogs.forTenant(tenant).refresh();
      const entry = state.tables.get(tableKey(database, table))!;
      return [...entry.partitions.values()].flatMap((files) => [...files.keys()]);
    },
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function fillTenant(
  catalog: TenantCatalog,
  store: LocalObjectStore,
  duckdb: DuckDBInstance,
  seed: number,
): Promise<void> {
  const cpuSpec = {
    tags: ['host', 'region'],
    fields: { usage: 'float64', procs: 'int64', busy: 'bool' },
  } as const;
  await createDataTable(catalog, 'metrics', 'cpu', cpuSpec);
  const cpuFiles = [];
  for (let day = 0; day < DAYS; day++) {
    for (const hour of HOURS_PER_DAY) {
      const start = BASE_US + (day * 24 + hour) * HOUR_US;
      cpuFiles.push({ fileId: `d${day}h${hour}`, sql: cpuRowsSql(start, seed + day) });
    }
  }
  await writeDataFiles({
    store,
    catalog,
    database: 'metrics',
    table: 'cpu',
    files: cpuFiles,
    commit: 'one',
    duckdb,
  });

  await createDataTable(catalog, 'metrics', 'mem', { tags: ['host'], fields: { used: 'float64' } });
  await writeDataFiles({
    store,
    catalog,
    database: 'metrics',
    table: 'mem',
    commit: 'one',
    duckdb,
    files: [0, 1].map((hour) => ({
      fileId: `h${hour}`,
      sql: `SELECT make_timestamp(${BASE_US + hour * HOUR_US}::BIGINT + i * 60_000_000) AS time,
        'host-' || (i % 5) AS host, (i * 7 + ${seed}) % 64 * 1.5 AS used FROM range(60) t(i)`,
    })),
  });

  await createDataTable(catalog, 'ops', 'deploys', { tags: ['host'], fields: { version: 'string' } });
  await writeDataFiles({
    store,
    catalog,
    database: 'ops',
    table: 'deploys',
    commit: 'one',
    duckdb,
    files: [
      {
        fileId: 'all',
        sql: `SELECT make_timestamp(${BASE_US}::BIGINT + i * 1_800_000_000) AS time, 'host-' || (i % 5) AS host,
          'v' || (i + ${seed}) AS version FROM range(2) t(i)`,
      },
    ],
  });
}

/** A query service over the fixture's store, as the tests use it: one thread, a private cache. */
export function openFixtureQueryService(fixture: QueryFixture): Promise<QueryService> {
  return QueryService.open({
    catalogs: fixture.catalogs,
    files: queryFilesFor(fixture.store, join(fixture.dir, 'cache'), 1 << 30),
    engine: { threads: 1, maxInstances: 4 },
    timeoutMs: 30_000,
  });
}
