/**
 * BullMQ plumbing: one queue per task kind, jobId = task id (DESIGN.md §6). BullMQ silently
 * ignores re-adding a finished job's id, so it is never the exactly-once guard: the catalog
 * commit's idempotency key (the task id) is.
 */
import { type ConnectionOptions, type Job, Queue, QueueEvents } from 'bullmq';
import { type DispatchEnvelope, parseDispatchEnvelope, type TaskResult } from '../../../proto/index.js';
import type { TaskKind } from '../../../proto/task-inputs.js';

/** Redis key prefix of every Weir queue. */
export const QUEUE_PREFIX = 'weir';

export function queueName(kind: string): string {
  return `tasks-${kind}`;
}

export interface RetryPolicy {
  attempts: number;
  /** Attempts of the kinds that need more than `attempts`. */
  attemptsByKind?: Readonly<Partial<Record<TaskKind, number>>>;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  // A flush carries acknowledged rows, and a flush run that failed leaves its staging batch to an
  // operator: it outlasts an object-store or Redis outage of about an hour (1 s doubling to 60 s).
  attemptsByKind: { flush: 60 },
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
};

export function attemptsOf(policy: RetryPolicy, kind: string): number {
  return policy.attemptsByKind?.[kind as TaskKind] ?? policy.attempts;
}

/** Capped exponential backoff; BullMQ calls it with the attempts made so far (≥ 1). */
export function backoffDelay(policy: RetryPolicy, attemptsMade: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1));
}

export class Dispatcher {
  private readonly queues = new Map<string, Queue>();
  private readonly queueEvents = new Map<string, QueueEvents>();

  constructor(
    private readonly connection: ConnectionOptions,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    /** Connection errors the queues report outside any call (Redis down); calls still throw theirs. */
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  /** Attempts one job of this kind gets. */
  attemptsOf(kind: string): number {
    return attemptsOf(this.retry, kind);
  }

  queue(kind: string): Queue {
    let queue = this.queues.get(kind);
    if (!queue) {
      queue = new Queue(queueName(kind), { connection: this.connection, prefix: QUEUE_PREFIX });
      queue.on('error', this.onError);
      this.queues.set(kind, queue);
    }
    return queue;
  }

  private jobOptions(jobId: string, kind: string) {
    return {
      jobId,
      attempts: this.attemptsOf(kind),
      backoff: { type: 'weir' },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
  }

  /** Validates the envelope (the worker validates it again) and enqueues it once per job id. */
  async enqueue(envelope: DispatchEnvelope, jobId = envelope.taskId): Promise<Job> {
    const data = parseDispatchEnvelope(envelope);
    return this.queue(data.kind).add(data.kind, data, this.jobOptions(jobId, data.kind));
  }

  /** Many envelopes in one round trip per kind (a run with thousands of tasks). */
  async enqueueMany(envelopes: readonly DispatchEnvelope[]): Promise<void> {
    const byKind = new Map<string, DispatchEnvelope[]>();
    for (const envelope of envelopes.map(parseDispatchEnvelope)) {
      const list = byKind.get(envelope.kind) ?? [];
      list.push(envelope);
      byKind.set(envelope.kind, list);
    }
    for (const [kind, list] of byKind) {
      for (let i = 0; i < list.length; i += 1000) {
        const chunk = list.slice(i, i + 1000);
        await this.queue(kind).addBulk(
          chunk.map((data) => ({ name: kind, data, opts: this.jobOptions(data.taskId, kind) })),
        );
      }
    }
  }

  /** Enqueues and waits for the worker's result (replay uses it). */
  async run(envelope: DispatchEnvelope, jobId: string, timeoutMs: number): Promise<TaskResult> {
    const job = await this.enqueue(envelope, jobId);
    let events = this.queueEvents.get(envelope.kind);
    if (!events) {
      events = new QueueEvents(queueName(envelope.kind), {
        connection: this.connection,
        prefix: QUEUE_PREFIX,
      });
      events.on('error', this.onError);
      await events.waitUntilReady();
      this.queueEvents.set(envelope.kind, events);
    }
    return (await job.waitUntilFinished(events, timeoutMs)) as TaskResult;
  }

  /** Removes a task's job if it has not started; answers whether it was removed. */
  async remove(kind: TaskKind | string, taskId: string): Promise<boolean> {
    const job = await this.queue(kind).getJob(taskId);
    if (!job) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try {
      await job.remove();
      return true;
    } catch (error) {
      // A worker took it between the state check and the removal: it runs (or, having seen the
      // run's cancel flag, ends itself cancelled).
      if (error instanceof Error && /locked by another worker/.test(error.message)) return false;
      throw error;
    }
  }

  /** Whether BullMQ still knows the job (waiting, delayed, active, completed or failed). */
  async jobState(kind: string, taskId: string): Promise<string | undefined> {
    const job = await this.queue(kind).getJob(taskId);
    return job ? job.getState() : undefined;
  }

  /**
   * A task's job as reconcile needs it: its state and the number of the last attempt it started.
   * Every delivery is an attempt, numbered on from the attempt the job was dispatched with (as the
   * worker numbers them); the job counts deliveries whose `task.running` event was lost.
   */
  async jobAttempts(
    kind: string,
    taskId: string,
  ): Promise<{ state: string; lastAttempt: number } | undefined> {
    const job = await this.queue(kind).getJob(taskId);
    if (!job) return undefined;
    const state = await job.getState();
    const { attempt } = parseDispatchEnvelope(job.data);
    return { state, lastAttempt: attempt - 1 + Math.max(job.attemptsStarted, job.attemptsMade) };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queueEvents.values()].map((e) => e.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
  }
}
