/**
 * Fast-path bookkeeping of a run in Redis: which tasks finished and whether the run was
 * cancelled. It is only an accelerator; the event log stays the truth, and `reconcile`
 * rebuilds everything from it when Redis lost this state.
 */
import type { Redis } from 'ioredis';

export type TaskOutcome = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

const key = (tenant: string, runId: string) => `weir:run:${tenant}:${runId}`;
const TTL_SECONDS = 7 * 24 * 3600;

export class RunProgress {
  constructor(private readonly redis: Redis) {}

  /** Starts a run's record, unless it has one: `taskCount` tasks open, `failed` already ended without success. */
  async init(tenant: string, runId: string, taskCount: number, failed = 0): Promise<void> {
    const k = key(tenant, runId);
    await this.redis
      .multi()
      .hsetnx(k, 'remaining', taskCount)
      .hsetnx(k, 'failed', failed)
      .expire(k, TTL_SECONDS)
      .exec();
  }

  /**
   * Records a task's outcome once; answers the tasks still open and how many failed, or
   * undefined when this outcome was already recorded (a redelivery) or the run is unknown here.
   */
  async finish(
    tenant: string,
    runId: string,
    taskId: string,
    outcome: TaskOutcome,
  ): Promise<{ remaining: number; failed: number } | undefined> {
    const k = key(tenant, runId);
    if ((await this.redis.exists(k)) === 0) return undefined;
    if ((await this.redis.hsetnx(k, `task:${taskId}`, outcome)) === 0) return undefined;
    const [[, remaining], [, failed]] = (await this.redis
      .multi()
      .hincrby(k, 'remaining', -1)
      .hincrby(k, 'failed', outcome === 'succeeded' ? 0 : 1)
      .exec()) as [[null, number], [null, number]];
    return { remaining, failed };
  }

  /** True for exactly one caller: who finalizes the run. */
  async claimFinal(tenant: string, runId: string): Promise<boolean> {
    return (await this.redis.hsetnx(key(tenant, runId), 'final', '1')) === 1;
  }

  async cancel(tenant: string, runId: string): Promise<void> {
    const k = key(tenant, runId);
    // The key may not exist yet (a run Redis forgot): it must not then outlive the others.
    await this.redis.multi().hset(k, 'cancelled', '1').expire(k, TTL_SECONDS).exec();
  }

  async isCancelled(tenant: string, runId: string): Promise<boolean> {
    return (await this.redis.hget(key(tenant, runId), 'cancelled')) === '1';
  }
}
