/**
 * Kind-specific task inputs carried as canonical JSON in `DispatchEnvelope.inputsJson`. The
 * planner builds them, the worker parses them with the same schema before running anything.
 */
import { z } from 'zod';
import { ContractError } from './index.js';

const name = z.string().min(1).max(128);

export const inputFileSchema = z
  .object({
    path: z.string().min(1),
    sha256: z.string().length(64),
    rows: z.number().int().min(0),
    bytes: z.number().int().min(0),
  })
  .strict();
export type InputFile = z.infer<typeof inputFileSchema>;

const columnSchema = z
  .object({
    name,
    type: z.enum(['timestamp', 'string', 'float64', 'int64', 'bool']),
    role: z.enum(['time', 'tag', 'field']),
  })
  .strict();

export const taskInputSchemas = {
  /** Merge the files of one partition into sorted files of about `targetRows` rows. */
  compaction: z
    .object({
      database: name,
      table: name,
      partition: z.string().min(1),
      /** Input files by the recency of their rows (`fileRecency`, oldest first): dedup keeps the newest. */
      files: z.array(inputFileSchema).min(1),
      columns: z.array(columnSchema).min(1),
      sortKey: z.array(name).min(1),
      dedup: z.boolean(),
      targetRows: z.number().int().min(1),
    })
    .strict(),
  /** Remove whole partitions whose newest row is older than the cutoff. */
  retention: z
    .object({
      database: name,
      table: name,
      cutoffMicros: z.number().int(),
      partitions: z.array(z.string().min(1)).min(1),
      files: z.array(inputFileSchema.extend({ partition: z.string().min(1) })).min(1),
    })
    .strict(),
  /**
   * Rewrite files without the rows a predicate matches, swapped in by one commit. `predicate` is
   * DuckDB's own rendering of a guarded WHERE over the table's columns (the relation is named
   * after the table); `matchedRows` is what the planning count found, in all and per file, and
   * the task refuses to commit if its own count differs in any file. (Files of plans made before
   * per-file counts carry none; the total is checked then.)
   */
  delete: z
    .object({
      database: name,
      table: name,
      predicate: z.string().min(1).max(100_000),
      files: z
        .array(
          inputFileSchema.extend({
            partition: z.string().min(1),
            matchedRows: z.number().int().min(1).optional(),
          }),
        )
        .min(1),
      columns: z.array(columnSchema).min(1),
      sortKey: z.array(name).min(1),
      matchedRows: z.number().int().min(1),
    })
    .strict(),
  /**
   * Materialize one window of a continuous query: run its query over `[windowStartUs, windowEndUs)`
   * at the task's catalog version and replace the destination's rows of that window in one commit,
   * which also updates the CQ's progress entry.
   */
  cq: z
    .object({
      cqId: name,
      /**
       * The version of the CQ's definition the window was planned from (its policy's version);
       * absent in plans made before windows carried it.
       */
      policyVersion: z.number().int().min(1).optional(),
      progressId: name,
      database: name,
      source: name,
      destination: name,
      query: z.string().min(1).max(1_000_000),
      windowStartUs: z.number().int().min(0),
      windowEndUs: z.number().int().min(1),
      columns: z.array(columnSchema).min(1),
      sortKey: z.array(name).min(1),
      partitioning: z.enum(['hour', 'day']),
      advanceWatermark: z.boolean(),
      /** The catalog version the progress's checked version moves to; -1 to leave it. */
      checkedVersion: z.number().int().min(-1),
      /**
       * A stale window of a tick that could not plan every stale one: the windows before `untilUs`
       * of the scan of source changes up to catalog version `version` are re-materialized.
       */
      staleCursor: z
        .object({ version: z.number().int().min(0), untilUs: z.number().int().min(1) })
        .strict()
        .optional(),
    })
    .strict(),
  /**
   * Delete objects the catalog removed longer ago than the time-travel window: the listed ones, or
   * (a sweep) whatever the tenant's data and scratch prefixes hold that is stale by the bounds.
   */
  expire: z.union([
    z.object({ paths: z.array(z.string().min(1)).min(1) }).strict(),
    z
      .object({
        sweep: z
          .object({
            /** Objects of files the catalog removed at or before this instant (ms) go. */
            removedBeforeMs: z.number().int(),
            /** Objects the catalog never named, last written at or before this instant (ms), go. */
            writtenBeforeMs: z.number().int(),
          })
          .strict(),
      })
      .strict(),
  ]),
  /** Turn one staging batch into sorted, time-partitioned data files of its table. */
  flush: z
    .object({
      database: name,
      table: name,
      batchId: name,
      stagingPath: z.string().min(1),
      rows: z.number().int().min(1),
      /** The version that created the table the rows were written to; its commit requires that table. */
      tableVersion: z.number().int().min(1).optional(),
      columns: z.array(columnSchema).min(1),
      sortKey: z.array(name).min(1),
      partitioning: z.enum(['hour', 'day']),
    })
    .strict(),
  checkpoint: z.object({}).strict(),
  'events-compaction': z.object({ settleMs: z.number().int().min(0) }).strict(),
  /** For benchmarks and tests of the dispatch path: does nothing (optionally waits). */
  noop: z.object({ sleepMs: z.number().int().min(0).max(600_000).default(0) }).strict(),
} as const;

export type TaskKind = keyof typeof taskInputSchemas;
export const TASK_KINDS = Object.keys(taskInputSchemas) as TaskKind[];
export type TaskInputs<K extends TaskKind> = z.infer<(typeof taskInputSchemas)[K]>;

export function isTaskKind(kind: string): kind is TaskKind {
  return Object.hasOwn(taskInputSchemas, kind);
}

export function parseTaskInputs<K extends TaskKind>(kind: K, inputsJson: string): TaskInputs<K> {
  let raw: unknown;
  try {
    raw = JSON.parse(inputsJson);
  } catch {
    throw new ContractError(`inputs of a ${kind} task are not JSON`);
  }
  const parsed = taskInputSchemas[kind].safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ContractError(
      `inputs of a ${kind} task: ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
  }
  return parsed.data as TaskInputs<K>;
}
