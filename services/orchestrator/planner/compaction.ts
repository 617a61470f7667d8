/** Compaction: merge the live files of one partition into sorted files of about `targetRows` rows. */
import { fileRecency, type TenantState, tableKey } from '../../../catalog/index.js';
import type { InputFile } from '../../../proto/task-inputs.js';
import { invalidTrigger } from './errors.js';
import { compareByRecency } from './order.js';
import type { CompactionTrigger } from './triggers.js';
import type { KindPlan } from './types.js';

export function planCompaction(trigger: CompactionTrigger, state: TenantState): KindPlan {
  const { database, table: tableName, partition } = trigger;
  const table = state.tables.get(tableKey(database, tableName));
  if (!table) {
    throw invalidTrigger(
      `invalid compaction trigger: table: ${database}.${tableName} does not exist at catalog version ${state.version}`,
      404,
      { field: 'table', database, table: tableName, catalogVersion: state.version },
    );
  }
  const live = table.partitions.get(partition);
  if (!live) {
    throw invalidTrigger(
      `invalid compaction trigger: partition: ${database}.${tableName} has no live files in ${partition} at catalog version ${state.version}`,
      404,
      { field: 'partition', database, table: tableName, partition, catalogVersion: state.version },
    );
  }
  const partitionFiles = live.size;
  if (partitionFiles < 2) {
    return { tasks: [], summary: { tasks: 0, partitionFiles, inputFiles: 0, inputRows: 0, inputBytes: 0 } };
  }
  // Least recent rows first: a deduplicating worker keeps the row of the most recent file. A
  // rewritten file (compaction, delete) ranks by its rows' commits, not its own. Each catalog entry
  // is read once (they are scattered in memory; a second pass costs as much as the first).
  const entries: { recency: number; file: InputFile }[] = [];
  let sorted = true;
  let inputRows = 0;
  let inputBytes = 0;
  for (const entry of live.values()) {
    const file = { path: entry.path, sha256: entry.sha256, rows: entry.rows, bytes: entry.bytes };
    const recency = fileRecency(entry);
    const last = entries[entries.length - 1];
    if (last && compareByRecency(last.recency, last.file.path, recency, file.path) > 0) sorted = false;
    entries.push({ recency, file });
    inputRows += file.rows;
    inputBytes += file.bytes;
  }
  if (!sorted) entries.sort((a, b) => compareByRecency(a.recency, a.file.path, b.recency, b.file.path));
  const files = entries.map((e) => e.file);
  const sortKey =
    table.sortKey.length > 0
      ? [...table.sortKey]
      : [...table.columns.filter((c) => c.role === 'tag').map((c) => c.name), 'time'];
  return {
    tasks: [
      {
        taskKey: `compact:${database}.${tableName}:${partition}`,
        kind: 'compaction',
        dependsOn: [],
        inputs: {
          database,
          table: tableName,
          partition,
          files,
          columns: table.columns.map((c) => ({ name: c.name, type: c.type, role: c.role })),
          sortKey,
          dedup: trigger.dedup,
          targetRows: trigger.targetRows,
        },
      },
    ],
    summary: { tasks: 1, partitionFiles, inputFiles: files.length, inputRows, inputBytes },
  };
}
