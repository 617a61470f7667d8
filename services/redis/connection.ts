import type { RedisOptions } from 'ioredis';

/**
 * The `unix://` URL of a socket path, each segment percent-encoded so that any path (`#`, `?`, `%`,
 * spaces) comes back whole from `redisOptionsFromUrl`.
 */
export function unixSocketUrl(socketPath: string): string {
  return `unix://${socketPath.split('/').map(encodeURIComponent).join('/')}`;
}

/** ioredis options for a `redis://`, `rediss://` (TLS) or `unix:///path/to.sock` URL. */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.protocol === 'unix:' ? parsed.searchParams.get('db') : parsed.pathname.slice(1);
  const options: RedisOptions = {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
  switch (parsed.protocol) {
    case 'unix:':
      return { ...options, path: decodeURIComponent(parsed.pathname) };
    case 'redis:':
    case 'rediss:':
      return {
        ...options,
        host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
        port: parsed.port ? Number(parsed.port) : 6379,
        ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
      };
    default:
      throw new Error(`unsupported Redis URL scheme ${parsed.protocol} (use redis://, rediss:// or unix://)`);
  }
}

/**
 * Options for BullMQ queues and workers: BullMQ's blocking commands must wait as long as it takes,
 * so ioredis must never give up on a request (`maxRetriesPerRequest: null`).
 */
export function bullmqConnectionOptions(options: RedisOptions): RedisOptions {
  return { ...options, maxRetriesPerRequest: null };
}
