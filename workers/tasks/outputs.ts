/**
 * Publishing a task's output objects and committing them exactly once (ADR 0010): deterministic
 * bytes under deterministic keys, a commit whose idempotency key is the task id, and the means to
 * find an earlier attempt's commit again. Every task kind that writes data files uses these.
 */
import {
  CatalogConflictError,
  CatalogNotFoundError,
  CatalogRequestError,
  type CommitConditions,
  type FileSpec,
  type ObjectStore,
  type PartitionRef,
  paths,
  sha256Hex,
  type TenantCatalog,
  type TenantState,
  WeirError,
} from '../../catalog/index.js';
import type { DispatchEnvelope, FileRef } from '../../proto/index.js';
import { RunCancelledError, replayIdOf, type TaskContext } from './context.js';
import { fileSpecOf, loadDataFile, type WrittenDataFile } from './data-files.js';
import { fileRef } from './result.js';

/** Whether an attempt of the task has committed (never, for a replay). */
export async function isCommitted(
  catalog: TenantCatalog,
  taskId: string,
  replayId: string | undefined,
): Promise<boolean> {
  if (replayId !== undefined) return false;
  return (await catalog.refresh()).history.get(taskId) !== undefined;
}

/**
 * Creates the output object. Deterministic bytes make an earlier attempt's object identical; it is
 * written again all the same, so its time is this attempt's: the expire sweep deletes never-named
 * objects by their age, and an upload of an attempt that died days ago must not count as old when
 * this attempt is about to commit it (ADR 0026). An object with other bytes is replaced only while
 * no attempt of this task has committed (after that, the catalog references those bytes and they
 * must not change).
 */
export async function publish(
  store: ObjectStore,
  key: string,
  data: Uint8Array,
  sha256: string,
  committed: () => Promise<boolean>,
): Promise<void> {
  if (await store.putIfAbsent(key, data)) return;
  const existing = await store.getIfExists(key);
  if (existing && sha256Hex(existing) !== sha256 && (await committed())) {
    throw new WeirError(
      'NONDETERMINISTIC_OUTPUT',
      `output ${key} exists, is committed, and has other bytes`,
      409,
      {
        path: key,
      },
    );
  }
  await store.put(key, data);
}

export interface DataFileOutput {
  database: string;
  table: string;
  partition: PartitionRef;
  /** Unique within the task: the object key is `{taskId}-{index}`. */
  index: number;
  file: WrittenDataFile;
  /**
   * Key the object by its content too (`{taskId}-{index}-{sha256 prefix}`), for a task whose
   * outputs depend on when it runs (a CQ reads the head): two attempts that computed different
   * rows then never write the same key, so neither can overwrite what the other committed.
   */
  contentKeyed?: boolean;
  /** For rows committed before this file (a compaction's or rewrite's output): their `fileRecency`. */
  sourceVersion?: number;
}

/**
 * Publishes a data file a task wrote locally under its deterministic key (or, for a replay, the
 * scratch mirror of that key) and answers the catalog entry that adds it.
 */
export async function publishDataFile(
  envelope: DispatchEnvelope,
  ctx: TaskContext,
  catalog: TenantCatalog,
  output: DataFileOutput,
): Promise<FileSpec> {
  const { tenant, taskId } = envelope;
  const replayId = replayIdOf(envelope);
  const { database, table, partition, index, file, sourceVersion } = output;
  const { data, sha256 } = await loadDataFile(file.localPath);
  const fileId = output.contentKeyed ? `${taskId}-${index}-${sha256.slice(0, 16)}` : `${taskId}-${index}`;
  const path =
    replayId === undefined
      ? paths.dataKeys.file(tenant, database, table, partition, fileId)
      : paths.scratchKeys.dataFile(tenant, replayId, database, table, partition, fileId);
  await publish(ctx.store, path, data, sha256, () => isCommitted(catalog, taskId, replayId));
  const spec = fileSpecOf(file, {
    path,
    database,
    table,
    partition: paths.partitionPath(partition),
    bytes: data.length,
    sha256,
  });
  return sourceVersion === undefined ? spec : { ...spec, sourceVersion };
}

/** A definite refusal of the commit (as opposed to an outage, after which it may have landed). */
export function isRejection(error: unknown): boolean {
  return (
    error instanceof CatalogConflictError ||
    error instanceof CatalogNotFoundError ||
    error instanceof CatalogRequestError
  );
}

