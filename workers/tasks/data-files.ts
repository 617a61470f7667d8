/**
 * Sorted data files (DESIGN.md §3, §6): rows of a table, cast to its schema, sorted in a total
 * order, split into files of consecutive rows, written as Parquet with fixed settings, and the
 * statistics the catalog keeps per file. Compaction writes its outputs with this; so can any task
 * that turns rows into data files (flush, CQ), and the tests' data-file helper.
 *
 * Determinism: the order is the sort key, then caller-given tie-breakers (unique per input row),
 * so it is total (rows that compare equal but differ in bytes, -0.0 and 0.0, keep a fixed order);
 * the writer settings are fixed and DuckDB writes no clock values, so the bytes are a function of
 * the rows in their source order and the DuckDB version (tested across thread counts). Rows with
 * the same sort key stay in tie-breaker order, oldest first, which a later deduplicating
 * compaction relies on (ADR 0011). Changing any setting here changes every output's bytes:
 * replays across such a change will report differences.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnDef, ColumnStats, ColumnType, FileSpec } from '../../catalog/index.js';
import { sqlIdentifier, sqlString } from './duckdb.js';

/** Rows per Parquet row group (~128K, DESIGN.md §3). */
export const ROW_GROUP_ROWS = 128 * 1024;
/**
 * DuckDB's default ZSTD level, pinned: level 1 measured no faster here (writing is bound by
 * encoding, not compression) and made files ~20% larger.
 */
export const ZSTD_LEVEL = 3;
/** DuckDB cuts string statistics at 256 characters: strings that long get no min/max (a cut max is wrong). */
export const STRING_STAT_LIMIT = 256;

const PARQUET_OPTIONS = `FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL ${ZSTD_LEVEL}, ROW_GROUP_SIZE ${ROW_GROUP_ROWS}`;

const DUCKDB_TYPES: Record<ColumnType, string> = {
  timestamp: 'TIMESTAMP',
  string: 'VARCHAR',
  float64: 'DOUBLE',
  int64: 'BIGINT',
  bool: 'BOOLEAN',
};

/** What a writer needs to know of a table. */
export interface TableShape {
  readonly columns: readonly Pick<ColumnDef, 'name' | 'type' | 'role'>[];
  readonly sortKey: readonly string[];
}

export function duckdbType(type: ColumnType): string {
  return DUCKDB_TYPES[type];
}

export interface SortedWriteOptions {
  /** A SQL relation (table name or table function call) holding the rows; its text is trusted. */
  source: string;
  /**
   * Columns the source has; schema columns it lacks are written as NULL, columns it has beyond
   * the schema are dropped, and every column is cast to its schema type.
   */
  sourceColumns: ReadonlySet<string>;
  /**
   * SQL expressions over the source that order its rows oldest to newest and are unique per row
   * (e.g. `file_index, file_row_number` of read_parquet). They follow the sort key, so the order
   * is total and rows with the same sort key keep it; they pick the newest row when deduplicating.
   */
  tieBreakers: readonly string[];
  /** Keep one row per (tags…, time): the newest by `tieBreakers`. */
  dedup: boolean;
  /**
   * Split into ceil(rows / targetRows) files of consecutive rows, cut evenly except that the rows
   * of one (tags…, time) never straddle two files (see `cutPoints`).
   */
  targetRows: number;
  /** Rows in the source when known: a source no bigger than `targetRows` is written in one pass. */
  sourceRows?: number;
  /** Local directory for the files (`part-000000.parquet`, …). */
  dir: string;
}

/** A data file written locally, with the statistics the catalog keeps for it. */
export interface WrittenDataFile {
  localPath: string;
  rows: number;
  /** Microseconds since the epoch (ADR 0003). */
  minTime: number;
  maxTime: number;
  columnStats: ColumnStats;
}

export interface SortedWriteResult {
  files: WrittenDataFile[];
  rows: number;
}

const SORTED_TABLE = '__weir_sorted';

