export {
  attemptsOf,
  backoffDelay,
  DEFAULT_RETRY,
  Dispatcher,
  QUEUE_PREFIX,
  queueName,
  type RetryPolicy,
} from './dispatch/queues.js';
export {
  CACHED_PLANS,
  Orchestrator,
  type OrchestratorDeps,
  type ReplayReport,
  type SubmitResult,
} from './orchestrator.js';
export * from './planner/index.js';
export { RunProgress, type TaskOutcome } from './progress.js';
export * from './runs/index.js';
export { defaultSchedules, dueTicks, type Schedule, Scheduler, type SchedulerDeps } from './scheduler.js';
