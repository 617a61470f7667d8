/**
 * Real data files for tests and benchmarks: rows (or a SQL query) of a table become sorted Parquet
 * files at their `paths.dataKeys.file` keys, with exact statistics, committed with `addFile` —
 * what a flush will do. Writing and statistics are the workers' own code (workers/tasks).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, type DuckDBInstance, DuckDBTimestampValue } from '@duckdb/node-api';
import {
  type ColumnDef,
  type ColumnType,
  type FileSpec,
  type ObjectStore,
  paths,
  type TableEntry,
  type TenantCatalog,
  tableKey,
} from '../../catalog/index.js';
import {
  duckdbType,
  fileSpecOf,
  loadDataFile,
  openWorkerDuckDB,
  sqlIdentifier,
  type TableShape,
  writeSortedFiles,
} from '../../workers/tasks/index.js';

export const HOUR_US = 3_600_000_000;
/** 2026-03-01T00:00:00Z in microseconds. */
export const BASE_US = Date.parse('2026-03-01T00:00:00Z') * 1000;

export type DataValue = string | number | bigint | boolean | null | undefined;
/** One row: `time` in microseconds since the epoch, other columns by name (absent = NULL). */
export type DataRow = { time: number | bigint } & { [column: string]: DataValue };

export interface DataFileInput {
  /** The file's id in its key (`paths.dataKeys.file(…, fileId)`). */
  fileId: string;
  /** Rows, or a generator of them; every row of a file must fall in one partition. */
  rows?: Iterable<DataRow>;
  /** Or a SQL query yielding columns of the table (time as TIMESTAMP): fast bulk data. */
  sql?: string;
}

export interface WriteDataFilesOptions {
  store: ObjectStore;
  catalog: TenantCatalog;
  database: string;
  table: string;
  files: readonly DataFileInput[];
  /** `each` (default): one addFile commit per file, in order, like flushes; `one`: a single commit; `none`. */
  commit?: 'each' | 'one' | 'none';
  /** Reused when given; otherwise a one-thread instance is opened and closed. */
  duckdb?: DuckDBInstance;
}

const PRIVATE_TABLE = '__weir_test_rows';

