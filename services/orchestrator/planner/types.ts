/** The shape of a plan: what the planner produces, the orchestrator stores and replay re-reads. */
import type { TaskInputs, TaskKind } from '../../../proto/task-inputs.js';
import type { RunKind, Trigger } from './triggers.js';

/** Version of the plan layout; part of the hashed body, so a layout change changes every plan id. */
export const PLAN_FORMAT = 1;

/** One task as planned, before ids: `inputs` has exactly the shape `proto/task-inputs.ts` gives its kind. */
export type PlanTaskBody = {
  [K in TaskKind]: {
    taskKey: string;
    kind: K;
    /** Task keys of this plan that must succeed first. */
    dependsOn: string[];
    inputs: TaskInputs<K>;
  };
}[TaskKind];

/** Kind-specific counts (integers only, like everything in a plan). */
export type PlanSummary = Record<string, number>;

/** What the plan id hashes (canonical JSON). */
export interface PlanBody {
  format: typeof PLAN_FORMAT;
  tenant: string;
  kind: RunKind;
  runKey: string;
  runId: string;
  /** The catalog version the plan was made from; tasks read exactly this version. */
  catalogVersion: number;
  /** The trigger's logical time, `toISOString()` form. */
  logicalTime: string;
  /** The normalised trigger. */
  trigger: Trigger;
  /** A dry run is recorded and reported but never dispatched. */
  dryRun: boolean;
  /** Sorted by task key. */
  tasks: PlanTaskBody[];
  summary: PlanSummary;
}

export type PlannedTask = PlanTaskBody & { taskId: string };

export interface Plan extends Omit<PlanBody, 'tasks'> {
  planId: string;
  tasks: PlannedTask[];
}

/** What a kind's planner contributes to the plan body. */
export interface KindPlan {
  tasks: PlanTaskBody[];
  summary: PlanSummary;
  dryRun?: boolean;
}
