/**
 * `weir import`'s sending loop (cli/import/send.ts) retries as the SDK's buffered writer does: a
 * key still held by a request cut by a crash is waited out (the server holds it up to 60 s), and a
 * `Retry-After` is obeyed within bounds. The client is a stand-in failing as told, and the waits
 * are counted on an injected clock instead of slept.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SendError, sendAll } from '../../cli/import/send.js';
import { RateLimitedError, ValidationError, type WeirClient } from '../../sdk/index.js';
import { MAX_RETRY_AFTER_MS } from '../../sdk/retry.js';

/** How long the server keeps the key of a request cut by a crash pending (ADR 0021). */
const PENDING_KEY_MS = 60_000;

/** Sends one line-protocol batch with a client whose write throws what `fail` says (or lands). */
async function sendWith(fail: (attempt: number, clock: number) => Error | undefined) {
  let clock = 0;
  let attempt = 0;
  const delays: number[] = [];
  const client = {
    async writeLineProtocol() {
      const error = fail(attempt++, clock);
      if (error) throw error;
    },
  } as unknown as WeirClient;
  async function* batches() {
    yield { kind: 'lp' as const, text: 'cpu,host=a usage=1 1772323200000000000', rows: 1 };
  }
  const outcome = await sendAll(client, batches(), {
    database: 'db',
    compression: 'none',
    precision: undefined,
    concurrency: 1,
    onSent() {},
    onRetry: (_, delayMs) => delays.push(delayMs),
    sleep: async (ms) => {
      clock += ms;
    },
  }).catch((error: unknown) => error);
  return { outcome, delays, clock };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sendAll retries', () => {
  it('waits out a key held for 60 s by a request cut by a crash, even at the shortest backoff', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const { outcome, clock } = await sendWith((_, now) =>
      now < PENDING_KEY_MS
        ? new ValidationError('Idempotency-Key is in use by another request', 'IDEMPOTENCY_KEY_IN_USE', 409)
        : undefined,
    );
    expect(outcome).not.toBeInstanceOf(SendError);
    expect(outcome).toMatchObject({ rows: 1, batches: 1 });
    expect(clock).toBeGreaterThanOrEqual(PENDING_KEY_MS);
  });

  it('waits at least a backoff step for Retry-After: 0 and at most MAX_RETRY_AFTER_MS for 30 days', async () => {
    const asked = [0, 30 * 24 * 3600];
    const { outcome, delays } = await sendWith((attempt) =>
      attempt < asked.length ? new RateLimitedError('behind', 'BACKPRESSURE', asked[attempt]) : undefined,
    );
    expect(outcome).toMatchObject({ rows: 1, batches: 1, retries: 2 });
    expect(delays[0]).toBeGreaterThanOrEqual(100);
    expect(delays[0]).toBeLessThanOrEqual(200);
    expect(delays[1]).toBe(MAX_RETRY_AFTER_MS);
  });
});
