/**
 * Flush (DESIGN.md §5, ADR 0014): one staging batch becomes sorted data files, one set per hour
 * (or day) partition its rows fall in, added by one commit whose idempotency key is the task id;
 * then the staging batch is deleted. File keys derive from the task id and the bytes are
 * deterministic, so a redelivered attempt rewrites the same objects and its commit is a no-op.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Table } from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { type FileSpec, type PartitionRef, type TenantCatalog, WeirError } from '../../catalog/index.js';
import type { DispatchEnvelope, TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { readStagingBatch } from '../../services/ingest/index.js';
import { assertTableShape, replayIdOf, type TaskContext, tableAt } from './context.js';
import { type TableShape, writeSortedFiles } from './data-files.js';
import { sqlString, withConnection } from './duckdb.js';
import { discardOutputs, isRejection, publishDataFile, recordedCommit, sumRows } from './outputs.js';
import { fileRef, taskResult } from './result.js';

type FlushInputs = TaskInputs<'flush'>;

const HOUR_US = 3_600_000_000n;
const DAY_US = 24n * HOUR_US;
/** A flush writes one file per partition unless a partition holds more rows than this. */
const FLUSH_TARGET_ROWS = 1_000_000;

export async function runFlush(
  envelope: DispatchEnvelope,
  inputs: FlushInputs,
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  const { tenant, taskId } = envelope;
  const { database } = inputs;
  const replayId = replayIdOf(envelope);
  const catalog = ctx.catalogs.forTenant(tenant);
  const state = await catalog.at({ version: envelope.catalogVersion });
  assertTableShape('flush', inputs, tableAt(state, database, inputs.table));
  const reads = [{ database, table: inputs.table, partitions: [], files: [], catalogVersion: state.version }];

  if (replayId === undefined) {
    const done = await finishedAttempt(envelope, inputs, ctx, catalog);
    if (done) return done;
  }
  const staged = await ctx.store.getIfExists(inputs.stagingPath);
  if (!staged) {
    if (replayId === undefined) {
      // An attempt that committed and deleted the batch while this one started.
      const done = await finishedAttempt(envelope, inputs, ctx, catalog);
      if (done) return done;
    }
    throw new WeirError(
      'STAGING_BATCH_GONE',
      `staging batch ${inputs.batchId} no longer exists${replayId === undefined ? ' and no attempt committed it' : ' (a flush consumes its input; it cannot be replayed once committed)'}`,
      409,
      { batchId: inputs.batchId },
    );
  }
  const { meta, table } = readStagingBatch(staged);
  if (
    meta.tenant !== tenant ||
    meta.database !== database ||
    meta.table !== inputs.table ||
    meta.batchId !== inputs.batchId ||
    table.numRows !== inputs.rows
  ) {
    throw new WeirError(
      'STAGING_BATCH_MISMATCH',
      `staging batch ${inputs.batchId} holds ${table.numRows} rows of ${meta.tenant}/${meta.database}.${meta.table}; the task expects ${inputs.rows} rows of ${tenant}/${database}.${inputs.table}`,
      422,
    );
  }

  if (/[*?[\]{}]/.test(ctx.workDir))
    throw new RangeError(`work directory ${ctx.workDir} holds glob characters`);
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'flush-'));
  try {
    const local = join(dir, 'staged.parquet');
    // DuckDB reads Parquet, not Arrow IPC: an uncompressed Parquet copy is the cheapest bridge.
    const props = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.UNCOMPRESSED).build();
    await writeFile(local, pw.writeParquet(pw.Table.fromIPCStream(staged), props));
    const partitions = partitionsOf(table, inputs.partitioning);
    const shape: TableShape = { columns: inputs.columns, sortKey: inputs.sortKey };
    const sourceColumns = new Set(table.schema.fields.map((f) => f.name));
    const outputs: FileSpec[] = [];
    let fileIndex = 0;
    for (const { ref, fromMicros, toMicros } of partitions) {
      ctx.signal?.throwIfAborted();
      const written = await withConnection(
        ctx.duckdb,
        (connection) =>
          writeSortedFiles(connection, shape, {
            source: `(SELECT *, file_row_number AS __weir_row FROM read_parquet(${sqlString(local)}) WHERE time >= make_timestamp(${fromMicros}) AND time < make_timestamp(${toMicros}))`,
            sourceColumns,
            // Arrival order breaks ties, so equal rows keep a fixed order.
            tieBreakers: ['__weir_row'],
            dedup: false,
            targetRows: FLUSH_TARGET_ROWS,
            dir: join(dir, `out-${fileIndex}`),
          }),
        ctx.signal,
      );
      for (const file of written.files) {
        outputs.push(
          await publishDataFile(envelope, ctx, catalog, {
            database,
            table: inputs.table,
            partition: ref,
            index: fileIndex++,
            file,
          }),
        );
      }
    }
    const rowsOut = outputs.reduce((sum, f) => sum + f.rows, 0);
    if (rowsOut !== inputs.rows) {
      throw new WeirError(
        'FLUSH_LOST_ROWS',
        `flush of ${inputs.batchId} wrote ${rowsOut} of ${inputs.rows} rows`,
        500,
      );
    }
    const outputRefs = outputs.map((spec) => fileRef(spec));
    const summary = {
      rows: rowsOut,
      files: outputs.length,
      partitions: partitions.length,
      ms: Math.round(performance.now() - started),
    };
    if (replayId !== undefined)
      return taskResult(envelope, { reads, wrote: { files: outputRefs }, summary: { ...summary, replayId } });

    ctx.signal?.throwIfAborted();
    let outcome: Awaited<ReturnType<TenantCatalog['commit']>>;
    try {
      outcome = await catalog.commit(
        outputs.map((file) => ({ op: 'addFile' as const, file })),
        { idempotencyKey: taskId, runId: envelope.runId, taskId, operation: 'flush' },
      );
    } catch (error) {
      if (isRejection(error)) await discardOutputs(ctx.store, catalog, taskId, outputs);
      throw error;
    }
    await ctx.store.delete(inputs.stagingPath);
    return taskResult(envelope, {
      reads,
      wrote: { files: outputRefs, commitVersion: outcome.version, committed: outcome.committed },
      summary: outcome.committed ? summary : { ...summary, redelivered: true },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An earlier attempt's commit, reported as this attempt's result (its staging batch deleted). */
async function finishedAttempt(
  envelope: DispatchEnvelope,
  inputs: FlushInputs,
  ctx: TaskContext,
  catalog: TenantCatalog,
): Promise<TaskResult | undefined> {
  const recorded = await recordedCommit(catalog, envelope.taskId);
  if (!recorded) return undefined;
  await ctx.store.delete(inputs.stagingPath);
  return taskResult(envelope, {
    reads: [
      {
        database: inputs.database,
        table: inputs.table,
        partitions: [],
        files: [],
        catalogVersion: envelope.catalogVersion,
      },
    ],
    wrote: { files: recorded.added, commitVersion: recorded.version },
    summary: { rows: sumRows(recorded.added), files: recorded.added.length, redelivered: true },
  });
}

interface PartitionRange {
  ref: PartitionRef;
  fromMicros: bigint;
  toMicros: bigint;
}

/** The partitions the batch's rows fall in, in time order. */
function partitionsOf(table: Table, partitioning: 'hour' | 'day'): PartitionRange[] {
  const width = partitioning === 'hour' ? HOUR_US : DAY_US;
  const starts = new Set<bigint>();
  const time = table.getChild('time');
  if (!time) throw new WeirError('STAGING_BATCH_MISMATCH', 'staging batch has no time column', 422);
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
