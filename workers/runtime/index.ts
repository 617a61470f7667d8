/**
 * BullMQ workers for the task queues (`weir worker`, or in-process under `weir serve`). Each
 * job: validate the envelope, report `running`, execute, report the result and lineage, then
 * tell the orchestrator. Failures that retrying cannot fix (conflicts, bad inputs) end the task
 * at once; others retry with capped exponential backoff. A job whose worker died is redelivered
 * by BullMQ's stalled check and runs again; the catalog's idempotency key keeps it exactly-once.
 */
import { hostname } from 'node:os';
import { type ConnectionOptions, UnrecoverableError, Worker } from 'bullmq';
import { WeirError } from '../../catalog/index.js';
import { parseDispatchEnvelope, type TaskResult } from '../../proto/index.js';
import { TASK_KINDS } from '../../proto/task-inputs.js';
import {
  attemptIdOf,
  backoffDelay,
  DEFAULT_RETRY,
  lineageOf,
  type Orchestrator,
  QUEUE_PREFIX,
  queueName,
  type RetryPolicy,
  type RunEventLog,
} from '../../services/orchestrator/index.js';
import { replayIdOf } from '../tasks/context.js';
import { executeTask, RunCancelledError, type TaskContext } from '../tasks/index.js';
import { isCommitted } from '../tasks/outputs.js';

export interface TaskWorkersOptions {
  connection: ConnectionOptions;
  context: TaskContext;
  orchestrator: Orchestrator;
  events: RunEventLog;
  /** Jobs one worker process runs at once, per queue. */
  concurrency?: number;
  kinds?: readonly string[];
  retry?: RetryPolicy;
  /** A job whose worker stops renewing its lock for this long is redelivered. */
  lockDurationMs?: number;
  now?: () => number;
  /** Connection and bookkeeping errors BullMQ reports outside a job (Redis down, a job gone). */
  onError?: (error: Error) => void;
}

export interface TaskWorkers {
  readonly name: string;
  close(): Promise<void>;
}

export function errorInfo(error: unknown): { code: string; message: string } {
  if (error instanceof WeirError) return { code: error.code, message: error.message };
  return { code: 'TASK_ERROR', message: error instanceof Error ? error.message : String(error) };
}

/**
 * Kinds whose envelope deadline is not enforced: a flush carries rows the API acknowledged, which
 * wait in staging until it runs, so running it late is always right (ADR 0014).
 */
const RUN_HOWEVER_LATE: ReadonlySet<string> = new Set(['flush']);

/** Client-side errors (bad inputs, conflicts, missing objects) fail the same way every time. */
function isRetryable(error: unknown): boolean {
  return !(error instanceof WeirError && error.httpStatus < 500);
}

export async function startTaskWorkers(options: TaskWorkersOptions): Promise<TaskWorkers> {
  const { events, orchestrator, context } = options;
  const retry = options.retry ?? DEFAULT_RETRY;
  const now = options.now ?? Date.now;
  const name = `worker:${hostname()}:${process.pid}`;
  const workers = (options.kinds ?? TASK_KINDS).map(
    (kind) =>
      new Worker<unknown, TaskResult | null>(
        queueName(kind),
        async (job) => {
          const envelope = { ...parseDispatchEnvelope(job.data) };
          // Every delivery is an attempt, including one after a worker died (BullMQ counts those
          // in attemptsStarted but not in attemptsMade, which only counts failures). A job that
          // reconcile dispatched again carries the number its first attempt continues from.
          envelope.attempt = envelope.attempt - 1 + Math.max(job.attemptsStarted, job.attemptsMade + 1);
          envelope.attemptId = attemptIdOf(envelope.taskId, envelope.attempt);
          const { tenant, runId, taskId, attempt } = envelope;
          // A replay writes to scratch and reports only to its caller, never to run history.
          const replay = envelope.scratchPrefix !== '';
          const checkCancelled = async () => {
            if (await orchestrator.progress.isCancelled(tenant, runId)) throw new RunCancelledError(runId);
          };
          // An attempt whose earlier attempt committed runs on and reports that commit, whatever
          // else holds: the history never hides work that landed (ADR 0008).
          const committedBefore = () =>
            isCommitted(context.catalogs.forTenant(tenant), taskId, replayIdOf(envelope));
          if (
            !replay &&
            (await orchestrator.progress.isCancelled(tenant, runId)) &&
            !(await committedBefore())
          ) {
            await events.taskEnded(tenant, runId, taskId, 'cancelled', 'run cancelled');
            await orchestrator.taskFinished(tenant, runId, taskId, 'cancelled');
            return null;
          }
          // Informational: the terminal event below is what must be durable before the job is acknowledged.
          if (!replay) {
            events
              .taskRunning(tenant, runId, taskId, attempt, envelope.attemptId, name)
              .catch((error: unknown) => {
                options.onError?.(error instanceof Error ? error : new Error(String(error)));
              });
          }
          let result: TaskResult;
          try {
            if (
              now() > envelope.deadlineMs &&
              !RUN_HOWEVER_LATE.has(envelope.kind) &&
              !(await committedBefore())
            ) {
              throw new WeirError(
                'DEADLINE_EXCEEDED',
                `task ${taskId} was not started before its deadline`,
                408,
              );
            }
            result = await executeTask(envelope, replay ? context : { ...context, checkCancelled });
          } catch (error) {
            // Cancelled before it committed: nothing of this task's work landed.
            if (error instanceof RunCancelledError) {
              await events.taskEnded(tenant, runId, taskId, 'cancelled', error.message);
              await orchestrator.taskFinished(tenant, runId, taskId, 'cancelled');
              return null;
            }
            const final = !isRetryable(error) || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
            if (!replay) {
              await events.taskFailed(tenant, runId, taskId, attempt, errorInfo(error), final);
              if (final) await orchestrator.taskFinished(tenant, runId, taskId, 'failed');
            }
            if (final) throw new UnrecoverableError(errorInfo(error).message);
            throw error;
          }
          // The task's work is done (committed). Failing to report it (events, Redis) is no task
          // failure: the job is retried (or reconcile dispatches it again), and the next attempt
          // finds its commit and reports again.
          if (!replay) {
            await Promise.all([
              events.taskSucceeded(tenant, runId, attempt, result),
              events.lineage(tenant, lineageOf(runId, envelope.kind, result)),
            ]);
            await orchestrator.taskFinished(tenant, runId, taskId, 'succeeded');
          }
          return result;
        },
        {
          connection: options.connection,
          prefix: QUEUE_PREFIX,
          concurrency: options.concurrency ?? 4,
          lockDuration: options.lockDurationMs ?? 30_000,
          // Look for jobs whose worker died as often as a lock can expire.
          stalledInterval: options.lockDurationMs ?? 30_000,
          maxStalledCount: 5,
          settings: { backoffStrategy: (attemptsMade: number) => backoffDelay(retry, attemptsMade) },
        },
      ),
  );
  for (const worker of workers) worker.on('error', (error) => options.onError?.(error));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    name,
    close: async () => {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
