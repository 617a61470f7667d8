/**
 * One Redis serves one deployment (services/redis/claim.ts): processes of the store that claimed
 * it start; a process of another store is refused before it touches a queue. Real redis-server,
 * real local stores, the real platform start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentIdOf, LocalObjectStore } from '../../catalog/index.js';
import { DEPLOYMENT_KEY, RedisUnavailableError } from '../../services/redis/index.js';
import { startPlatform } from '../../services/runtime/platform.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis;
let root: string;
beforeAll(async () => {
  redis = await startTestRedis();
  root = mkdtempSync(join(tmpdir(), 'weir-claim-'));
});
afterAll(async () => {
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

const storeAt = (name: string) => new LocalObjectStore(join(root, name));
const apiOn = (store: LocalObjectStore) =>
  startPlatform({
    role: 'api',
    store,
    redis: { host: redis.host, port: redis.port },
    log: pino({ level: 'silent' }),
    workerConcurrency: 1,
  });

describe('a Redis claimed by a deployment', () => {
  it('every process of one store names the same deployment, also when they create it together', async () => {
    const store = storeAt('together');
    const ids = await Promise.all(Array.from({ length: 8 }, () => deploymentIdOf(store)));
    expect(new Set(ids).size).toBe(1);
    expect(await deploymentIdOf(storeAt('together'))).toBe(ids[0]);
    expect(await deploymentIdOf(storeAt('elsewhere'))).not.toBe(ids[0]);
  });

  it('starts the processes of the store that claimed it and refuses another store’s, naming both', async () => {
    const mine = storeAt('mine');
    const first = await apiOn(mine);
    const second = await apiOn(mine);
    const client = new Redis({ host: redis.host, port: redis.port });
    try {
      expect(await client.get(DEPLOYMENT_KEY)).toBe(await deploymentIdOf(mine));
      const queuesBefore = await client.keys('weir:tasks-*');
      const other = storeAt('other');
      const refusal = await apiOn(other).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(RedisUnavailableError);
      expect((refusal as Error).message).toContain(await deploymentIdOf(mine));
      expect((refusal as Error).message).toContain(await deploymentIdOf(other));
      expect((refusal as Error).message).toMatch(/give each deployment its own Redis or database/);
      expect(await client.keys('weir:tasks-*')).toEqual(queuesBefore);

      // Once the first deployment is gone for good and its key deleted, the other may claim it.
      await first.stop();
      await second.stop();
      await client.del(DEPLOYMENT_KEY);
      const now = await apiOn(other);
      await now.stop();
      expect(await client.get(DEPLOYMENT_KEY)).toBe(await deploymentIdOf(other));
    } finally {
      client.disconnect();
    }
  });
});
