/**
 * Deletes by WHERE (ARC-COMPAT.md "Delete", DESIGN.md §6): count what the WHERE matches per file on
 * the query engine, apply the confirmation rules, then run a `delete` run that rewrites exactly
 * those files and swaps them in one commit. A query pinned before that commit still reads the old
 * files (time travel); rows that arrive after the count are not deleted.
 */
import { WeirError } from '../../catalog/index.js';
import { MAX_DELETE_PREDICATE_CHARS, type Orchestrator, RACED_TASK_ERRORS } from '../orchestrator/index.js';
import type { QueryService, RowMatch } from '../query/index.js';

export interface DeleteLimits {
  /** A delete of more rows than this needs `confirm` (so does one whose WHERE matches everything). */
  confirmationThreshold: number;
  /** A delete of more rows than this is refused even with `confirm`. */
  maxRows: number;
  /** How long a request waits for its run. */
  runTimeoutMs: number;
}

export interface DeleteRequest {
  tenant: string;
  database: string;
  table: string;
  where: string;
  dryRun: boolean;
  confirm: boolean;
  signal?: AbortSignal;
  authorize?: (database: string) => void;
}

export interface DeleteOutcome {
  dryRun: boolean;
  deletedRows: number;
  /** Files holding matching rows. */
  affectedFiles: number;
  /** Affected files that keep some rows (rewritten); the others are removed whole. */
  rewrittenFiles: number;
  removedFiles: number;
  /** Files read to count the matches (after pruning by time). */
  scannedFiles: number;
  /** The catalog version the matches were counted at. */
  catalogVersion: number;
  runId: string | null;
  /** The version of the delete's commit; absent for a dry run or when nothing matched. */
  commitVersion?: number;
}

const ATTEMPTS = 3;

export class DeleteService {
  constructor(
    private readonly deps: {
      query: QueryService;
      orchestrator: Orchestrator;
      limits: DeleteLimits;
      now?: () => number;
    },
  ) {}

  get limits(): DeleteLimits {
    return this.deps.limits;
  }

  /**
   * Counts (dry run) or deletes. Throws CONFIRM_REQUIRED and DELETE_TOO_LARGE (400), the query
   * engine's refusals of the WHERE (400/404), and DELETE_FAILED when the run fails.
   */
  async delete(request: DeleteRequest): Promise<DeleteOutcome> {
    for (let attempt = 1; ; attempt++) {
      const match = await this.deps.query.matchRows(request);
      // Checked before a dry run answers too, so it answers as the delete would.
      if (match.predicate.length > MAX_DELETE_PREDICATE_CHARS) {
        throw new WeirError(
          'WHERE_TOO_LONG',
          `the WHERE is ${match.predicate.length} characters as DuckDB writes it, more than a delete takes (${MAX_DELETE_PREDICATE_CHARS}); split the delete`,
          400,
          { length: match.predicate.length, max: MAX_DELETE_PREDICATE_CHARS },
        );
      }
      const outcome = outcomeOf(request.dryRun, match);
      if (request.dryRun || match.matchedRows === 0) return outcome;
      this.checkConfirmation(request, match);
      const raced = (error: { code: string }) => RACED_TASK_ERRORS.has(error.code) && attempt < ATTEMPTS;
      let runId: string;
      try {
        ({ runId } = await this.deps.orchestrator.submit({
          kind: 'delete',
          tenant: request.tenant,
          logicalTime: new Date((this.deps.now ?? Date.now)()).toISOString(),
          database: match.database,
          table: match.table,
          predicate: match.predicate,
          files: match.files.map((f) => ({ path: f.file.path, matchedRows: f.matchedRows })),
          matchedRows: match.matchedRows,
        }));
      } catch (error) {
        if (error instanceof WeirError && error.httpStatus === 409 && raced(error)) continue;
        throw error;
      }
      const run = await this.deps.orchestrator.waitForRun(
        request.tenant,
        runId,
        this.deps.limits.runTimeoutMs,
      );
      const task = run.tasks[0];
      if (run.status === 'succeeded' && task?.result) {
        return { ...outcome, runId, commitVersion: task.result.wrote.commitVersion };
      }
      const cause = task?.error ?? run.error ?? { code: 'DELETE_FAILED', message: `run ${run.status}` };
      if (raced(cause)) continue;
      throw new WeirError(
        'DELETE_FAILED',
        `delete run ${runId} ${run.status}: ${cause.message}; nothing was deleted`,
        statusOfCause(cause.code),
        { runId, cause: cause.code },
      );
    }
  }

  private checkConfirmation(request: DeleteRequest, match: RowMatch): void {
    const { confirmationThreshold, maxRows } = this.deps.limits;
    const table = `${match.database}.${match.table}`;
    if (match.matchedRows > maxRows) {
      throw new WeirError(
        'DELETE_TOO_LARGE',
        `the WHERE matches ${match.matchedRows} rows of ${table}, more than one delete may remove (delete.maxRows ${maxRows}); narrow it, or drop whole partitions with a retention policy`,
        400,
        { matchedRows: match.matchedRows, maxRows },
      );
    }
    if (request.confirm) return;
    const everything = match.constant || match.matchedRows === match.tableRows;
    const reason = everything
      ? `the WHERE matches every row of ${table} (${match.matchedRows} rows)`
      : match.matchedRows > confirmationThreshold
        ? `the WHERE matches ${match.matchedRows} rows of ${table}, above delete.confirmationThreshold ${confirmationThreshold}`
        : `a delete removes ${match.matchedRows} rows of ${table}`;
    throw new WeirError(
      'CONFIRM_REQUIRED',
      `${reason}: pass confirm: true to delete them, or dry_run: true to count`,
      400,
      {
        matchedRows: match.matchedRows,
        confirmationThreshold,
      },
    );
  }
}

/** Task errors carry codes, not statuses: races lost every time and a table dropped meanwhile are the caller's to retry. */
function statusOfCause(code: string): number {
  if (code === 'DELETE_COUNT_MISMATCH' || RACED_TASK_ERRORS.has(code)) return 409;
  if (code === 'TABLE_NOT_FOUND') return 404;
  return 500;
}

function outcomeOf(dryRun: boolean, match: RowMatch): DeleteOutcome {
  const removed = match.files.filter((f) => f.matchedRows === f.file.rows).length;
  return {
    dryRun,
    deletedRows: match.matchedRows,
    affectedFiles: match.files.length,
    rewrittenFiles: match.files.length - removed,
    removedFiles: removed,
    scannedFiles: match.scannedFiles,
    catalogVersion: match.version,
    runId: null,
  };
}
