/**
 * A plan's stored form: the canonical JSON of the whole plan (ids included). These bytes are
 * what the orchestrator records and what the golden tests compare; reading them back checks
 * that every id still matches the content, so a recorded plan cannot be edited silently.
 */
import { canonicalJson } from '../../../catalog/index.js';
import { corruptPlan } from './errors.js';
import { planIdOf, runIdOf, taskIdOf } from './ids.js';
import type { Plan, PlanBody, PlannedTask } from './types.js';
import { PLAN_FORMAT } from './types.js';

export function planBytes(plan: Plan): Uint8Array {
  return new TextEncoder().encode(canonicalJson(plan));
}

/** The body a plan id hashes: the plan without its plan id and task ids. */
export function planBody(plan: Plan): PlanBody {
  const { planId: _planId, tasks, ...rest } = plan;
  return { ...rest, tasks: tasks.map(({ taskId: _taskId, ...task }) => task) };
}

/** Parses stored plan bytes and verifies run id, plan id and task ids; throws PLAN_CORRUPT (500). */
export function planFromBytes(bytes: Uint8Array): Plan {
  let plan: Plan;
  try {
    plan = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Plan;
  } catch (error) {
    throw corruptPlan(`not JSON (${(error as Error).message})`);
  }
  if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) throw corruptPlan('not an object');
  if (plan.format !== PLAN_FORMAT) throw corruptPlan(`unknown format ${String(plan.format)}`);
  if (typeof plan.tenant !== 'string' || typeof plan.runKey !== 'string' || !Array.isArray(plan.tasks)) {
    throw corruptPlan('tenant, runKey or tasks missing');
  }
  if (
    !plan.tasks.every(
      (t: PlannedTask) => typeof t === 'object' && t !== null && typeof t.taskKey === 'string',
    )
  ) {
    throw corruptPlan('a task has no task key');
  }
  let runId: string;
  let planId: string;
  try {
    runId = runIdOf(plan.tenant, plan.runKey);
    planId = planIdOf(planBody(plan));
  } catch (error) {
    throw corruptPlan((error as Error).message);
  }
  if (runId !== plan.runId) throw corruptPlan(`run id does not match run key ${plan.runKey}`);
  if (planId !== plan.planId) throw corruptPlan(`plan id ${String(plan.planId)} does not match its content`);
  for (const task of plan.tasks) {
    if (taskIdOf(planId, task.taskKey) !== task.taskId)
      throw corruptPlan(`task id of ${task.taskKey} does not match`);
  }
  return plan;
}
