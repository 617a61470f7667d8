/**
 * Delete (DESIGN.md §6): the files a delete plan names are rewritten without the rows its predicate
 * matches — a file left empty is only removed — and one commit, whose idempotency key is the task
 * id, swaps them. Kept rows keep their sorted order; output keys derive from the task id and the
 * bytes are deterministic, so a redelivered attempt rewrites the same objects and commits nothing new.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DuckDBConnection } from '@duckdb/node-api';
import { type FileSpec, fileRecency, paths, WeirError } from '../../catalog/index.js';
import type { DispatchEnvelope, TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { assertTableShape, replayIdOf, type TaskContext, tableAt } from './context.js';
import { duckdbType, type TableShape, writeSortedFiles } from './data-files.js';
import { sqlIdentifier, sqlString, withLockedDuckDB } from './duckdb.js';
import { fetchInputs, liveInputs } from './inputs.js';
import { commitSwap, discardOutputs, publishDataFile, recordedCommit, sumRows } from './outputs.js';
import { fileRef, taskResult } from './result.js';

type DeleteInputs = TaskInputs<'delete'>;

/** Rewritten files keep the size they had: one output per input. */
const ONE_FILE = Number.MAX_SAFE_INTEGER;

export async function runDelete(
  envelope: DispatchEnvelope,
  inputs: DeleteInputs,
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  const { tenant, taskId } = envelope;
  const { database } = inputs;
  const replayId = replayIdOf(envelope);
  const catalog = ctx.catalogs.forTenant(tenant);
  const state = await catalog.at({ version: envelope.catalogVersion });
  const table = tableAt(state, database, inputs.table);
  assertTableShape('delete', inputs, table);
  // The predicate is tenant SQL: guard it here too, whoever planned it (the second wall is below).
  if (!ctx.query) throw new Error('this worker has no query engine: deletes cannot run here');
  await ctx.query.checkPredicate(
    inputs.table,
    inputs.columns.map((c) => c.name),
    inputs.predicate,
  );
  const inputEntries = liveInputs('delete', state, table, inputs.files);
  const inputRefs = inputEntries.map((entry) => fileRef(entry));
  const reads = [
    {
      database,
      table: inputs.table,
      partitions: [...new Set(inputs.files.map((f) => f.partition))],
      files: inputRefs,
      catalogVersion: state.version,
    },
  ];

  if (replayId === undefined) {
    const recorded = await recordedCommit(catalog, taskId);
    if (recorded) {
      return taskResult(envelope, {
        reads,
        wrote: {
          files: recorded.added,
          removed: inputRefs.filter((f) => recorded.removedPaths.includes(f.path)),
          commitVersion: recorded.version,
        },
        summary: { deletedRows: inputs.matchedRows, rowsKept: sumRows(recorded.added), redelivered: true },
      });
    }
  }

  if (/[*?[\]{}]/.test(ctx.workDir))
    throw new RangeError(`work directory ${ctx.workDir} holds glob characters`);
  await mkdir(ctx.workDir, { recursive: true });
  const dir = await mkdtemp(join(ctx.workDir, 'delete-'));
  try {
    const local = await fetchInputs(ctx.store, inputs.files, dir, ctx.signal);
    const shape: TableShape = { columns: inputs.columns, sortKey: inputs.sortKey };
    const outputs: FileSpec[] = [];
    let rowsKept = 0;
    let filesRemoved = 0;
    /** The first file whose matches are not those counted when the delete was planned. */
    let mismatch: { path: string; planned: number; found: number } | undefined;
    // The predicate is tenant SQL: it runs where only this task's files can be opened, with times
    // compared in UTC, as on the query engine that counted the matches.
    try {
      await withLockedDuckDB(
        dir,
        async (connection) => {
          for (const [i, input] of inputs.files.entries()) {
            ctx.signal?.throwIfAborted();
            const written = await withinTimeLimit(
              connection,
              ctx.tenantSqlTimeoutMs,
              input.path,
              async () => {
                const source = await rowsWithout(
                  connection,
                  shape,
                  inputs.table,
                  local[i]!,
                  inputs.predicate,
                );
                return writeSortedFiles(connection, shape, {
                  source,
                  sourceColumns: new Set(shape.columns.map((c) => c.name)),
                  tieBreakers: ['__weir_row'],
                  dedup: false,
                  targetRows: ONE_FILE,
                  dir: join(dir, `out-${i}`),
                });
              },
            );
            const found = input.rows - written.rows;
            if (input.matchedRows !== undefined && found !== input.matchedRows) {
              mismatch = { path: input.path, planned: input.matchedRows, found };
              break;
            }
            rowsKept += written.rows;
            if (written.files.length === 0) filesRemoved++;
            for (const file of written.files) {
              outputs.push(
                await publishDataFile(envelope, ctx, catalog, {
                  database,
                  table: inputs.table,
                  partition: paths.parsePartitionPath(input.partition),
                  index: i,
                  file,
                  // Kept rows are as old as the file they were in, not as this commit.
                  sourceVersion: fileRecency(inputEntries[i]!),
                }),
              );
            }
          }
        },
        ctx.signal,
      );
    } catch (error) {
      // Stopped at the time limit: this attempt's uploads of earlier files will never be committed.
      if (error instanceof WeirError && error.code === 'DELETE_TIMEOUT')
        await discardOutputs(ctx.store, catalog, taskId, outputs);
      throw error;
    }
    const rowsIn = sumRows(inputRefs);
    const deletedRows = rowsIn - rowsKept;
    if (mismatch !== undefined || deletedRows !== inputs.matchedRows) {
      // The rows the user was shown are not the rows this would delete: change nothing.
      await discardOutputs(ctx.store, catalog, taskId, outputs);
      throw new WeirError(
        'DELETE_COUNT_MISMATCH',
        mismatch
          ? `the delete's predicate matches ${mismatch.found} rows of ${mismatch.path} here but ${mismatch.planned} when it was planned`
          : `the delete's predicate matches ${deletedRows} rows of ${database}.${inputs.table} here but ${inputs.matchedRows} when it was planned`,
        409,
        mismatch ?? { planned: inputs.matchedRows, found: deletedRows },
      );
    }
    const outputRefs = outputs.map((spec) => fileRef(spec));
    const summary = {
      deletedRows,
      rowsKept,
      filesRewritten: outputs.length,
      filesRemoved,
      ms: Math.round(performance.now() - started),
    };
    if (replayId !== undefined)
      return taskResult(envelope, { reads, wrote: { files: outputRefs }, summary: { ...summary, replayId } });

    ctx.signal?.throwIfAborted();
    const outcome = await commitSwap(envelope, ctx, catalog, {
      database,
      table: inputs.table,
      removed: inputs.files,
      added: outputs,
      operation: 'delete',
    });
    return taskResult(envelope, {
      reads,
      wrote: {
        files: outputRefs,
        removed: inputRefs,
        commitVersion: outcome.version,
        committed: outcome.committed,
      },
      summary: outcome.committed ? summary : { ...summary, redelivered: true },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The rows of one file the predicate does not match, as a relation: columns cast to the table's
 * types (NULL where the file predates a column, as queries see them) and numbered in file order.
 * The matches are found as the count found them — the predicate in a WHERE over a relation named
 * after the table (so a qualified reference binds) — and the other rows kept: the same filter, so
 * the same rows, and a row for which the predicate is NULL is kept, as SQL's DELETE keeps it.
 * Evaluating the predicate as an expression over every row instead would differ where a filter
 * does (a cast that fails on rows an earlier condition excludes).
 */
export async function rowsWithout(
  connection: DuckDBConnection,
  shape: TableShape,
  tableName: string,
  localPath: string,
  predicate: string,
): Promise<string> {
  // The file's path must not be read as hive partitions (`…/host=x/…` would add or replace columns).
  const file = (options: string) =>
    `read_parquet(${sqlString(localPath)}, hive_partitioning = false${options})`;
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${file('')}`);
  const present = new Set(described.getRows().map((row) => String(row[0])));
  const columns = shape.columns.map((c) => {
    const name = sqlIdentifier(c.name);
    return `CAST(${present.has(c.name) ? name : 'NULL'} AS ${duckdbType(c.type)}) AS ${name}`;
  });
  const rows = `(SELECT ${columns.join(', ')}, file_row_number AS __weir_row FROM ${file(', file_row_number = true')})`;
  const matched = `(SELECT __weir_row FROM ${rows} AS ${sqlIdentifier(tableName)} WHERE (${predicate}))`;
  return `(SELECT * FROM ${rows} AS kept WHERE __weir_row NOT IN ${matched})`;
}

/**
 * Runs one file's work under the time limit of tenant SQL, as every query has one: a predicate
 * that is consistent but slow (a heavy regex over every row) stops there instead of holding the
 * worker. Work that ends past the limit fails too, so the outcome never depends on where the
 * interrupt landed.
 */
async function withinTimeLimit<T>(
  connection: DuckDBConnection,
  limitMs: number | undefined,
  path: string,
  work: () => Promise<T>,
): Promise<T> {
  if (limitMs === undefined) return work();
  let timedOut = false;
  let again: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    connection.interrupt();
    // An interrupt that lands between two statements is lost: repeat it until the work ends.
    again = setInterval(() => connection.interrupt(), 50);
  }, limitMs);
  try {
    const result = await work();
    if (!timedOut) return result;
  } catch (error) {
    if (!timedOut) throw error;
  } finally {
    clearTimeout(timer);
    clearInterval(again);
  }
  // A 4xx: another attempt would run as long again.
  throw new WeirError(
    'DELETE_TIMEOUT',
    `the delete ran longer than ${limitMs} ms (query.timeoutMs) on ${path} and was stopped; nothing was deleted`,
    408,
    { path, limitMs },
  );
}
