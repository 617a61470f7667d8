/**
 * The fast-path record of a run in Redis (RunProgress): each task's outcome counts once, failures
 * are counted, and a run Redis does not know is left alone (reconcile rebuilds it from events).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunProgress } from '../../services/orchestrator/index.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

describe('RunProgress', () => {
  let redis: TestRedis;
  let client: Redis;
  let progress: RunProgress;

  beforeAll(async () => {
    redis = await startTestRedis();
    client = new Redis({ host: redis.host, port: redis.port });
    progress = new RunProgress(client);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('counts each task once, failures apart, and keeps the record’s TTL', async () => {
    await progress.init('acme', 'run_a', 3);
    expect(await progress.finish('acme', 'run_a', 't1', 'succeeded')).toEqual({ remaining: 2, failed: 0 });
    // A redelivered task's second report changes nothing.
    expect(await progress.finish('acme', 'run_a', 't1', 'failed')).toBeUndefined();
    expect(await progress.finish('acme', 'run_a', 't2', 'failed')).toEqual({ remaining: 1, failed: 1 });
    expect(await progress.finish('acme', 'run_a', 't3', 'cancelled')).toEqual({ remaining: 0, failed: 2 });
    expect(await client.hget('weir:run:acme:run_a', 'task:t1')).toBe('succeeded');
    expect(await client.ttl('weir:run:acme:run_a')).toBeGreaterThan(0);
  });

  it('leaves a run it has no record of alone, creating nothing', async () => {
    expect(await progress.finish('acme', 'run_unknown', 't1', 'succeeded')).toBeUndefined();
    expect(await client.exists('weir:run:acme:run_unknown')).toBe(0);
  });
});
