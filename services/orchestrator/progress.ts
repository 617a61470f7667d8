/**
 * Fast-path bookkeeping of a run in Redis: which tasks finished and whether the run was
 * cancelled. It is only an accelerator; the event log stays the truth, and `reconcile`
 * rebuilds everything from it when Redis lost this state.
 */
import type { Redis } from 'ioredis';

export type TaskOutcome = 'succeeded' | 'failed' | 'skipped' | 'cancelled';

const key = (tenant: string, runId: string) => `weir:run:${tenant}:${runId}`;
const TTL_SECONDS = 7 * 24 * 3600;

/** KEYS[1] the run's record; ARGV: the task's field, its outcome, 1 if it failed. */
const FINISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return nil end
local remaining = redis.call('HINCRBY', KEYS[1], 'remaining', -1)
local failed = redis.call('HINCRBY', KEYS[1], 'failed', tonumber(ARGV[3]))
return { remaining, failed }`;

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
    // One script, so a process dying between the steps cannot leave a task marked but not
    // counted (its run would wait for reconcile), and a record that expired meanwhile is not
    // re-created without its TTL.
    const counts = (await this.redis.eval(
      FINISH_SCRIPT,
      1,
      key(tenant, runId),
      `task:${taskId}`,
      outcome,
      outcome === 'succeeded' ? 0 : 1,
    )) as [number, number] | null;
    return counts === null ? undefined : { remaining: counts[0], failed: counts[1] };
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
