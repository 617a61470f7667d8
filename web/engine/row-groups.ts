/**
 * Which row groups of a file a time range needs, from the file's own Parquet footer (hyparquet
 * parses it; parquet-wasm 0.8 does not expose column statistics).
 */
import { type AsyncBuffer, parquetMetadataAsync } from 'hyparquet';
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

/** A footer statistic of a TIMESTAMP column, kept whole: hyparquet's default Date floors it to the millisecond. */
type TimestampStat = { millis: bigint } | { micros: bigint } | { nanos: bigint };

const TIMESTAMP_STATS = {
  timestampFromMilliseconds: (millis: bigint): TimestampStat => ({ millis }),
  timestampFromMicroseconds: (micros: bigint): TimestampStat => ({ micros }),
  timestampFromNanoseconds: (nanos: bigint): TimestampStat => ({ nanos }),
};

/** Microseconds since the epoch of a statistic, rounded outwards (a min down, a max up) so no row is ruled out. */
function statMicros(value: unknown, side: 'min' | 'max'): number | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const stat = value as Partial<Record<'millis' | 'micros' | 'nanos', bigint>>;
  if (stat.millis !== undefined) return Number(stat.millis * 1000n);
  if (stat.micros !== undefined) return Number(stat.micros);
  if (stat.nanos !== undefined) {
    const floor = stat.nanos / 1000n - (stat.nanos % 1000n < 0n ? 1n : 0n);
    return Number(side === 'max' && stat.nanos % 1000n !== 0n ? floor + 1n : floor);
  }
  return undefined;
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
    parsers: TIMESTAMP_STATS,
  });
  const chosen: number[] = [];
  for (const [index, group] of metadata.row_groups.entries()) {
    const chunk = group.columns.find((c) => c.meta_data?.path_in_schema.join('.') === 'time');
    const stats = chunk?.meta_data?.statistics;
    const min = statMicros(stats?.min_value ?? stats?.min, 'min');
    const max = statMicros(stats?.max_value ?? stats?.max, 'max');
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
