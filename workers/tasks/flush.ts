/**
 * Flush (DESIGN.md §5, ADR 0014): one staging batch becomes sorted data files, one set per hour
 * (or day) partition its rows fall in, added by one commit whose idempotency key is the task id;
 * then the staging batch is deleted. File keys derive from the task id and the bytes are
 * deterministic, so a redelivered attempt rewrites the same objects and its commit is a no-op.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type TenantCatalog, WeirError } from '../../catalog/index.js';
import type { DispatchEnvelope, TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { readStagingBatch } from '../../services/ingest/index.js';
import { assertFlushTable } from '../../services/orchestrator/planner/index.js';
import { assertTableShape, replayIdOf, type TaskContext, tableAt } from './context.js';
import { commitSwap, recordedCommit, sumRows } from './outputs.js';
import { writePartitioned } from './partitioned.js';
import { fileRef, taskResult } from './result.js';

type FlushInputs = TaskInputs<'flush'>;

export async function runFlush(
  envelope: DispatchEnvelope,
  inputs: FlushInputs,
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  const { tenant } = envelope;
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
    const outputs = await writePartitioned(envelope, ctx, catalog, {
      ipc: staged,
      table,
      shape: { columns: inputs.columns, sortKey: inputs.sortKey },
      partitioning: inputs.partitioning,
      database,
      tableName: inputs.table,
      dir,
    });
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
      partitions: new Set(outputs.map((f) => f.partition)).size,
      ms: Math.round(performance.now() - started),
    };
    if (replayId !== undefined)
      return taskResult(envelope, { reads, wrote: { files: outputRefs }, summary: { ...summary, replayId } });

    ctx.signal?.throwIfAborted();
    // The rows belong to the table they were written to: not to one created again under its name
    // after a drop, even with the same columns.
    const outcome = await commitSwap(
      envelope,
      ctx,
      catalog,
      { database, table: inputs.table, removed: [], added: outputs, operation: 'flush' },
      { require: (head) => void assertFlushTable(head, inputs) },
    );
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