function partName(index: number): string {
  return `part-${String(index).padStart(6, '0')}.parquet`;
}

/** The query that yields the rows to write, in their final order. */
export function sortedRowsQuery(shape: TableShape, options: SortedWriteOptions): string {
  const names = new Set(shape.columns.map((c) => c.name));
  const unknown = shape.sortKey.find((name) => !names.has(name));
  if (unknown !== undefined) throw new RangeError(`sort key column ${unknown} is not in the schema`);
  if (options.tieBreakers.length === 0) throw new RangeError('tie-breakers are required for a total order');
  const casts = shape.columns.map((c) => {
    const value = options.sourceColumns.has(c.name) ? sqlIdentifier(c.name) : 'NULL';
    return `CAST(${value} AS ${duckdbType(c.type)}) AS ${sqlIdentifier(c.name)}`;
  });
  const ties = options.tieBreakers.map((expr, i) => `${expr} AS __weir_tie${i}`);
  let rows = `SELECT ${[...casts, ...ties].join(', ')} FROM ${options.source}`;
  const tieNames = options.tieBreakers.map((_, i) => `__weir_tie${i}`);
  if (options.dedup) {
    const key = [
      ...shape.columns.filter((c) => c.role === 'tag'),
      ...shape.columns.filter((c) => c.role === 'time'),
    ];
    const newest = tieNames.map((t) => `${t} DESC`).join(', ');
    rows = `SELECT * FROM (${rows}) QUALIFY row_number() OVER (PARTITION BY ${key.map((c) => sqlIdentifier(c.name)).join(', ')} ORDER BY ${newest}) = 1`;
  }
  // No other column orders rows: equal sort keys keep commit order for a later dedup.
  const order = shape.sortKey.map((name) => `${sqlIdentifier(name)} ASC NULLS LAST`);
  const columns = shape.columns.map((c) => sqlIdentifier(c.name)).join(', ');
  return `SELECT ${columns} FROM (${rows}) ORDER BY ${[...order, ...tieNames].join(', ')}`;
}

/** Slicing the sorted table relies on scans keeping insertion order (DuckDB's default). */
async function requireInsertionOrder(connection: DuckDBConnection): Promise<void> {
  const result = await connection.runAndReadAll("SELECT current_setting('preserve_insertion_order')");
  if (result.getRows()[0]?.[0] !== true) {
    throw new Error('writing sorted data files needs DuckDB with preserve_insertion_order = true');
  }
}

/** Writes the query's rows to `path`; DuckDB reports the file's statistics as it writes (RETURN_STATS). */
async function copyTo(
  connection: DuckDBConnection,
  shape: TableShape,
  query: string,
  path: string,
): Promise<WrittenDataFile | undefined> {
  const result = await connection.runAndReadAll(
    `COPY (${query}) TO ${sqlString(path)} (${PARQUET_OPTIONS}, RETURN_STATS true)`,
  );
  const [row] = result.getRowObjectsJS();
  const rows = Number(row?.count ?? 0);
  if (rows === 0) {
    await rm(path, { force: true });
    return undefined;
  }
  return fileStats(shape, path, rows, row!.column_statistics);
}

async function countRows(connection: DuckDBConnection, relation: string): Promise<number> {
  const result = await connection.runAndReadAll(`SELECT count(*) FROM ${relation}`);
  return Number(result.getRows()[0]![0]);
}

/** Rows after a cut looked at first for the end of the cut's key; widened when the key runs on. */
const CUT_SEARCH_ROWS = 65_536;

/**
 * Where the sorted rows (`SORTED_TABLE`, rowid = position) are cut into `count` files: evenly,
 * each cut moved forward past the rows that share (tags…, time) with the row before it, so one
 * key's rows never straddle two files. One task's outputs are equally recent, and only their paths
 * order them; a later rewrite of one of them (a delete) changes its path, and a deduplicating
 * compaction could then keep a key's older row (ADR 0011, addendum). A key's rows are in one
 * file, so the order between such files no longer matters. Cuts that meet are merged.
 */
