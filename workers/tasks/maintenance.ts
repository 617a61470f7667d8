/** Retention, checkpoints, events compaction and the no-op task (DESIGN.md §4, §6). */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { compactEvents, type FileEntry, paths, TenantCatalog, WeirError } from '../../catalog/index.js';
import { ContractError, type DispatchEnvelope, type FileRef, type TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { replayIdOf, scratchStore, type TaskContext, tableAt } from './context.js';
import { commitTask } from './outputs.js';
import { fileRef, taskResult } from './result.js';

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/**
 * Retention: one commit removes the listed files of partitions whose newest row is older than the
 * cutoff. Their objects stay until expiry deletes them, so time travel keeps working.
 */
export async function runRetention(
  envelope: DispatchEnvelope,
  inputs: TaskInputs<'retention'>,
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  const { tenant } = envelope;
  const { database } = inputs;
  const catalog = ctx.catalogs.forTenant(tenant);
  const state = await catalog.at({ version: envelope.catalogVersion });
  const table = tableAt(state, database, inputs.table);
  const partitions = new Set(inputs.partitions);
  const seen = new Set<string>();
  const where = `${database}.${inputs.table} at catalog version ${state.version}`;
  const entries: FileEntry[] = inputs.files.map((input) => {
    if (!partitions.has(input.partition)) {
      throw new ContractError(
        `inputs of a retention task: ${input.path} is in unlisted partition ${input.partition}`,
      );
    }
    if (seen.has(input.path))
      throw new ContractError(`inputs of a retention task: ${input.path} is listed twice`);
    seen.add(input.path);
    const entry = table.partitions.get(input.partition)?.get(input.path);
    if (!entry || entry.sha256 !== input.sha256) {
      throw new WeirError('INPUT_NOT_LIVE', `input ${input.path} is not a live file of ${where}`, 409, {
        path: input.path,
        catalogVersion: state.version,
      });
    }
    // A guard against a planner bug dropping fresh data: every row must be older than the cutoff.
    if (entry.maxTime >= inputs.cutoffMicros) {
      throw new WeirError(
        'RETENTION_NOT_EXPIRED',
        `file ${input.path} holds rows at or after the retention cutoff ${inputs.cutoffMicros}`,
        409,
        { path: input.path },
      );
    }
    return entry;
  });
  const refs = entries.map((entry) => fileRef(entry));
  const reads = [
    {
      database,
      table: inputs.table,
      partitions: [...inputs.partitions],
      files: refs,
      catalogVersion: state.version,
    },
  ];
  const figures = {
    partitions: inputs.partitions.length,
    files: refs.length,
    rows: refs.reduce((sum, f) => sum + f.rows, 0),
    bytes: refs.reduce((sum, f) => sum + f.bytes, 0),
  };
  if (replayIdOf(envelope) !== undefined) {
    return taskResult(envelope, { reads, summary: { ...figures, replay: true, ms: elapsed(started) } });
  }
  const outcome = await commitTask(
    envelope,
    ctx,
    catalog,
    refs.map((f) => ({
      op: 'removeFile',
      database,
      table: inputs.table,
      partition: f.partition,
      path: f.path,
    })),
    { operation: 'retention' },
  );
  return taskResult(envelope, {
    reads,
    wrote: { removed: refs, commitVersion: outcome.version, committed: outcome.committed },
    summary: { ...figures, ms: elapsed(started) },
  });
}

/** Checkpoint of the state at the task's version; a replay writes it under its scratch prefix. */
export async function runCheckpoint(envelope: DispatchEnvelope, ctx: TaskContext): Promise<TaskResult> {
  const started = performance.now();
  const { tenant } = envelope;
  const state = await ctx.catalogs.forTenant(tenant).at({ version: envelope.catalogVersion });
  const replayId = replayIdOf(envelope);
  const log =
    replayId === undefined
      ? ctx.catalogs.forTenant(tenant).log
      : new TenantCatalog(scratchStore(ctx.store, tenant, replayId), tenant).log;
  const manifest = await log.writeCheckpoint(state);
  const files: FileRef[] = manifest.files.map((f) => ({
    path: replayId === undefined ? f.key : paths.scratchKeys.mirror(tenant, replayId, f.key),
    database: '',
    table: '',
    partition: '',
    rows: f.rows,
    bytes: f.bytes,
    sha256: f.sha256,
  }));
  return taskResult(envelope, {
    wrote: { files },
    summary: { version: manifest.version, files: files.length, ms: elapsed(started) },
  });
}

/** Folds settled event batches into the compacted projections; a replay does nothing. */
export async function runEventsCompaction(
  envelope: DispatchEnvelope,
  inputs: TaskInputs<'events-compaction'>,
  ctx: TaskContext,
): Promise<TaskResult> {
  if (replayIdOf(envelope) !== undefined) {
    return taskResult(envelope, { summary: { skipped: 'events compaction is not replayed' } });
  }
  const result = await compactEvents(ctx.store, envelope.tenant, { settleMs: inputs.settleMs });
  return taskResult(envelope, { summary: { ...result } });
}

export async function runNoop(
  envelope: DispatchEnvelope,
  inputs: TaskInputs<'noop'>,
  ctx: TaskContext,
): Promise<TaskResult> {
  if (inputs.sleepMs > 0) await sleep(inputs.sleepMs, undefined, ctx.signal ? { signal: ctx.signal } : {});
  return taskResult(envelope, {});
}
