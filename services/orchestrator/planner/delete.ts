/** Delete: one task rewrites the named files of a table without the rows the predicate matches. */
import { type TenantState, tableKey } from '../../../catalog/index.js';
import type { TaskInputs } from '../../../proto/task-inputs.js';
import { invalidTrigger } from './errors.js';
import type { DeleteTrigger } from './triggers.js';
import type { KindPlan } from './types.js';

export function planDelete(trigger: DeleteTrigger, state: TenantState): KindPlan {
  const { database, table: tableName } = trigger;
  const table = state.tables.get(tableKey(database, tableName));
  if (!table) {
    throw invalidTrigger(
      `invalid delete trigger: table: ${database}.${tableName} does not exist at catalog version ${state.version}`,
      404,
      { field: 'table', database, table: tableName, catalogVersion: state.version },
    );
  }
  const byPath = new Map<string, { partition: string }>();
  for (const [partition, files] of table.partitions)
    for (const path of files.keys()) byPath.set(path, { partition });
  const files: TaskInputs<'delete'>['files'] = [];
  let rows = 0;
  let bytes = 0;
  for (const { path, matchedRows } of trigger.files) {
    const where = byPath.get(path);
    if (!where) {
      // A compaction or another delete replaced it since the matches were counted: count again.
      throw invalidTrigger(
        `invalid delete trigger: files: ${path} is not a live file of ${database}.${tableName} at catalog version ${state.version}`,
        409,
        { field: 'files', path, catalogVersion: state.version },
      );
    }
    const entry = table.partitions.get(where.partition)!.get(path)!;
    if (matchedRows > entry.rows) {
      throw invalidTrigger(
        `invalid delete trigger: files: ${path} holds ${entry.rows} rows, not the ${matchedRows} matches the trigger counts`,
        400,
        { field: 'files', path, rows: entry.rows, matchedRows },
      );
    }
    files.push({
      path,
      partition: where.partition,
      sha256: entry.sha256,
      rows: entry.rows,
      bytes: entry.bytes,
      matchedRows,
    });
    rows += entry.rows;
    bytes += entry.bytes;
  }
  return {
    tasks: [
      {
        taskKey: `delete:${database}.${tableName}`,
        kind: 'delete',
        dependsOn: [],
        inputs: {
          database,
          table: tableName,
          predicate: trigger.predicate,
          files,
          columns: table.columns.map(({ name, type, role }) => ({ name, type, role })),
          sortKey: [...table.sortKey],
          matchedRows: trigger.matchedRows,
        },
      },
    ],
    summary: { tasks: 1, files: files.length, rows, bytes, matchedRows: trigger.matchedRows },
  };
}
