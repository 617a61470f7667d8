/**
 * Retention: drop whole partitions whose newest row is older than the policy's cutoff
 * (logical time − retention_days). One task per table.
 */
import { z } from 'zod';
import {
  type PolicyEntry,
  paths,
  type TableEntry,
  type TenantState,
  tableKey,
} from '../../../catalog/index.js';
import type { TaskInputs } from '../../../proto/task-inputs.js';
import { invalidPolicy, invalidTrigger, policyNotFound } from './errors.js';
import { compareText } from './order.js';
import { DAY_US, msOf } from './time.js';
import type { RetentionTrigger } from './triggers.js';
import type { KindPlan, PlanTaskBody } from './types.js';

/** The part of a retention policy's definition the planner reads; other members are ignored. */
const retentionDefinitionSchema = z.looseObject({
  retention_days: z.number().positive().finite(),
  /** The table (Arc's "measurement") it covers; without it, every table of the database. */
  measurement: z.string().regex(paths.NAME_RULES.table, 'invalid table name').optional(),
});

export interface RetentionScope {
  database: string;
  /** Undefined: every table of the database. */
  table: string | undefined;
  cutoffMicros: number;
}

/** The tables and cutoff a retention policy covers at a logical time. */
export function retentionScope(policy: PolicyEntry, logicalTime: string): RetentionScope {
  if (policy.kind !== 'retention') {
    throw invalidTrigger(
      `invalid retention trigger: policyId: policy ${policy.id} is a ${policy.kind} policy, not a retention policy`,
      400,
      { field: 'policyId', policyId: policy.id },
    );
  }
  const parsed = retentionDefinitionSchema.safeParse(policy.definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = `definition.${issue.path.map(String).join('.')}`;
    throw invalidPolicy(policy.id, `${field}: ${issue.message}`, field);
  }
  const { retention_days: days, measurement } = parsed.data;
  if (measurement !== undefined && policy.table !== undefined && measurement !== policy.table) {
    throw invalidPolicy(
      policy.id,
      `definition.measurement ${measurement} differs from the policy's table ${policy.table}`,
      'definition.measurement',
    );
  }
  // Math.round keeps the cutoff an integer for fractional day counts (IEEE products are exact
  // to the same bits on every platform, so this stays deterministic).
  const cutoffMicros = msOf(logicalTime) * 1000 - Math.round(days * DAY_US);
  if (!Number.isSafeInteger(cutoffMicros)) {
    throw invalidPolicy(
      policy.id,
      `definition.retention_days ${days} is out of range`,
      'definition.retention_days',
    );
  }
  return { database: policy.database, table: measurement ?? policy.table, cutoffMicros };
}

export function planRetention(trigger: RetentionTrigger, state: TenantState): KindPlan {
  const policy = state.policies.get(trigger.policyId);
  if (!policy) throw policyNotFound(trigger.policyId, state.version);
  const scope = retentionScope(policy, trigger.logicalTime);

  let tables: TableEntry[];
  if (scope.table !== undefined) {
    // A policy may name a table that does not exist (yet): nothing to drop.
    const entry = state.tables.get(tableKey(scope.database, scope.table));
    tables = entry ? [entry] : [];
  } else {
    tables = [...state.tables.values()]
      .filter((t) => t.database === scope.database)
      .sort((a, b) => compareText(a.name, b.name));
  }

  const tasks: PlanTaskBody[] = [];
  let partitionCount = 0;
  let fileCount = 0;
  let rows = 0;
  let bytes = 0;
  for (const table of tables) {
    const partitions: string[] = [];
    const files: TaskInputs<'retention'>['files'] = [];
    for (const partition of [...table.partitions.keys()].sort(compareText)) {
      const live = table.partitions.get(partition)!;
      let newest = -1;
      for (const file of live.values()) if (file.maxTime > newest) newest = file.maxTime;
      if (live.size === 0 || newest >= scope.cutoffMicros) continue;
      partitions.push(partition);
      for (const file of [...live.values()].sort((a, b) => compareText(a.path, b.path))) {
        files.push({ path: file.path, partition, sha256: file.sha256, rows: file.rows, bytes: file.bytes });
        rows += file.rows;
        bytes += file.bytes;
      }
    }
    if (partitions.length === 0) continue;
    partitionCount += partitions.length;
    fileCount += files.length;
    tasks.push({
      taskKey: `retain:${table.database}.${table.name}`,
      kind: 'retention',
      dependsOn: [],
      inputs: {
        database: table.database,
        table: table.name,
        cutoffMicros: scope.cutoffMicros,
        partitions,
        files,
      },
    });
  }
  return {
    tasks,
    dryRun: trigger.dryRun,
    summary: {
      tasks: tasks.length,
      tablesCovered: tables.length,
      tables: tasks.length,
      partitions: partitionCount,
      files: fileCount,
      rows,
      bytes,
      cutoffMicros: scope.cutoffMicros,
    },
  };
}
