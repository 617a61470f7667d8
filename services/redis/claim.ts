/**
 * One Redis (database) serves one deployment: its queues, run progress, schedule marks and
 * idempotency keys are named alike in every deployment, so a second one on the same Redis would
 * run the first one's tasks against its own store, skip ticks the other marked, and take writes
 * for duplicates of the other's. The first process to start claims the Redis for its deployment
 * (the id of its object store); a process of another deployment is refused.
 */
import type { Redis, RedisOptions } from 'ioredis';
import { RedisUnavailableError } from './errors.js';

export const DEPLOYMENT_KEY = 'weir:deployment';

export async function claimRedis(redis: Redis, deploymentId: string, where: RedisOptions): Promise<void> {
  for (let attempt = 0; attempt < 2; attempt++) {
    if ((await redis.set(DEPLOYMENT_KEY, deploymentId, 'NX')) === 'OK') return;
    const holder = await redis.get(DEPLOYMENT_KEY);
    if (holder === deploymentId) return;
    // Deleted between the two calls: claim it again.
    if (holder === null) continue;
    const address = where.path ?? `${where.host ?? '127.0.0.1'}:${where.port ?? 6379}`;
    throw new RedisUnavailableError(
      `the Redis at ${address} (database ${where.db ?? 0}) serves another Weir deployment (${holder}; ` +
        `this object store's is ${deploymentId}): give each deployment its own Redis or database ` +
        `(e.g. redis://host:6379/1), or, if that deployment is gone for good, delete the key ${DEPLOYMENT_KEY}`,
    );
  }
  throw new RedisUnavailableError(`could not claim the Redis for deployment ${deploymentId}; retry`);
}