/**
 * Deletes the outputs of a refused commit, so they do not linger unreferenced. Only this task's
 * commit could reference these keys, and once the catalog refused it for a conflict no attempt of
 * the task can commit later (the log is linear); the check below covers one that already did.
 */
export async function discardOutputs(
  store: ObjectStore,
  catalog: TenantCatalog,
  taskId: string,
  outputs: readonly FileSpec[],
): Promise<void> {
  try {
    if ((await catalog.refresh()).history.get(taskId) !== undefined) return;
    for (const output of outputs) await store.delete(output.path);
  } catch {
    // Best effort: the refusal is what the caller needs to see.
  }
}

export interface RecordedCommit {
  version: number;
  /** Files the commit added. */
  added: FileRef[];
  /** Paths of the files it removed. */
  removedPaths: string[];
}

/** The commit an earlier attempt of this task made; undefined if none. */
export async function recordedCommit(
  catalog: TenantCatalog,
  taskId: string,
): Promise<RecordedCommit | undefined> {
  const summary = (await catalog.refresh()).history.get(taskId);
  if (!summary) return undefined;
  const record = await catalog.log.readCommit(summary.version);
  if (!record)
    throw new WeirError(
      'COMMIT_NOT_FOUND',
      `commit ${summary.version} of task ${taskId} cannot be read`,
      500,
    );
  const added: FileRef[] = [];
  const removedPaths: string[] = [];
  for (const action of record.actions) {
    if (action.op === 'addFile') added.push(fileRef(action.file));
    else if (action.op === 'removeFile') removedPaths.push(action.path);
  }
  return { version: summary.version, added, removedPaths };
}

export function sumRows(files: readonly FileRef[]): number {
  return files.reduce((sum, f) => sum + f.rows, 0);
}

/** Same paths with the same bytes, in any order. */
export function sameFiles(a: readonly FileRef[], b: readonly FileRef[]): boolean {
  const key = (files: readonly FileRef[]) =>
    files
      .map((f) => `${f.path}\t${f.sha256}`)
      .sort()
      .join('\n');
  return key(a) === key(b);
}

export interface SwapCommit {
  database: string;
  table: string;
  /** Live files the commit removes. */
  removed: readonly { partition: string; path: string }[];
  /** The task's published outputs it adds. */
  added: readonly FileSpec[];
  /** Commit label (`compaction`, `delete`, `flush`…). */
  operation: string;
}

/**
 * Commits a task's actions with the task id as idempotency key, unless its run was cancelled
 * first. A cancelled task whose earlier attempt already committed still answers that commit: its
 * work is in the catalog, and the run's history must say so.
 */
export async function commitTask(
  envelope: DispatchEnvelope,
  ctx: Pick<TaskContext, 'checkCancelled'>,
  catalog: TenantCatalog,
  actions: readonly unknown[],
  meta: { operation: string; logicalTime?: string },
  conditions: CommitConditions<TenantState> = {},
): Promise<Awaited<ReturnType<TenantCatalog['commit']>>> {
  const { taskId, runId } = envelope;
  try {
    await ctx.checkCancelled?.();
  } catch (error) {
    if (!(error instanceof RunCancelledError)) throw error;
    if ((await catalog.refresh()).history.get(taskId) === undefined) throw error;
  }
  return catalog.commit(actions, { idempotencyKey: taskId, runId, taskId, ...meta }, conditions);
}

/**
 * Commits a task's swap (`commitTask`); when the catalog refuses it, the outputs are deleted so
 * they do not linger unreferenced. A cancelled run's outputs stay for the expire sweep: another
 * attempt of the task (a redelivery while this one still ran) may be inside its commit of the
 * same keys, and a refusal is final for every attempt but a cancel is not.
 */
export async function commitSwap(
  envelope: DispatchEnvelope,
  ctx: Pick<TaskContext, 'store' | 'checkCancelled'>,
  catalog: TenantCatalog,
  swap: SwapCommit,
  conditions: CommitConditions<TenantState> = {},
): Promise<Awaited<ReturnType<TenantCatalog['commit']>>> {
  const actions = [
    ...swap.removed.map((f) => ({
      op: 'removeFile' as const,
      database: swap.database,
      table: swap.table,
      partition: f.partition,
      path: f.path,
    })),
    ...swap.added.map((file) => ({ op: 'addFile' as const, file })),
  ];
  try {
    return await commitTask(envelope, ctx, catalog, actions, { operation: swap.operation }, conditions);
  } catch (error) {
    if (isRejection(error)) await discardOutputs(ctx.store, catalog, envelope.taskId, swap.added);
    throw error;
  }
}
