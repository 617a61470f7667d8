/**
 * The state of a run is the fold of its events (DESIGN.md §6): it can be rebuilt from the
 * event log alone, without Redis. Terminal transitions win over earlier ones whatever their
 * order in the log, so two events with the same millisecond fold the same way.
 */
import type { EventEnvelope } from '../../../catalog/index.js';
import type { TaskResult } from '../../../proto/index.js';
import type { RunPlannedPayload, RunStatus, TaskStatus } from './events.js';

export interface AttemptView {
  attempt: number;
  attemptId?: string;
  worker?: string;
  status: TaskStatus;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
}

export interface TaskView {
  taskId: string;
  taskKey: string;
  kind: string;
  dependsOn: string[];
  status: TaskStatus;
  attempts: AttemptView[];
  result?: TaskResult;
  error?: { code: string; message: string };
  startedAt?: string;
  finishedAt?: string;
}

export interface RunView extends Omit<RunPlannedPayload, 'tasks'> {
  status: RunStatus;
  plannedAt: string;
  startedAt?: string;
  finishedAt?: string;
  error?: { code: string; message: string };
  detail?: Record<string, unknown>;
  tasks: TaskView[];
}

const TASK_RANK: Record<TaskStatus, number> = {
  planned: 0,
  queued: 1,
  running: 2,
  retry_wait: 3,
  failed: 4,
  skipped: 4,
  cancelled: 5,
  succeeded: 6,
};

const iso = (ms: number) => new Date(ms).toISOString();

/** Folds the events of one run (runs and tasks projections, any order) into its view. */
export function foldRun(events: readonly EventEnvelope[]): RunView | undefined {
  const planned = events.find((e) => e.type === 'run.planned');
  if (!planned) return undefined;
  const payload = planned.payload as unknown as RunPlannedPayload;
  const { tasks: plannedTasks, ...rest } = payload;
  const run: RunView = { ...rest, status: 'planned', plannedAt: iso(planned.occurredAt), tasks: [] };
  const tasks = new Map<string, TaskView>(
    plannedTasks.map((t) => [t.taskId, { ...t, status: 'planned' as TaskStatus, attempts: [] }]),
  );
  const sorted = [...events].sort((a, b) => a.occurredAt - b.occurredAt);
  for (const event of sorted) {
    if (event.type.startsWith('run.')) foldRunEvent(run, event);
    else foldTaskEvent(tasks, event);
  }
  run.tasks = [...tasks.values()].sort((a, b) => (a.taskKey < b.taskKey ? -1 : 1));
  return run;
}

function foldRunEvent(run: RunView, event: EventEnvelope) {
  const p = event.payload as Record<string, unknown>;
  switch (event.type) {
    case 'run.started':
      run.startedAt ??= iso(event.occurredAt);
      if (run.status === 'planned') run.status = 'running';
      return;
    case 'run.succeeded':
    case 'run.failed':
    case 'run.cancelled': {
      // The first terminal transition is the run's outcome.
      if (run.finishedAt) return;
      run.status = event.type.slice(4) as RunStatus;
      run.finishedAt = iso(event.occurredAt);
      if (p.error) run.error = p.error as RunView['error'];
      const { runId: _runId, error: _error, ...detail } = p;
      if (Object.keys(detail).length > 0) run.detail = detail;
      return;
    }
  }
}

function foldTaskEvent(tasks: Map<string, TaskView>, event: EventEnvelope) {
  const p = event.payload as {
    taskId: string;
    attempt?: number;
    attemptId?: string;
    worker?: string;
    error?: AttemptView['error'];
    result?: TaskResult;
  };
  const task = tasks.get(p.taskId);
  if (!task) return;
  const status = event.type.slice(5) as TaskStatus;
  const at = iso(event.occurredAt);
  if (p.attempt !== undefined) {
    let attempt = task.attempts.find((a) => a.attempt === p.attempt);
    if (!attempt) {
      attempt = { attempt: p.attempt, status };
      task.attempts.push(attempt);
      task.attempts.sort((a, b) => a.attempt - b.attempt);
    }
    if (TASK_RANK[status] >= TASK_RANK[attempt.status]) attempt.status = status;
    if (status === 'queued') attempt.queuedAt ??= at;
    if (status === 'running') {
      attempt.startedAt ??= at;
      attempt.attemptId = p.attemptId;
      attempt.worker = p.worker;
    }
    if (['succeeded', 'failed', 'retry_wait'].includes(status)) attempt.finishedAt ??= at;
    if (p.error) attempt.error = p.error;
  }
  if (status === 'running') task.startedAt ??= at;
  if (TASK_RANK[status] >= TASK_RANK[task.status]) {
    task.status = status;
    if (['succeeded', 'failed', 'skipped', 'cancelled'].includes(status)) task.finishedAt = at;
    if (p.error) task.error = p.error;
    if (p.result) task.result = p.result;
  }
}
