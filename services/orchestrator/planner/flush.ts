/** Flush: one task turns one staging batch into data files of its table (DESIGN.md §5, ADR 0014). */
import { paths, type TenantState } from '../../../catalog/index.js';
import { assertFlushTable } from './errors.js';
import type { FlushTrigger } from './triggers.js';
import type { KindPlan } from './types.js';

export function planFlush(trigger: FlushTrigger, state: TenantState): KindPlan {
  const { database, table, batchId } = trigger;
  const entry = assertFlushTable(state, trigger);
  return {
    tasks: [
      {
        taskKey: `flush:${database}.${table}:${batchId}`,
        kind: 'flush',
        dependsOn: [],
        inputs: {
          database,
          table,
          batchId,
          stagingPath: paths.stagingKeys.batch(state.tenant, batchId),
          rows: trigger.rows,
          ...(trigger.tableVersion === undefined ? {} : { tableVersion: trigger.tableVersion }),
          columns: entry.columns.map(({ name, type, role }) => ({ name, type, role })),
          sortKey: [...entry.sortKey],
          partitioning: entry.partitioning,
        },
      },
    ],
    summary: { tasks: 1, rows: trigger.rows, bytes: trigger.bytes },
  };
}
