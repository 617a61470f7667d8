/**
 * The planner (DESIGN.md §6): a pure function of (trigger, catalog state at version V) to a
 * plan. It reads no clock, randomness, environment or storage; its only time is the trigger's
 * logical time. The same inputs always give the same plan, byte for byte.
 */
import type { TenantState } from '../../../catalog/index.js';
import { planCompaction } from './compaction.js';
import { planCq } from './cq.js';
import { planDelete } from './delete.js';
import { invalidTrigger } from './errors.js';
import { planFlush } from './flush.js';
import { planIdOf, runIdOf, runKeyOf, taskIdOf } from './ids.js';
import { planCheckpoint, planEventsCompaction, planExpire, planNoop } from './maintenance.js';
import { compareText } from './order.js';
import { planRetention } from './retention.js';
import { parseTrigger, type Trigger, type TriggerInput } from './triggers.js';
import { type KindPlan, PLAN_FORMAT, type Plan, type PlanBody } from './types.js';

function planKind(trigger: Trigger, state: TenantState): KindPlan {
  switch (trigger.kind) {
    case 'compaction':
      return planCompaction(trigger, state);
    case 'retention':
      return planRetention(trigger, state);
    case 'checkpoint':
      return planCheckpoint();
    case 'events-compaction':
      return planEventsCompaction(trigger);
    case 'expire':
      return planExpire(trigger, state);
    case 'flush':
      return planFlush(trigger, state);
    case 'delete':
      return planDelete(trigger, state);
    case 'cq':
      return planCq(trigger, state);
    case 'noop':
      return planNoop(trigger);
  }
}

/**
 * Plans the run a trigger asks for against the tenant's catalog state (pin the version: the
 * plan records it and its tasks read exactly it). Throws PLAN_INVALID_TRIGGER (400, or 404
 * when it names a table or partition absent at that version) and POLICY_NOT_FOUND (404).
 */
export function planRun(input: TriggerInput, state: TenantState): Plan {
  const trigger = parseTrigger(input);
  if (trigger.tenant !== state.tenant) {
    throw invalidTrigger(
      `invalid ${trigger.kind} trigger: tenant: ${trigger.tenant} does not match the catalog of ${state.tenant}`,
      400,
      { field: 'tenant' },
    );
  }
  const { tasks, summary, dryRun = false } = planKind(trigger, state);
  tasks.sort((a, b) => compareText(a.taskKey, b.taskKey));
  for (let i = 1; i < tasks.length; i++) {
    if (tasks[i]!.taskKey === tasks[i - 1]!.taskKey)
      throw new Error(`planner bug: task key ${tasks[i]!.taskKey} appears twice`);
  }
  const runKey = runKeyOf(trigger, state.version);
  const body: PlanBody = {
    format: PLAN_FORMAT,
    tenant: trigger.tenant,
    kind: trigger.kind,
    runKey,
    runId: runIdOf(trigger.tenant, runKey),
    catalogVersion: state.version,
    logicalTime: trigger.logicalTime,
    trigger,
    dryRun,
    tasks,
    summary,
  };
  const planId = planIdOf(body);
  return {
    ...body,
    planId,
    tasks: tasks.map((task) => ({ ...task, taskId: taskIdOf(planId, task.taskKey) })),
  };
}
