import type { RedisOptions } from 'ioredis';
import { redisOptionsFromUrl, unixSocketUrl } from './connection.js';
import { RedisUnavailableError } from './errors.js';
import { ping } from './ping.js';
import { startPrivateRedis } from './private.js';

export type RedisKind = 'configured' | 'local' | 'private';

export interface ResolvedRedis {
  kind: RedisKind;
  /** Where it is, for logs; a password in a configured URL is left as given, so redact before logging. */
  url: string;
  /** ioredis connection options (for BullMQ, wrap them in `bullmqConnectionOptions`). */
  options: RedisOptions;
  /** The private redis-server's pid; only for kind `private`. */
  pid?: number;
  /** Stops the private redis-server; nothing to do for the other kinds. */
  stop(): Promise<void>;
}

export interface ResolveRedisOptions {
  /** REDIS_URL / WEIR_REDIS_URL: used as given, never probed here (readiness reports it). */
  url?: string;
  /** Try 127.0.0.1:6379 before starting a private server. */
  probeLocal: boolean;
  /** False for stateless roles (`weir api`): they must share a Redis, so a private one would be wrong. */
  allowPrivate: boolean;
  dataDir: string;
  serverPath?: string;
}

const LOCAL = { host: '127.0.0.1', port: 6379 } as const;

/** Picks the Redis as DESIGN §1 says: the configured URL, else a local one that answers, else a private child. */
export async function resolveRedis(options: ResolveRedisOptions): Promise<ResolvedRedis> {
  const none = async (): Promise<void> => {};
  if (options.url) {
    return { kind: 'configured', url: options.url, options: redisOptionsFromUrl(options.url), stop: none };
  }
  if (options.probeLocal && (await ping(LOCAL, 300))) {
    return { kind: 'local', url: `redis://${LOCAL.host}:${LOCAL.port}`, options: { ...LOCAL }, stop: none };
  }
  if (!options.allowPrivate) {
    throw new RedisUnavailableError(
      `no Redis: set REDIS_URL (nothing answers at ${LOCAL.host}:${LOCAL.port}, and this role does not start a private one)`,
    );
  }
  const server = await startPrivateRedis({
    dataDir: options.dataDir,
    ...(options.serverPath ? { serverPath: options.serverPath } : {}),
  });
  return {
    kind: 'private',
    url: unixSocketUrl(server.socketPath),
    options: { path: server.socketPath },
    pid: server.pid,
    stop: server.stop,
  };
}
