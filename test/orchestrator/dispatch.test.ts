import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attemptsOf,
  backoffDelay,
  DEFAULT_RETRY,
  Dispatcher,
  type RetryPolicy,
} from '../../services/orchestrator/index.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { envelopeOf } from '../workers/support.js';

/** How long a task keeps being retried before its last attempt fails for good. */
const retryWindowMs = (policy: RetryPolicy, kind: string) =>
  Array.from({ length: attemptsOf(policy, kind) - 1 }, (_, i) => backoffDelay(policy, i + 1)).reduce(
    (sum, ms) => sum + ms,
    0,
  );

describe('retries per task kind', () => {
  let redis: TestRedis;
  let dispatcher: Dispatcher;

  beforeAll(async () => {
    redis = await startTestRedis();
    dispatcher = new Dispatcher(
      { host: redis.host, port: redis.port, maxRetriesPerRequest: null },
      { attempts: 2, attemptsByKind: { flush: 7 }, baseDelayMs: 10, maxDelayMs: 40 },
    );
  });
  afterAll(async () => {
    await dispatcher?.close();
    await redis?.stop();
  });

  it('a flush (acknowledged rows) is retried longer than other kinds', async () => {
    const flush = await dispatcher.enqueue(envelopeOf('t1', 'flush', 1, { batchId: 'b' }));
    const compaction = await dispatcher.enqueue(envelopeOf('t1', 'compaction', 1, { partition: 'p' }));
    expect(flush.opts.attempts).toBe(7);
    expect(compaction.opts.attempts).toBe(2);
  });

  it('by default a flush outlasts an hour-long outage of the store or Redis; other kinds give up in seconds', () => {
    expect(retryWindowMs(DEFAULT_RETRY, 'flush')).toBeGreaterThanOrEqual(50 * 60_000);
    expect(retryWindowMs(DEFAULT_RETRY, 'compaction')).toBeLessThan(60_000);
  });
});
