/**
 * Task executors (DESIGN.md §6): one dispatch envelope in, one TaskResult out. Each kind parses
 * its inputs with the shared schema before touching anything, reads the catalog at the task's
 * version, and reports what it read and wrote. Replays (a non-empty scratch prefix) write under
 * scratch and commit nothing.
 */
import { paths } from '../../catalog/index.js';
import {
  ContractError,
  type DispatchEnvelope,
  parseDispatchEnvelope,
  type TaskResult,
} from '../../proto/index.js';
import { isTaskKind, parseTaskInputs } from '../../proto/task-inputs.js';
import { runCompaction } from './compaction.js';
import type { TaskContext } from './context.js';
import { runCq } from './cq.js';
import { runDelete } from './delete.js';
import { runExpire } from './expire.js';
import { runFlush } from './flush.js';
import { runCheckpoint, runEventsCompaction, runNoop, runRetention } from './maintenance.js';

export { RunCancelledError, type TaskContext } from './context.js';
export {
  duckdbType,
  fileSpecOf,
  loadDataFile,
  type SortedWriteOptions,
  type SortedWriteResult,
  type TableShape,
  type WrittenDataFile,
  writeSortedFiles,
} from './data-files.js';
export { openWorkerDuckDB, sqlIdentifier, sqlString, type WorkerDuckDBOptions } from './duckdb.js';
export { outputRelativePath, outputsChecksum } from './result.js';

/**
 * Runs one attempt of a task. Throws ContractError for a malformed envelope, an unknown kind or
 * inputs that do not fit the kind (before anything is read or written), WeirErrors for refusals
 * (INPUT_NOT_LIVE, EXPIRE_LIVE_FILE, catalog conflicts…), and whatever the store or DuckDB throws.
 */
export async function executeTask(envelope: DispatchEnvelope, ctx: TaskContext): Promise<TaskResult> {
  const checked = parseDispatchEnvelope(envelope);
  const { kind, inputsJson } = checked;
  if (!isTaskKind(kind)) throw new ContractError(`unknown task kind ${JSON.stringify(kind)}`);
  paths.assertName('tenant', checked.tenant);
  ctx.signal?.throwIfAborted();
  switch (kind) {
    case 'compaction':
      return runCompaction(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'retention':
      return runRetention(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'expire':
      return runExpire(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'checkpoint':
      parseTaskInputs(kind, inputsJson);
      return runCheckpoint(checked, ctx);
    case 'events-compaction':
      return runEventsCompaction(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'flush':
      return runFlush(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'delete':
      return runDelete(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'cq':
      return runCq(checked, parseTaskInputs(kind, inputsJson), ctx);
    case 'noop':
      return runNoop(checked, parseTaskInputs(kind, inputsJson), ctx);
  }
}