async function cutPoints(
  connection: DuckDBConnection,
  shape: TableShape,
  total: number,
  count: number,
): Promise<number[]> {
  const key = [
    ...shape.columns.filter((c) => c.role === 'tag'),
    ...shape.columns.filter((c) => c.role === 'time'),
  ].map((c) => sqlIdentifier(c.name));
  const sameKey = key.map((k) => `s.${k} IS NOT DISTINCT FROM p.${k}`).join(' AND ');
  const cuts = [0];
  for (let i = 1; i < count; i++) {
    let at = Math.max(Math.floor((i * total) / count), cuts.at(-1)!);
    for (let window = CUT_SEARCH_ROWS; at > cuts.at(-1)! && at < total; window *= 16) {
      const result = await connection.runAndReadAll(
        `SELECT min(s.rowid) FROM ${SORTED_TABLE} s, (SELECT ${key.join(', ')} FROM ${SORTED_TABLE} WHERE rowid = ${at - 1}) p
         WHERE s.rowid >= ${at} AND s.rowid < ${at + window} AND NOT (${sameKey})`,
      );
      const next = result.getRows()[0]?.[0];
      if (next !== null && next !== undefined) {
        at = Number(next);
        break;
      }
      if (at + window >= total) at = total;
    }
    if (at > cuts.at(-1)! && at < total) cuts.push(at);
  }
  if (total > 0) cuts.push(total);
  return cuts;
}

/**
 * Writes the source's rows as sorted Parquet files of at most `targetRows` rows each and answers
 * their statistics. Zero rows write no file.
 */
export async function writeSortedFiles(
  connection: DuckDBConnection,
  shape: TableShape,
  options: SortedWriteOptions,
): Promise<SortedWriteResult> {
  if (!Number.isSafeInteger(options.targetRows) || options.targetRows < 1) {
    throw new RangeError(`targetRows must be a positive integer, got ${options.targetRows}`);
  }
  const query = sortedRowsQuery(shape, options);
  await mkdir(options.dir, { recursive: true });
  const files: WrittenDataFile[] = [];
  if (options.sourceRows !== undefined && options.sourceRows <= options.targetRows) {
    // One output: sort and write in one streaming pass.
    const file = await copyTo(connection, shape, query, join(options.dir, partName(0)));
    if (file) files.push(file);
  } else {
    // Several outputs: sort once into a temp table (scans keep its insertion order, so rowid is
    // the position in the sort order), then write consecutive rowid ranges.
    await requireInsertionOrder(connection);
    await connection.run(`CREATE OR REPLACE TEMP TABLE ${SORTED_TABLE} AS ${query}`);
    try {
      const total = await countRows(connection, SORTED_TABLE);
      const cuts = await cutPoints(connection, shape, total, Math.ceil(total / options.targetRows));
      for (let i = 0; i + 1 < cuts.length; i++) {
        const from = cuts[i]!;
        const to = cuts[i + 1]!;
        const slice = `SELECT * FROM ${SORTED_TABLE} WHERE rowid >= ${from} AND rowid < ${to}`;
        const file = await copyTo(connection, shape, slice, join(options.dir, partName(i)));
        if (!file || file.rows !== to - from) throw new Error(`slice ${i} of the sorted rows lost rows`);
        files.push(file);
      }
    } finally {
      await connection.run(`DROP TABLE IF EXISTS ${SORTED_TABLE}`);
    }
  }
  return { files, rows: files.reduce((sum, f) => sum + f.rows, 0) };
}

/** DuckDB renders TIMESTAMP statistics as `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC by convention). */
const TIMESTAMP_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

