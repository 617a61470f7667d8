/**
 * Compaction (DESIGN.md §6): the live files of one partition at the task's catalog version become
 * sorted files of about `targetRows` rows, swapped in by one commit whose idempotency key is the
 * task id. Output keys derive from the task id and the bytes are deterministic, so a redelivered
 * attempt writes the same objects and its commit is a no-op that reports the first one's outputs.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type FileSpec, fileRecency, paths, type TenantCatalog, WeirError } from '../../catalog/index.js';
import type { DispatchEnvelope, FileRef, TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { DEDUP_COMPACTION_OPERATION } from '../../services/orchestrator/planner/index.js';
import { assertTableShape, replayIdOf, type TaskContext, tableAt } from './context.js';
import { type TableShape, writeSortedFiles } from './data-files.js';
import { sqlString, withConnection } from './duckdb.js';
import { fetchInputs, liveInputs } from './inputs.js';
import { commitSwap, publishDataFile, recordedCommit, sameFiles, sumRows } from './outputs.js';
import { fileRef, taskResult } from './result.js';

type CompactionInputs = TaskInputs<'compaction'>;

export async function runCompaction(
  envelope: DispatchEnvelope,
  inputs: CompactionInputs,
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  const { tenant, taskId } = envelope;
  const { database, partition } = inputs;
  const partitionRef = paths.parsePartitionPath(partition);
  const replayId = replayIdOf(envelope);
  const catalog = ctx.catalogs.forTenant(tenant);

  const state = await catalog.at({ version: envelope.catalogVersion });
  const table = tableAt(state, database, inputs.table);
  assertTableShape('compaction', inputs, table);
  const inputEntries = liveInputs(
    'compaction',
    state,
    table,
    inputs.files.map((file) => ({ ...file, partition })),
  );
  const inputRefs = inputEntries.map((entry) => fileRef(entry));
  // The outputs hold the inputs' rows: as recent as the most recent input, not as their commit.
  const sourceVersion = inputEntries.reduce((newest, entry) => Math.max(newest, fileRecency(entry)), 0);
  const rowsIn = inputRefs.reduce((sum, f) => sum + f.rows, 0);
  const reads = [
    {
      database,
      table: inputs.table,
      partitions: [partition],
      files: inputRefs,
      catalogVersion: state.version,
    },
  ];
  const phases: Record<string, number> = {};
  let phaseStart = started;
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  const summary = (rowsOut: number, extra: Record<string, unknown> = {}) => ({
    rowsIn,
    rowsOut,
    duplicatesDropped: rowsIn - rowsOut,
    ms: Math.round(performance.now() - started),
    ...phases,
    ...extra,
  });

  if (replayId === undefined) {
    // A redelivered attempt whose commit already landed: report that commit, redo nothing.
    const recorded = await recordedCompaction(catalog, taskId, inputRefs);
    if (recorded) {
      return taskResult(envelope, {
        reads,
        wrote: { files: recorded.outputs, removed: recorded.removed, commitVersion: recorded.version },
        summary: summary(sumRows(recorded.outputs), { redelivered: true }),
      });
    }
  }

  // read_parquet expands glob characters in paths and has no escape for them.
  if (/[*?[\]{}]/.test(ctx.workDir))
    throw new RangeError(`work directory ${ctx.workDir} holds glob characters`);
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'compaction-'));
  try {
    phase('prepareMs');
    const localInputs = await fetchInputs(ctx.store, inputs.files, dir, ctx.signal);
    ctx.signal?.throwIfAborted();
    phase('fetchMs');
    const shape: TableShape = { columns: inputs.columns, sortKey: inputs.sortKey };
    const written = await withConnection(
      ctx.duckdb,
      async (connection) => {
        // Paths must not be read as hive partitions (a work directory `…/host=x/…` would add or
        // replace columns).
        const source = `read_parquet([${localInputs.map(sqlString).join(', ')}], union_by_name = true, hive_partitioning = false)`;
        const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
        const sourceColumns = new Set(described.getRows().map((row) => String(row[0])));
        const counted = await connection.runAndReadAll(`SELECT count(*) FROM ${source}`);
        const sourceRows = Number(counted.getRows()[0]![0]);
        if (sourceRows !== rowsIn) {
          throw new WeirError(
            'INPUT_CORRUPT',
            `input files of ${database}.${inputs.table} ${partition} hold ${sourceRows} rows; the catalog says ${rowsIn}`,
            422,
          );
        }
        return writeSortedFiles(connection, shape, {
          source,
          sourceColumns,
          // The plan lists inputs by recency, oldest first, and each file keeps its rows'
          // commit order: file index then row number order rows oldest to newest.
          tieBreakers: ['file_index', 'file_row_number'],
          dedup: inputs.dedup,
          targetRows: inputs.targetRows,
          sourceRows,
          dir: join(dir, 'out'),
        });
      },
      ctx.signal,
    );

    phase('mergeMs');
    const outputs: FileSpec[] = [];
    for (const [index, file] of written.files.entries()) {
      ctx.signal?.throwIfAborted();
      outputs.push(
        await publishDataFile(envelope, ctx, catalog, {
          database,
          table: inputs.table,
          partition: partitionRef,
          index,
          file,
          sourceVersion,
        }),
      );
    }
    const outputRefs = outputs.map((spec) => fileRef(spec));
    phase('uploadMs');
    if (replayId !== undefined) {
      return taskResult(envelope, {
        reads,
        wrote: { files: outputRefs },
        summary: summary(written.rows, { replayId }),
      });
    }

    ctx.signal?.throwIfAborted();
    const outcome = await commitSwap(envelope, ctx, catalog, {
      database,
      table: inputs.table,
      removed: inputRefs,
      added: outputs,
      // Dropped duplicates change the table's rows: continuous queries over it must know.
      operation: written.rows < rowsIn ? DEDUP_COMPACTION_OPERATION : 'compaction',
    });
    phase('commitMs');
    if (!outcome.committed) {
      // Another attempt of this task committed while this one ran: its outputs are the answer.
      const recorded = await recordedCompaction(catalog, taskId, inputRefs);
      if (recorded && !sameFiles(recorded.outputs, outputRefs)) {
        throw new WeirError(
          'NONDETERMINISTIC_OUTPUT',
          `task ${taskId} produced outputs that differ from its committed attempt`,
          409,
        );
      }
    }
    return taskResult(envelope, {
      reads,
      wrote: {
        files: outputRefs,
        removed: inputRefs,
        commitVersion: outcome.version,
        committed: outcome.committed,
      },
      summary: summary(written.rows, outcome.committed ? {} : { redelivered: true }),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface RecordedCompaction {
  version: number;
  outputs: FileRef[];
  removed: FileRef[];
}

/** An earlier attempt's commit, with its removed files as the input references they were. */
async function recordedCompaction(
  catalog: TenantCatalog,
  taskId: string,
  inputRefs: readonly FileRef[],
): Promise<RecordedCompaction | undefined> {
  const recorded = await recordedCommit(catalog, taskId);
  if (!recorded) return undefined;
  const inputsByPath = new Map(inputRefs.map((f) => [f.path, f]));
  const removed = recorded.removedPaths.flatMap((path) => {
    const input = inputsByPath.get(path);
    return input ? [input] : [];
  });
  return { version: recorded.version, outputs: recorded.added, removed };
}
