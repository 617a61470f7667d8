/**
 * One window of a continuous query (DESIGN.md §6, ADR 0019). The query runs behind the query guard
 * on the tenant's locked engine, over the source as of the task's catalog version; its rows replace
 * the destination's rows of the window in one commit (idempotency key: the task id), which also
 * moves the CQ's progress. The destination is read at the head when committing — a compaction may
 * have merged its files — and the swap is redone if another commit replaced them meanwhile.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { tableFromIPC } from 'apache-arrow';
import {
  CatalogConflictError,
  canonicalJson,
  type FileSpec,
  fileRecency,
  liveFiles,
  type PolicySpec,
  paths,
  type TenantCatalog,
  type TenantState,
  tableKey,
  WeirError,
} from '../../catalog/index.js';
import type { DispatchEnvelope, FileRef, TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { assertReadsOwnTables } from '../../services/cq/query-rules.js';
import {
  type CqProgress,
  commitAt,
  cqDefinitionOf,
  cqProgressAt,
} from '../../services/orchestrator/planner/index.js';
import { cqSql, type QueryRequest } from '../../services/query/index.js';
import { arrowStream } from '../../services/query/results/index.js';
import { replayIdOf, type TaskContext } from './context.js';
import { type TableShape, writeSortedFiles } from './data-files.js';
import { rowsWithout } from './delete.js';
import { withConnection } from './duckdb.js';
import { fetchInputs } from './inputs.js';
import { commitTask, discardOutputs, publishDataFile, recordedCommit } from './outputs.js';
import { writePartitioned } from './partitioned.js';
import { fileRef, taskResult } from './result.js';

type CqInputs = TaskInputs<'cq'>;

/** A window's answer is an aggregate: bounded well below what a query answer may be. */
const WINDOW_LIMITS = { maxRows: 10_000_000, maxBytes: 1024 * 1024 * 1024 };
const SWAP_ATTEMPTS = 3;
/** Rewritten destination files get output indexes from here (the window's own files count from 0). */
const REWRITE_INDEX = 1_000_000;
/** How often a running window looks whether its CQ was deleted meanwhile. */
const DELETION_POLL_MS = 1_000;

export async function runCq(
  envelope: DispatchEnvelope,
  inputs: CqInputs,
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  if (!ctx.query) throw new Error('this worker has no query engine: continuous queries cannot run here');
  if (replayIdOf(envelope) !== undefined)
    throw new WeirError('NOT_REPLAYABLE', 'continuous query windows are not replayed', 409);
  const catalog = ctx.catalogs.forTenant(envelope.tenant);

  const recorded = await recordedCommit(catalog, envelope.taskId);
  if (recorded) {
    return taskResult(envelope, {
      reads: [],
      wrote: { files: recorded.added, commitVersion: recorded.version },
      summary: { redelivered: true },
    });
  }
  // A window of a CQ deleted or changed since the run was planned has nothing left to commit to.
  assertCqUnchanged(await catalog.current(), inputs);
  const watch = watchDeletion(catalog, inputs, ctx.signal);
  try {
    return await materialize(envelope, inputs, { ...ctx, query: ctx.query, signal: watch.signal }, started);
  } catch (error) {
    // Whatever the abort broke off (the query, a download, a rewrite), the deletion is the cause.
    if (watch.deleted()) throw cqDeleted(inputs);
    throw error;
  } finally {
    watch.stop();
  }
}

