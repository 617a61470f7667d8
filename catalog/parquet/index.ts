/**
 * Arrow ↔ Parquet with the writer settings every Weir file shares (DESIGN.md §3, §10):
 * ZSTD, ~128K-row groups, page statistics, no dictionary for columns that do not repeat.
 * Fixed settings and no wall-clock metadata keep the bytes a pure function of the rows.
 */
import { type Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as pw from 'parquet-wasm';

export const DEFAULT_ROW_GROUP_SIZE = 128 * 1024;

export interface ParquetWriteOptions {
  rowGroupSize?: number;
  /** Columns written without a dictionary (time and float columns rarely repeat). */
  plainColumns?: readonly string[];
  /** Integer columns encoded with DELTA_BINARY_PACKED (time). */
  deltaColumns?: readonly string[];
}

export function writeParquet(table: Table, options: ParquetWriteOptions = {}): Uint8Array {
  let builder = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.ZSTD)
    .setMaxRowGroupSize(options.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE)
    .setStatisticsEnabled(pw.EnabledStatistics.Page)
    .setCreatedBy('weir');
  for (const column of options.plainColumns ?? []) {
    builder = builder.setColumnDictionaryEnabled(column, false);
  }
  for (const column of options.deltaColumns ?? []) {
    builder = builder
      .setColumnDictionaryEnabled(column, false)
      .setColumnEncoding(column, pw.Encoding.DELTA_BINARY_PACKED);
  }
  const wasmTable = pw.Table.fromIPCStream(tableToIPC(table, 'stream'));
  return pw.writeParquet(wasmTable, builder.build());
}

export function readParquet(bytes: Uint8Array): Table {
  return tableFromIPC(pw.readParquet(bytes).intoIPCStream());
}

export {
  column,
  readBigintColumn,
  readInt32Column,
  readNonNullBigintColumn,
  readNonNullStringColumn,
  readStringColumn,
  readStringListColumn,
} from './columns.js';
