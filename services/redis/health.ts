import { Redis, type RedisOptions } from 'ioredis';

export interface RedisHealth {
  /** Resolves when Redis answers PING within the timeout; rejects otherwise. */
  check(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * One long-lived connection for readiness probes. No offline queue, so a probe while Redis is
 * down fails at once instead of waiting for a reconnect.
 */
export function redisHealth(options: RedisOptions, onError: (error: Error) => void): RedisHealth {
  const client = new Redis({
    ...options,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 250, 2_000),
  });
  client.on('error', onError);
  let connecting: Promise<void> | undefined;

  return {
    async check(timeoutMs = 2_000) {
      if (client.status === 'wait') connecting ??= client.connect().catch(() => {});
      await connecting;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to PING in ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([client.ping(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      client.disconnect();
    },
  };
}
