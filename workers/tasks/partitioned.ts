/**
 * Rows arriving as one Arrow table (a staging batch, a continuous query's answer) become sorted data
 * files of their table, one set per hour (or day) partition the rows fall in, published under keys
 * derived from the task id.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Table } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { type FileSpec, type PartitionRef, type TenantCatalog, WeirError } from '../../catalog/index.js';
import type { DispatchEnvelope } from '../../proto/index.js';
import type { TaskContext } from './context.js';
import { type TableShape, writeSortedFiles } from './data-files.js';
import { sqlString, withConnection } from './duckdb.js';
import { publishDataFile } from './outputs.js';

const HOUR_US = 3_600_000_000n;
const DAY_US = 24n * HOUR_US;
/** One file per partition unless a partition holds more rows than this. */
const PARTITION_TARGET_ROWS = 1_000_000;

export interface PartitionedWrite {
  /** The rows as an Arrow IPC stream, and as the table it decodes to. */
  ipc: Uint8Array;
  table: Table;
  shape: TableShape;
  partitioning: 'hour' | 'day';
  database: string;
  tableName: string;
  /** Local scratch directory of the task. */
  dir: string;
  /** Output indexes (object keys `{taskId}-{index}`) start here. */
  firstIndex?: number;
  /** Key outputs by their content too (see `publishDataFile`). */
  contentKeyed?: boolean;
}

/** Writes and publishes the rows' data files, in partition order; answers their catalog entries. */
export async function writePartitioned(
  envelope: DispatchEnvelope,
  ctx: TaskContext,
  catalog: TenantCatalog,
  write: PartitionedWrite,
): Promise<FileSpec[]> {
  await mkdir(write.dir, { recursive: true });
  const local = join(write.dir, 'rows.parquet');
  // DuckDB reads Parquet, not Arrow IPC: an uncompressed Parquet copy is the cheapest bridge.
  const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.UNCOMPRESSED).build();
  await writeFile(local, pw.writeParquet(pw.Table.fromIPCStream(write.ipc), props));
  const sourceColumns = new Set(write.table.schema.fields.map((f) => f.name));
  const outputs: FileSpec[] = [];
  let index = write.firstIndex ?? 0;
  for (const { ref, fromMicros, toMicros } of partitionsOf(write.table, write.partitioning)) {
    ctx.signal?.throwIfAborted();
    const written = await withConnection(
      ctx.duckdb,
      (connection) =>
        writeSortedFiles(connection, write.shape, {
          source: `(SELECT *, file_row_number AS __weir_row FROM read_parquet(${sqlString(local)}, hive_partitioning = false) WHERE time >= make_timestamp(${fromMicros}) AND time < make_timestamp(${toMicros}))`,
          sourceColumns,
          // Arrival order breaks ties, so equal rows keep a fixed order.
          tieBreakers: ['__weir_row'],
          dedup: false,
          targetRows: PARTITION_TARGET_ROWS,
          dir: join(write.dir, `out-${index}`),
        }),
      ctx.signal,
    );
    for (const file of written.files) {
      outputs.push(
        await publishDataFile(envelope, ctx, catalog, {
          database: write.database,
          table: write.tableName,
          partition: ref,
          index: index++,
          file,
          ...(write.contentKeyed ? { contentKeyed: true } : {}),
        }),
      );
    }
  }
  return outputs;
}

interface PartitionRange {
  ref: PartitionRef;
  fromMicros: bigint;
  toMicros: bigint;
}

/** The partitions the table's rows fall in, in time order. */
function partitionsOf(table: Table, partitioning: 'hour' | 'day'): PartitionRange[] {
  const width = partitioning === 'hour' ? HOUR_US : DAY_US;
  const starts = new Set<bigint>();
  const time = table.getChild('time');
  if (!time) throw new WeirError('ROWS_WITHOUT_TIME', 'the rows to write have no time column', 422);
  for (const data of time.data) {
    const values = data.values as BigInt64Array;
    let last = -1n;
    for (let i = 0; i < data.length; i++) {
      const start = values[i]! - (values[i]! % width);
      if (start !== last) {
        starts.add(start);
        last = start;
      }
    }
  }
  return [...starts]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((start) => {
      const iso = new Date(Number(start / 1000n)).toISOString();
      const ref: PartitionRef =
        partitioning === 'hour'
          ? { date: iso.slice(0, 10), hour: Number(iso.slice(11, 13)) }
          : { date: iso.slice(0, 10) };
      return { ref, fromMicros: start, toMicros: start + width };
    });
}
