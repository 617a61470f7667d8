/**
 * `Idempotency-Key` on writes (DESIGN.md §5): a retried request with the same key lands once.
 * Keys live in Redis, shared by every API node: `pending` while a request holds the key (short
 * expiry, so a crashed node does not block retries forever), `done` once its rows are as durable
 * as the mode promises. WAL records carry the key, so recovery marks the keys of rows it replays
 * as done: a request acknowledged just before a crash is not written again by its retry.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { IngestError } from './errors.js';

const KEY_RE = /^[\x21-\x7e]{1,255}$/;
const DONE_TTL_SECONDS = 24 * 3600;
const PENDING_TTL_MS = 60_000;

export type IdempotencyState = 'new' | 'duplicate' | 'in-progress';

/** Checks the header value: 1–255 printable ASCII characters. */
export function checkIdempotencyKey(key: string): string {
  if (!KEY_RE.test(key)) {
    throw new IngestError(
      'INVALID_IDEMPOTENCY_KEY',
      'Idempotency-Key must be 1 to 255 printable ASCII characters without spaces',
      400,
    );
  }
  return key;
}

export class IdempotencyKeys {
  constructor(private readonly redis: Redis) {}

  private redisKey(tenant: string, key: string): string {
    return `weir:idem:${tenant}:${createHash('sha256').update(key).digest('hex')}`;
  }

  async begin(tenant: string, key: string): Promise<IdempotencyState> {
    const k = this.redisKey(tenant, key);
    if ((await this.redis.set(k, 'pending', 'PX', PENDING_TTL_MS, 'NX')) === 'OK') return 'new';
    const value = await this.redis.get(k);
    if (value === 'done') return 'duplicate';
    // Expired between the two calls: take it now.
    if (value === null) return this.begin(tenant, key);
    return 'in-progress';
  }

  async complete(tenant: string, key: string): Promise<void> {
    await this.redis.set(this.redisKey(tenant, key), 'done', 'EX', DONE_TTL_SECONDS);
  }

  /** Releases a key whose request failed before its rows were accepted, so a retry may write them. */
  async abandon(tenant: string, key: string): Promise<void> {
    const k = this.redisKey(tenant, key);
    // Only a pending key: never forget one that completed.
    await this.redis.eval(
      "if redis.call('get', KEYS[1]) == 'pending' then return redis.call('del', KEYS[1]) end return 0",
      1,
      k,
    );
  }
}
