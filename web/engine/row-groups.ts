/**
 * Which row groups of a file a time range needs, from the file's own Parquet footer (hyparquet
 * parses it; parquet-wasm 0.8 does not expose column statistics).
 */
import { type AsyncBuffer, type FileMetaData, parquetMetadataAsync } from 'hyparquet';
import type { BrowserSessionFile, BrowserSessionTable } from '../../sdk/index.js';

/** A file's bytes by range, through `fetchRange` (which counts them). */
function remoteBuffer(
  file: BrowserSessionFile,
  fetchRange: (url: string, start: number, end: number) => Promise<ArrayBuffer>,
): AsyncBuffer {
  return {
    byteLength: file.bytes,
    slice: (start, end) => fetchRange(file.url, start, end ?? file.bytes),
  };
}

/** Microseconds since the epoch of a footer statistic of a TIMESTAMP column (hyparquet gives a Date or a bigint). */
function statMicros(value: unknown, unit: 'MILLIS' | 'MICROS' | 'NANOS'): number | undefined {
  if (value instanceof Date) return value.getTime() * 1000;
  if (typeof value === 'bigint') {
    if (unit === 'MILLIS') return Number(value) * 1000;
    if (unit === 'NANOS') return Number(value / 1000n);
    return Number(value);
  }
  return undefined;
}

function timeUnit(metadata: FileMetaData, column: string): 'MILLIS' | 'MICROS' | 'NANOS' {
  const element = metadata.schema.find((e) => e.name === column);
  const logical = element?.logical_type;
  if (logical?.type === 'TIMESTAMP') return logical.unit;
  if (element?.converted_type === 'TIMESTAMP_MILLIS') return 'MILLIS';
  return 'MICROS';
}

/** The row groups a file's part needs: `chosen` of `total`, or every one (`chosen` undefined, footer not read). */
export interface RowGroupChoice {
  readonly chosen?: readonly number[];
  readonly total?: number;
}

/**
 * The indexes of the row groups whose `time` statistics overlap the table's time range, or all of
 * them when no bound cuts into the file (then its footer need not be read).
 */
export async function rowGroupsFor(
  table: BrowserSessionTable,
  file: BrowserSessionFile,
  fetchRange: (url: string, start: number, end: number) => Promise<ArrayBuffer>,
): Promise<RowGroupChoice> {
  const { from, to } = table.time_range;
  const cutsFrom = from !== null && file.min_time_us < from;
  const cutsTo = to !== null && file.max_time_us > to;
  if (!cutsFrom && !cutsTo) return {};
  const metadata = await parquetMetadataAsync(remoteBuffer(file, fetchRange), {
    initialFetchSize: 16 * 1024,
  });
  const unit = timeUnit(metadata, 'time');
  const chosen: number[] = [];
  for (const [index, group] of metadata.row_groups.entries()) {
    const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.join('.') === 'time');
    const stats = chunk?.meta_data?.statistics;
    const min = statMicros(stats?.min_value ?? stats?.min, unit);
    const max = statMicros(stats?.max_value ?? stats?.max, unit);
    // A group without statistics cannot be ruled out.
    if (
      min === undefined ||
      max === undefined ||
      ((from === null || max >= from) && (to === null || min <= to))
    )
      chosen.push(index);
  }
  return { chosen, total: metadata.row_groups.length };
}
