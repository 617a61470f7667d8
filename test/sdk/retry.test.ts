/**
 * The buffered writer's retry decisions (sdk/retry.ts) and the `Retry-After` reading they rest on:
 * what is retried, after how long, and what counts against the budget.
 */
import { describe, expect, it } from 'vitest';
import { errorFromResponse, parseRetryAfter } from '../../sdk/errors.js';
import {
  AuthenticationError,
  ConnectionError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  ServerError,
  ValidationError,
} from '../../sdk/index.js';
import { decide, MAX_RETRY_AFTER_MS, type RetryPolicy } from '../../sdk/retry.js';

const policy: RetryPolicy = { maxRetries: 8, retryDelay: 100, maxRetryDelay: 1000 };

describe('decide', () => {
  it('backs off exponentially with jitter, capped at maxRetryDelay, then gives up', () => {
    const error = new ServerError('internal server error', 'INTERNAL_ERROR', 500);
    for (let attempt = 0; attempt < policy.maxRetries; attempt++) {
      const step = Math.min(1000, 100 * 2 ** attempt);
      for (let sample = 0; sample < 50; sample++) {
        const decision = decide(error, attempt, policy);
        expect(decision.retry).toBe(true);
        if (!decision.retry) return;
        expect(decision.counts).toBe(true);
        expect(decision.delayMs).toBeGreaterThanOrEqual(step / 2);
        expect(decision.delayMs).toBeLessThanOrEqual(step);
      }
    }
    expect(decide(error, policy.maxRetries, policy)).toEqual({ retry: false });
  });

  it('retries network failures and a key still in use, not other refusals', () => {
    expect(decide(new ConnectionError('reset', 'CONNECTION_FAILED'), 0, policy).retry).toBe(true);
    expect(decide(new ValidationError('busy', 'IDEMPOTENCY_KEY_IN_USE', 409), 0, policy).retry).toBe(true);
    for (const refusal of [
      new ValidationError('bad', 'INVALID_MSGPACK', 400),
      new ValidationError('too large', 'FST_ERR_CTP_BODY_TOO_LARGE', 413),
      new AuthenticationError('revoked', 'UNAUTHORIZED', 401),
      new PermissionError('no write', 'FORBIDDEN', 403),
      new NotFoundError('gone', 'NOT_FOUND', 404),
      new Error('not an HTTP failure'),
    ]) {
      expect(decide(refusal, 0, policy)).toEqual({ retry: false });
    }
  });

  it('waits exactly what Retry-After says on 429, without spending the budget', () => {
    expect(decide(new RateLimitedError('behind', 'BACKPRESSURE', 3), policy.maxRetries, policy)).toEqual({
      retry: true,
      delayMs: 3000,
      counts: false,
    });
    const untold = decide(new RateLimitedError('behind', 'BACKPRESSURE', undefined), 0, policy);
    expect(untold).toMatchObject({ retry: true, counts: false });
  });

  it('waits at least a first backoff step and at most MAX_RETRY_AFTER_MS, whatever Retry-After says', () => {
    const now = Date.UTC(2026, 10, 21, 12, 0, 0);
    // 0, a date already past, and a delay no timer can hold (setTimeout fires at once past 2^31 - 1 ms).
    const asked = [0, parseRetryAfter(new Date(now - 60_000).toUTCString(), now), 30 * 24 * 3600, 1e300];
    const delays = asked.map((seconds) => {
      const decision = decide(new RateLimitedError('behind', 'BACKPRESSURE', seconds), 0, policy);
      expect(decision).toMatchObject({ retry: true, counts: false });
      return decision.retry ? decision.delayMs : Number.NaN;
    });
    for (const short of delays.slice(0, 2)) {
      expect(short).toBeGreaterThanOrEqual(policy.retryDelay / 2);
      expect(short).toBeLessThanOrEqual(policy.retryDelay);
    }
    expect(delays.slice(2)).toEqual([MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS]);
  });
});

describe('errorFromResponse', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 10, 21, 12, 0, 0);
    expect(parseRetryAfter('2', now)).toBe(2);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });

  it('keeps the text of an answer that is not Weir’s JSON', () => {
    const error = errorFromResponse(502, '<html>Bad Gateway</html>', null);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 502, code: 'HTTP_502', message: '<html>Bad Gateway</html>' });
  });
});