function parseMicros(text: string): number | undefined {
  const m = TIMESTAMP_TEXT.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const micros = ms * 1000 + Number((m[7] ?? '').padEnd(6, '0'));
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/**
 * One min/max as the catalog keeps it, from the text DuckDB's writer reports; undefined where
 * JSON cannot carry it exactly or DuckDB may have cut it: infinite floats, integers beyond 2^53,
 * strings of STRING_STAT_LIMIT characters or more (DuckDB truncates string statistics there).
 */
function statValue(type: ColumnType, text: string): number | string | boolean | undefined {
  switch (type) {
    case 'timestamp':
      return parseMicros(text);
    case 'int64': {
      const n = Number(BigInt(text));
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'float64': {
      const n = Number(text);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'string':
      return text.length < STRING_STAT_LIMIT ? text : undefined;
    case 'bool':
      return text === '1' || text === 'true';
  }
}

/** The entries of a MAP value as `getRowObjectsJS` answers it: `[{ key, value }, …]`. */
function mapEntries(value: unknown): [string, unknown][] {
  if (value === null || value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('DuckDB reported file statistics in an unexpected shape');
  return value.map((entry: { key: unknown; value: unknown }) => [String(entry.key), entry.value]);
}

/** The unquoted column name of a RETURN_STATS key (`"host"`). */
function columnOfKey(key: string): string {
  return key.startsWith('"') && key.endsWith('"') ? key.slice(1, -1).replaceAll('""', '"') : key;
}

/** A written file's statistics, from what DuckDB reported while writing it. */
function fileStats(shape: TableShape, localPath: string, rows: number, reported: unknown): WrittenDataFile {
  const byColumn = new Map(
    mapEntries(reported).map(([key, value]) => [
      columnOfKey(key),
      new Map(mapEntries(value).map(([k, v]) => [k, v === null ? undefined : String(v)])),
    ]),
  );
  const columnStats: ColumnStats = {};
  for (const column of shape.columns) {
    const reportedStats = byColumn.get(column.name);
    if (!reportedStats)
      throw new Error(`DuckDB reported no statistics for column ${column.name} of ${localPath}`);
    const nullCount = Number(reportedStats.get('null_count'));
    if (!Number.isSafeInteger(nullCount))
      throw new Error(`no null count for column ${column.name} of ${localPath}`);
    const stats: ColumnStats[string] = { nullCount };
    const min = reportedStats.get('min');
    const max = reportedStats.get('max');
    const minValue = min === undefined ? undefined : statValue(column.type, min);
    // DuckDB sorts NaN above every number, but leaves it out of the statistics: no max then.
    const maxValue =
      max === undefined || reportedStats.get('has_nan') === 'true' ? undefined : statValue(column.type, max);
    if (minValue !== undefined) stats.min = minValue;
    if (maxValue !== undefined) stats.max = maxValue;
    columnStats[column.name] = stats;
  }
  const time = shape.columns.find((c) => c.role === 'time');
  const timeStats = time && columnStats[time.name];
  if (typeof timeStats?.min !== 'number' || typeof timeStats.max !== 'number' || timeStats.nullCount !== 0) {
    throw new RangeError(`data file ${localPath} has null or out-of-range times`);
  }
  return { localPath, rows, minTime: timeStats.min, maxTime: timeStats.max, columnStats };
}

/** The bytes of a written file and their sha256. */
export async function loadDataFile(localPath: string): Promise<{ data: Uint8Array; sha256: string }> {
  const data = await readFile(localPath);
  return { data, sha256: createHash('sha256').update(data).digest('hex') };
}

/** The catalog's FileSpec of a written data file stored under `path`. */
export function fileSpecOf(
  file: WrittenDataFile,
  where: { path: string; database: string; table: string; partition: string; bytes: number; sha256: string },
): FileSpec {
  return {
    path: where.path,
    database: where.database,
    table: where.table,
    partition: where.partition,
    rows: file.rows,
    bytes: where.bytes,
    minTime: file.minTime,
    maxTime: file.maxTime,
    sha256: where.sha256,
    columnStats: file.columnStats,
  };
}