/** Writes each input as one sorted Parquet data file, uploads it, commits it; answers the FileSpecs. */
export async function writeDataFiles(options: WriteDataFilesOptions): Promise<FileSpec[]> {
  const { store, catalog, database, table: tableName } = options;
  const table = (await catalog.refresh()).tables.get(tableKey(database, tableName));
  if (!table) throw new Error(`table ${database}.${tableName} does not exist`);
  const shape: TableShape = { columns: table.columns, sortKey: table.sortKey };
  const duckdb = options.duckdb ?? (await openWorkerDuckDB({ threads: 1 }));
  const dir = await mkdtemp(join(tmpdir(), 'weir-data-files-'));
  const connection = await duckdb.connect();
  const specs: FileSpec[] = [];
  try {
    for (const [index, input] of options.files.entries()) {
      await loadRows(connection, table.columns, input);
      const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${PRIVATE_TABLE}`);
      const sourceRows = Number(counted.getRows()[0]![0]);
      const described = await connection.runAndReadAll(`DESCRIBE ${PRIVATE_TABLE}`);
      const written = await writeSortedFiles(connection, shape, {
        source: PRIVATE_TABLE,
        // A SQL source may leave columns out: they are written as NULL.
        sourceColumns: new Set(described.getRows().map((row) => String(row[0]))),
        tieBreakers: ['rowid'],
        dedup: false,
        targetRows: Number.MAX_SAFE_INTEGER,
        sourceRows,
        dir: join(dir, String(index)),
      });
      const file = written.files[0];
      if (!file) throw new Error(`data file ${input.fileId} has no rows`);
      const partition = partitionOf(table, file.minTime, file.maxTime, input.fileId);
      const path = paths.dataKeys.file(
        catalog.tenant,
        database,
        tableName,
        paths.parsePartitionPath(partition),
        input.fileId,
      );
      const { data, sha256 } = await loadDataFile(file.localPath);
      await store.put(path, data);
      const spec = fileSpecOf(file, {
        path,
        database,
        table: tableName,
        partition,
        bytes: data.length,
        sha256,
      });
      if ((options.commit ?? 'each') === 'each') await catalog.commit([{ op: 'addFile', file: spec }]);
      specs.push(spec);
    }
    if (options.commit === 'one' && specs.length > 0) {
      await catalog.commit(specs.map((file) => ({ op: 'addFile', file })));
    }
    return specs;
  } finally {
    connection.closeSync();
    if (!options.duckdb) duckdb.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

async function loadRows(connection: DuckDBConnection, columns: readonly ColumnDef[], input: DataFileInput) {
  if ((input.rows === undefined) === (input.sql === undefined)) {
    throw new Error(`data file ${input.fileId}: give exactly one of rows and sql`);
  }
  if (input.sql !== undefined) {
    await connection.run(`CREATE OR REPLACE TEMP TABLE ${PRIVATE_TABLE} AS ${input.sql}`);
    return;
  }
  const definition = columns.map((c) => `${sqlIdentifier(c.name)} ${duckdbType(c.type)}`).join(', ');
  await connection.run(`CREATE OR REPLACE TEMP TABLE ${PRIVATE_TABLE} (${definition})`);
  const appender = await connection.createAppender(PRIVATE_TABLE);
  try {
    for (const row of input.rows!) {
      for (const column of columns) {
        const value = row[column.name];
        if (value === null || value === undefined) appender.appendNull();
        else if (column.type === 'timestamp')
          appender.appendTimestamp(new DuckDBTimestampValue(BigInt(value)));
        else if (column.type === 'string') appender.appendVarchar(String(value));
        else if (column.type === 'float64') appender.appendDouble(Number(value));
        else if (column.type === 'int64') appender.appendBigInt(BigInt(value));
        else appender.appendBoolean(Boolean(value));
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/** The partition holding [minTime, maxTime] under the table's partitioning; throws if it spans two. */
export function partitionOf(
  table: Pick<TableEntry, 'partitioning'>,
  minTime: number,
  maxTime: number,
  what = 'rows',
) {
  const of = (us: number) => {
    const iso = new Date(Math.floor(us / 1000)).toISOString();
    return paths.partitionPath(
      table.partitioning === 'day'
        ? { date: iso.slice(0, 10) }
        : { date: iso.slice(0, 10), hour: Number(iso.slice(11, 13)) },
    );
  };
  const partition = of(minTime);
  if (of(maxTime) !== partition) throw new Error(`${what} span partitions ${partition} and ${of(maxTime)}`);
  return partition;
}

export interface TableSpec {
  /** Tag column names (strings). */
  tags?: readonly string[];
  /** Field columns by name. */
  fields?: Readonly<Record<string, Exclude<ColumnType, 'timestamp'>>>;
  partitioning?: 'hour' | 'day';
}

/** The createTable action of a table with `time`, the tags, then the fields. */
export function tableAction(database: string, table: string, spec: TableSpec = {}) {
  return {
    op: 'createTable' as const,
    database,
    table,
    partitioning: spec.partitioning ?? 'hour',
    columns: [
      { name: 'time', type: 'timestamp' as const, role: 'time' as const },
      ...(spec.tags ?? []).map((name) => ({ name, type: 'string' as const, role: 'tag' as const })),
      ...Object.entries(spec.fields ?? {}).map(([name, type]) => ({ name, type, role: 'field' as const })),
    ],
  };
}

/** Creates the database (when missing) and the table. */
export async function createDataTable(
  catalog: TenantCatalog,
  database: string,
  table: string,
  spec: TableSpec = {},
) {
  const state = await catalog.refresh();
  const actions: unknown[] = state.databases.has(database) ? [] : [{ op: 'createDatabase', database }];
  return catalog.commit([...actions, tableAction(database, table, spec)]);
}

export interface GeneratedRows {
  /** First time, µs. */
  start: number;
  count: number;
  /** Time step between rows, µs (default 1 ms). */
  stepUs?: number;
  /** Tag values cycle through these, in mixed radix over the row number (distinct series). */
  tags?: Readonly<Record<string, readonly string[]>>;
  /** Float fields, deterministic pseudo-random values. */
  fields?: readonly string[];
  seed?: number;
}

/** Deterministic rows: times start + i·step, tag values cycling, float fields from a hash of (seed, i, j). */
export function* generateRows(spec: GeneratedRows): Generator<DataRow> {
  const step = spec.stepUs ?? 1000;
  const tagEntries = Object.entries(spec.tags ?? {});
  for (let i = 0; i < spec.count; i++) {
    const row: DataRow = { time: spec.start + i * step };
    let rest = i;
    for (const [name, values] of tagEntries) {
      row[name] = values[rest % values.length]!;
      rest = Math.floor(rest / values.length);
    }
    (spec.fields ?? []).forEach((name, j) => {
      const h = Math.imul(i + 1, 2654435761) ^ Math.imul((spec.seed ?? 0) + 17, 40503) ^ Math.imul(j + 1, 97);
      row[name] = ((h >>> 0) % 1_000_000) / 1000;
    });
    yield row;
  }
}
