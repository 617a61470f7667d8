/**
 * When the buffered writer tries a batch again, and after how long (ADR 0021). A retry is safe
 * only because the batch keeps its Idempotency-Key: the server lands a key once.
 */
import { ConnectionError, RateLimitedError, ServerError, ValidationError } from './errors.js';

export interface RetryPolicy {
  /** Retries after 5xx, network failures and a key still in use; 429s do not count. */
  maxRetries: number;
  /** First backoff, in ms; it doubles each retry up to `maxRetryDelay`. */
  retryDelay: number;
  maxRetryDelay: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 20, retryDelay: 200, maxRetryDelay: 10_000 };

/**
 * Longest a `Retry-After` is obeyed: a server (or a proxy) asking for more is likely wrong, and
 * timers overflow past 2^31 - 1 ms (about 24.8 days) to fire at once.
 */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * 409 IDEMPOTENCY_KEY_IN_USE: an earlier attempt of this batch is still being written (or died
 * holding the key, which the server releases within a minute). Waiting settles it either way.
 */
const keyInUse = (error: unknown) =>
  error instanceof ValidationError && error.code === 'IDEMPOTENCY_KEY_IN_USE';

export type RetryDecision = { retry: false } | { retry: true; delayMs: number; counts: boolean };

/**
 * Whether and when to try a failed write again: the buffered writer's batches and `weir import`'s
 * alike. `attempt` is the number of counted retries made so far.
 */
export function decide(error: unknown, attempt: number, policy: RetryPolicy): RetryDecision {
  // Backpressure is the server pacing us, not a failure: wait as told (within bounds), without
  // spending the budget.
  if (error instanceof RateLimitedError) {
    return { retry: true, delayMs: rateLimitDelay(error.retryAfter, policy), counts: false };
  }
  const transient = error instanceof ServerError || error instanceof ConnectionError || keyInUse(error);
  if (!transient || attempt >= policy.maxRetries) return { retry: false };
  return { retry: true, delayMs: backoff(attempt, policy), counts: true };
}

/**
 * The wait after a 429: `Retry-After` (seconds), but at least a first backoff step (an answer of 0
 * or a past date must not make a tight loop) and at most MAX_RETRY_AFTER_MS.
 */
function rateLimitDelay(retryAfter: number | undefined, policy: RetryPolicy): number {
  const floor = backoff(0, policy);
  if (retryAfter === undefined) return floor;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(floor, Math.round(retryAfter * 1000)));
}

/** Capped exponential backoff with jitter (half to all of the step), so writers do not retry in lockstep. */
function backoff(attempt: number, policy: RetryPolicy): number {
  const step = Math.min(policy.maxRetryDelay, policy.retryDelay * 2 ** attempt);
  return Math.round(step / 2 + (Math.random() * step) / 2);
}
