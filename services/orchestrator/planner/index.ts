/**
 * The orchestrator's pure planner (DESIGN.md §6, ADR 0007): triggers in, deterministic plans
 * out. Nothing here reads a clock, randomness, the environment or storage.
 */
export {
  type CompactionCandidateOptions,
  type CompactionTier,
  compactionCandidates,
  retentionTriggers,
} from './candidates.js';
export {
  type CqDefinition,
  type CqProgress,
  type CqWindow,
  commitAt,
  cqDefinitionOf,
  cqDefinitionSchema,
  cqProgressAt,
  cqProgressId,
  cqRangeWindows,
  cqTickWindows,
  cqTriggers,
  DEDUP_COMPACTION_OPERATION,
  MAX_RANGE_WINDOWS,
  MAX_TICK_WINDOWS,
} from './cq.js';
export { assertFlushTable, RACED_TASK_ERRORS } from './errors.js';
export { attemptIdOf, ID_PATTERN, planIdOf, runIdOf, runKeyOf, taskIdOf } from './ids.js';
export { EXPIRE_CHUNK } from './maintenance.js';
export { planRun } from './plan.js';
export { planBody, planBytes, planFromBytes } from './serialize.js';
export { parseInstant } from './time.js';
export {
  type CheckpointTrigger,
  type CompactionTrigger,
  type CqTrigger,
  type DeleteTrigger,
  type EventsCompactionTrigger,
  type ExpireTrigger,
  MAX_DELETE_PREDICATE_CHARS,
  type NoopTrigger,
  parseTrigger,
  type RetentionTrigger,
  RUN_KINDS,
  type RunKind,
  type Trigger,
  type TriggerInput,
  triggerSchema,
} from './triggers.js';
export {
  PLAN_FORMAT,
  type Plan,
  type PlanBody,
  type PlannedTask,
  type PlanSummary,
  type PlanTaskBody,
} from './types.js';