/** The window's rows, written and swapped into the destination; `ctx.signal` also stops it when the CQ is deleted. */
async function materialize(
  envelope: DispatchEnvelope,
  inputs: CqInputs,
  ctx: TaskContext & { query: NonNullable<TaskContext['query']> },
  started: number,
): Promise<TaskResult> {
  const { taskId } = envelope;
  const { database } = inputs;
  const catalog = ctx.catalogs.forTenant(envelope.tenant);
  const window = { start: inputs.windowStartUs, end: inputs.windowEndUs };

  // The window's rows, read at the task's version.
  const request: QueryRequest = {
    tenant: envelope.tenant,
    database,
    sql: cqSql(inputs.query, window.start, window.end),
    asOf: { version: envelope.catalogVersion },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };
  const prepared = await ctx.query.prepare(request);
  // A definition stored before the rules fails here, before it reads another database's files
  // or its own destination (which would add a window's earlier output again on every run).
  assertReadsOwnTables(prepared.plan, database, inputs.source, inputs.destination);
  const answer = await ctx.query.run(
    request,
    async (result) => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of arrowStream(result, WINDOW_LIMITS)) chunks.push(chunk);
      return Buffer.concat(chunks);
    },
    prepared,
  );
  const reads = answer.plan.tables.map((t) => ({
    database: t.database,
    table: t.table,
    partitions: [...new Set(t.files.map((f) => f.partition))].sort(),
    files: t.files.map((f) => fileRef(f)),
    catalogVersion: answer.plan.version,
  }));
  const rows = tableFromIPC(answer.value);
  checkAnswer(
    inputs,
    rows.schema.fields.map((f) => f.name),
  );
  const nullTimes = rows.getChild('time')?.nullCount ?? 0;
  if (nullTimes > 0) {
    throw new WeirError(
      'CQ_NULL_TIME',
      `continuous query ${inputs.cqId} answered ${nullTimes} of ${rows.numRows} rows with a NULL time in its window [${iso(window.start)}, ${iso(window.end)}); every row needs a time (e.g. time_bucket over the source's time); nothing of the window was committed`,
      422,
      { cqId: inputs.cqId, rows: nullTimes },
    );
  }

  if (/[*?[\]{}]/.test(ctx.workDir))
    throw new RangeError(`work directory ${ctx.workDir} holds glob characters`);
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'cq-'));
  try {
    const shape: TableShape = { columns: inputs.columns, sortKey: inputs.sortKey };
    const outputs =
      rows.numRows === 0
        ? []
        : await writePartitioned(envelope, ctx, catalog, {
            ipc: answer.value,
            table: rows,
            shape,
            partitioning: inputs.partitioning,
            database,
            tableName: inputs.destination,
            dir: join(dir, 'window'),
            contentKeyed: true,
          });
    for (const file of outputs) {
      if (file.minTime < window.start || file.maxTime >= window.end) {
        await discardOutputs(ctx.store, catalog, taskId, outputs);
        throw new WeirError(
          'CQ_OUTPUT_OUTSIDE_WINDOW',
          `continuous query ${inputs.cqId} answered rows with times outside its window [${iso(window.start)}, ${iso(window.end)}); its time column must stay inside the window (e.g. time_bucket by the interval or less)`,
          422,
        );
      }
    }

    // Whether each newer commit of this window by another task was this CQ's (see assertNotSuperseded).
    const windowCommitsOfCq = new Map<number, boolean>();
    for (let attempt = 1; ; attempt++) {
      ctx.signal?.throwIfAborted();
      const head = await catalog.refresh();
      for (const version of otherWindowCommits(head, envelope, inputs)) {
        if (windowCommitsOfCq.has(version)) continue;
        const then = await catalog.at({ version });
        windowCommitsOfCq.set(version, then.policies.get(inputs.progressId)?.version === version);
      }
      const swap = await rewriteOverlaps(
        envelope,
        ctx,
        catalog,
        head,
        inputs,
        shape,
        join(dir, `swap-${attempt}`),
      );
      // Rewriting took time: the CQ is looked up again right before committing (see progressPolicy).
      const progress = progressPolicy(await catalog.refresh(), inputs);
      const actions = [
        ...swap.removed.map((f) => ({
          op: 'removeFile' as const,
          database,
          table: inputs.destination,
          partition: f.partition,
          path: f.path,
        })),
        ...[...outputs, ...swap.rewritten].map((file) => ({ op: 'addFile' as const, file })),
        { op: 'setPolicy' as const, policy: progress },
      ];
      try {
        const outcome = await commitTask(
          envelope,
          ctx,
          catalog,
          actions,
          { operation: 'cq', logicalTime: iso(window.start) },
          {
            require: (head) => {
              assertCqUnchanged(head, inputs);
              assertNotSuperseded(head, envelope, inputs, windowCommitsOfCq);
              assertProgressUnchanged(head, inputs, progress);
            },
          },
        );
        return taskResult(envelope, {
          reads,
          wrote: {
            files: [...outputs, ...swap.rewritten].map((f) => fileRef(f)),
            removed: swap.removed,
            commitVersion: outcome.version,
            committed: outcome.committed,
          },
          summary: {
            windowStart: iso(window.start),
            windowEnd: iso(window.end),
            rowsRead: reads.reduce((sum, r) => sum + r.files.reduce((s, f) => s + f.rows, 0), 0),
            rowsWritten: rows.numRows,
            replacedFiles: swap.removed.length,
            ms: Math.round(performance.now() - started),
          },
        });
      } catch (error) {
        // The destination's files changed under the swap (a compaction): read them again. The
        // refused outputs stay: another attempt of this task (a redelivery while this one still
        // ran) may have committed the same objects, and no check before a delete can rule that out.
        if (error instanceof CatalogConflictError && attempt < SWAP_ATTEMPTS) continue;
        throw error;
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const iso = (micros: number) => new Date(micros / 1000).toISOString();

/** The answer's columns must be columns of the destination, `time` among them. */
function checkAnswer(inputs: CqInputs, names: readonly string[]): void {
  const known = new Set(inputs.columns.map((c) => c.name));
  const unknown = names.filter((name) => !known.has(name));
  if (!names.includes('time') || unknown.length > 0) {
    throw new WeirError(
      'CQ_SCHEMA_MISMATCH',
      `continuous query ${inputs.cqId} answered columns ${names.join(', ')}; ${inputs.database}.${inputs.destination} has ${[...known].join(', ')}${unknown.length > 0 ? ` (unknown: ${unknown.join(', ')})` : ' (no time column)'}; update the query or the CQ`,
      422,
    );
  }
}

/**
 * The destination's live files holding rows of the window: each is removed, and its rows outside
 * the window are written again (a compaction may have merged several windows into one file).
 */
async function rewriteOverlaps(
  envelope: DispatchEnvelope,
  ctx: TaskContext,
  catalog: TenantCatalog,
  head: TenantState,
  inputs: CqInputs,
  shape: TableShape,
  dir: string,
): Promise<{ removed: FileRef[]; rewritten: FileSpec[] }> {
  const table = head.tables.get(tableKey(inputs.database, inputs.destination));
  if (!table) {
    throw new WeirError(
      'CQ_DESTINATION_MISSING',
      `destination ${inputs.database}.${inputs.destination} of continuous query ${inputs.cqId} no longer exists`,
      409,
    );
  }
  const overlapping = [...liveFiles(table)]
    .filter((f) => f.minTime < inputs.windowEndUs && f.maxTime >= inputs.windowStartUs)
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const removed = overlapping.map((f) => fileRef(f));
  const partial = overlapping.filter(
    (f) => f.minTime < inputs.windowStartUs || f.maxTime >= inputs.windowEndUs,
  );
  if (partial.length === 0) return { removed, rewritten: [] };
  await mkdir(dir, { recursive: true });
  const local = await fetchInputs(ctx.store, partial, dir, ctx.signal);
  const inWindow = `"time" >= make_timestamp(${inputs.windowStartUs}) AND "time" < make_timestamp(${inputs.windowEndUs})`;
  const rewritten: FileSpec[] = [];
  await withConnection(
    ctx.duckdb,
    async (connection) => {
      for (const [i, file] of partial.entries()) {
        const written = await writeSortedFiles(connection, shape, {
          source: await rowsWithout(connection, shape, inputs.destination, local[i]!, inWindow),
          sourceColumns: new Set(shape.columns.map((c) => c.name)),
          tieBreakers: ['__weir_row'],
          dedup: false,
          targetRows: Number.MAX_SAFE_INTEGER,
          dir: join(dir, `out-${i}`),
        });
        for (const output of written.files) {
          rewritten.push(
            await publishDataFile(envelope, ctx, catalog, {
              database: inputs.database,
              table: inputs.destination,
              partition: paths.parsePartitionPath(file.partition),
              index: REWRITE_INDEX + i,
              file: output,
              contentKeyed: true,
              // Kept rows are as old as the file they were in, not as this commit.
              sourceVersion: fileRecency(file),
            }),
          );
        }
      }
    },
    ctx.signal,
  );
  return { removed, rewritten };
}

function cqDeleted(inputs: CqInputs): WeirError {
  return new WeirError(
    'CQ_DELETED',
    `continuous query ${inputs.cqId} was deleted while its window [${iso(inputs.windowStartUs)}, ${iso(inputs.windowEndUs)}) ran; nothing of the window was committed`,
    409,
    { cqId: inputs.cqId },
  );
}

/**
 * The window was planned from the CQ's definition at `policyVersion`: once the CQ is deleted, or
 * updated (or deleted and created again under its name, which is the same id), the window would
 * commit the old definition's rows and move the new definition's progress.
 */
function assertCqUnchanged(state: TenantState, inputs: CqInputs): void {
  const policy = state.policies.get(inputs.cqId);
  if (!policy) throw cqDeleted(inputs);
  // Plans made before windows carried the version (replays of old runs) are not checked.
  if (inputs.policyVersion === undefined || policy.version === inputs.policyVersion) return;
  throw new WeirError(
    'CQ_CHANGED',
    `continuous query ${inputs.cqId} was changed (definition version ${policy.version}, the window was planned from version ${inputs.policyVersion}) while its window [${iso(inputs.windowStartUs)}, ${iso(inputs.windowEndUs)}) ran; nothing of the window was committed`,
    409,
    { cqId: inputs.cqId },
  );
}

/**
 * A signal that aborts (besides `parent`) once the CQ is gone from the catalog, so a deleted CQ's
 * window stops at once: its query would otherwise hold the worker slot until it ends or reaches
 * the query timeout, only to find no CQ to commit to.
 */
function watchDeletion(
  catalog: TenantCatalog,
  inputs: CqInputs,
  parent: AbortSignal | undefined,
): { signal: AbortSignal; deleted(): boolean; stop(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const poll = () => {
    timer = setTimeout(async () => {
      // A failed refresh (the store unreachable) is no deletion: the task's own reads will see it.
      const head = await catalog.refresh().catch(() => undefined);
      if (head && !head.policies.has(inputs.cqId)) return controller.abort(cqDeleted(inputs));
      if (timer !== undefined) poll();
    }, DELETION_POLL_MS);
  };
  poll();
  return {
    signal: parent ? AbortSignal.any([parent, controller.signal]) : controller.signal,
    deleted: () => controller.signal.aborted,
    stop: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/**
 * Checked against the state the window's commit lands on: the destination's rows of the window
 * must not come from a window commit made after this task's catalog version by another task (an
 * overlapping run that read the source later, or committed later). Its rows would be replaced with
 * rows read before, while the progress already accounts for what that run read: the aggregate
 * would stay stale for good. Refused (not retried: the version read is this task's own); the run
 * fails and leaves the progress alone, so a later tick materializes the window again if need be.
 * A destination file's recency is the window commit that wrote its rows, also after a compaction
 * merged it or a window swap rewrote it. A newer run that found the window empty left no file and
 * maybe no tombstone: its commit is told by the CQ's progress entry it set (`windowCommitsOfCq`,
 * read before the attempt; a commit not read yet is a conflict, so the attempt reads it).
 */
function assertNotSuperseded(
  head: TenantState,
  envelope: DispatchEnvelope,
  inputs: CqInputs,
  windowCommitsOfCq: ReadonlyMap<number, boolean>,
): void {
  let newer = otherWindowCommits(head, envelope, inputs).some((version) => {
    const ofThisCq = windowCommitsOfCq.get(version);
    if (ofThisCq === undefined) {
      throw new CatalogConflictError(
        'CQ_WINDOW_COMMIT_UNREAD',
        `another run committed window [${iso(inputs.windowStartUs)}, ${iso(inputs.windowEndUs)}) at version ${version} while this one committed`,
        { version },
      );
    }
    return ofThisCq;
  });
  const table = head.tables.get(tableKey(inputs.database, inputs.destination));
  if (!newer && table) {
    newer = [...liveFiles(table)].some((f) => {
      if (f.minTime >= inputs.windowEndUs || f.maxTime < inputs.windowStartUs) return false;
      const version = fileRecency(f);
      if (version <= envelope.catalogVersion) return false;
      const commit = commitAt(head, version);
      return commit?.operation === 'cq' && commit.taskId !== envelope.taskId;
    });
  }
  if (!newer) return;
  throw new WeirError(
    'CQ_WINDOW_SUPERSEDED',
    `window [${iso(inputs.windowStartUs)}, ${iso(inputs.windowEndUs)}) of continuous query ${inputs.cqId} was written by another run after this one read the source (catalog version ${envelope.catalogVersion}); nothing of this window was committed`,
    409,
    { cqId: inputs.cqId, catalogVersion: envelope.catalogVersion },
  );
}

/** Versions after the task's own of `cq` commits of this window's logical time by other tasks. */
function otherWindowCommits(head: TenantState, envelope: DispatchEnvelope, inputs: CqInputs): number[] {
  const versions: number[] = [];
  const windowStart = iso(inputs.windowStartUs);
  for (let i = head.history.lastIndexWhere((c) => c.version <= envelope.catalogVersion) + 1; ; i++) {
    const commit = head.history.at(i);
    if (!commit) return versions;
    if (commit.operation === 'cq' && commit.taskId !== envelope.taskId && commit.logicalTime === windowStart)
      versions.push(commit.version);
  }
}

/**
 * Checked against the state the window's commit lands on: a CQ deleted, or progress moved by
 * another run's window, since `progress` was computed would otherwise be overwritten by it (a
 * deleted CQ's progress entry revived, a watermark moved back). A moved progress is a conflict:
 * the window is swapped again on the newer head.
 */
function assertProgressUnchanged(head: TenantState, inputs: CqInputs, progress: PolicySpec): void {
  if (canonicalJson(progressPolicy(head, inputs)) === canonicalJson(progress)) return;
  throw new CatalogConflictError(
    'CQ_PROGRESS_MOVED',
    `the progress of continuous query ${inputs.cqId} moved while its window [${iso(inputs.windowStartUs)}, ${iso(inputs.windowEndUs)}) ran`,
    { cqId: inputs.cqId },
  );
}

/**
 * The CQ's progress after this window: watermark and checked version only move forward. Throws
 * CQ_DELETED when the CQ is gone, rather than commit the window and a progress entry no CQ owns.
 */
function progressPolicy(head: TenantState, inputs: CqInputs): PolicySpec {
  const policy = head.policies.get(inputs.cqId);
  if (!policy) throw cqDeleted(inputs);
  const current = cqProgressAt(head, policy, cqDefinitionOf(policy));
  const checked = Math.max(current.checked_version, inputs.checkedVersion);
  return {
    id: inputs.progressId,
    kind: 'cq',
    database: inputs.database,
    table: inputs.destination,
    definition: {
      progress_of: inputs.cqId,
      watermark_us: inputs.advanceWatermark
        ? Math.max(current.watermark_us, inputs.windowEndUs)
        : current.watermark_us,
      checked_version: checked,
      ...staleCursorAfter(current, inputs.staleCursor, checked),
    },
  };
}

/**
 * The cursor of the scan of stale windows after this window (ADR 0019, 2026-11-22): the scan of a
 * later version wins (it covers the earlier one's changes too), the same scan's cursor only moves
 * forward, and a checked version that reached the scan's version ends it.
 */
function staleCursorAfter(
  current: CqProgress,
  cursor: CqInputs['staleCursor'],
  checked: number,
): { stale_version?: number; stale_cursor_us?: number } {
  let scan =
    current.stale_version !== undefined && current.stale_cursor_us !== undefined
      ? { version: current.stale_version, untilUs: current.stale_cursor_us }
      : undefined;
  if (cursor && (!scan || cursor.version > scan.version)) scan = cursor;
  else if (cursor && cursor.version === scan!.version)
    scan = { version: scan!.version, untilUs: Math.max(scan!.untilUs, cursor.untilUs) };
  if (!scan || scan.version <= checked) return {};
  return { stale_version: scan.version, stale_cursor_us: scan.untilUs };
}
