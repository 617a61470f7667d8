/** The `commits` checkpoint table: the history every catalog keeps, whatever its kind. */
import { Table, type Vector } from 'apache-arrow';
import { column, readBigintColumn, readNonNullBigintColumn, readStringColumn } from '../parquet/index.js';
import { LedgerView } from './ledger.js';
import type { CommitSummary } from './types.js';

const META_COLUMNS = [
  ['author', 'author'],
  ['run_id', 'runId'],
  ['task_id', 'taskId'],
  ['idempotency_key', 'idempotencyKey'],
  ['logical_time', 'logicalTime'],
  ['operation', 'operation'],
] as const;

export function historyToCheckpoint(history: LedgerView<CommitSummary>): Table {
  const commits = [...history];
  const columns: Record<string, Vector> = {
    version: column.int64(commits.map((c) => c.version)),
    committed_at: column.timestampMicros(commits.map((c) => c.timestamp * 1000)),
    action_count: column.int64(commits.map((c) => c.actionCount)),
  };
  for (const [name, field] of META_COLUMNS) columns[name] = column.utf8(commits.map((c) => c[field] ?? null));
  return new Table(columns);
}

export function historyFromCheckpoint(table: Table, version: number): LedgerView<CommitSummary> {
  const versions = readNonNullBigintColumn(table, 'version');
  const committedAt = readBigintColumn(table, 'committed_at');
  const actionCounts = readNonNullBigintColumn(table, 'action_count');
  const meta = META_COLUMNS.map(([name, field]) => [field, readStringColumn(table, name)] as const);
  const entries = versions.map((v, i) => {
    const summary: CommitSummary = {
      version: v,
      timestamp: Math.round((committedAt[i] ?? 0) / 1000),
      actionCount: actionCounts[i]!,
    };
    for (const [field, values] of meta) {
      const value = values[i];
      if (value !== null && value !== undefined) summary[field] = value;
    }
    return summary;
  });
  return LedgerView.from(entries, version, (c) => c.idempotencyKey);
}
