/** The planner's errors: WeirErrors whose code and HTTP status routes pass on unchanged. */
import {
  type TableEntry,
  type TenantState,
  tableCreatedAt,
  tableKey,
  WeirError,
} from '../../../catalog/index.js';

/**
 * Task failures meaning another commit removed or replaced the run's input files between its plan
 * and its commit: the same request planned again, on the newer state, does what is left to do.
 */
export const RACED_TASK_ERRORS: ReadonlySet<string> = new Set([
  'FILE_ALREADY_REMOVED',
  'FILE_NOT_FOUND',
  'INPUT_NOT_LIVE',
  'PLAN_INVALID_TRIGGER',
]);

/** A trigger the planner refuses: malformed (400) or naming something absent at the version (404). */
export function invalidTrigger(message: string, status = 400, details?: Record<string, unknown>): WeirError {
  return new WeirError('PLAN_INVALID_TRIGGER', message, status, details);
}

export function policyNotFound(policyId: string, version: number): WeirError {
  return new WeirError(
    'POLICY_NOT_FOUND',
    `policy ${policyId} does not exist at catalog version ${version}`,
    404,
    { field: 'policyId', policyId, catalogVersion: version },
  );
}

/** A stored policy whose definition the planner cannot use. */
export function invalidPolicy(policyId: string, message: string, field?: string): WeirError {
  return new WeirError('PLAN_INVALID_POLICY', `policy ${policyId}: ${message}`, 400, { policyId, field });
}

/** Stored plan bytes that do not hold a plan whose ids match its content. */
export function corruptPlan(message: string): WeirError {
  return new WeirError('PLAN_CORRUPT', `stored plan is invalid: ${message}`, 500);
}

/**
 * A flush of rows written to a table that has been dropped since (and maybe created again under
 * the same name): the rows went with the table they were written to.
 */
export function flushTableDropped(
  database: string,
  table: string,
  writtenTo: number | undefined,
  current: number | undefined,
): WeirError {
  const again =
    current === undefined ? '' : ` (the table of that name now is the one created at version ${current})`;
  return new WeirError(
    'FLUSH_TABLE_DROPPED',
    `${database}.${table}${writtenTo === undefined ? '' : `, created at version ${writtenTo},`} was dropped after these rows were written to it${again}`,
    410,
    { database, table, ...(writtenTo === undefined ? {} : { tableVersion: writtenTo }) },
  );
}

/** Throws FLUSH_TABLE_DROPPED unless `state` still has the table the rows were written to. */
export function assertFlushTable(
  state: TenantState,
  target: { database: string; table: string; tableVersion?: number | undefined },
): TableEntry {
  const { database, table, tableVersion } = target;
  const entry = tableCreatedAt(state, database, table, tableVersion);
  if (entry) return entry;
  const current = state.tables.get(tableKey(database, table))?.createdVersion;
  throw flushTableDropped(database, table, tableVersion, current);
}
