export { claimRedis, DEPLOYMENT_KEY } from './claim.js';
export { bullmqConnectionOptions, redisOptionsFromUrl, unixSocketUrl } from './connection.js';
export { RedisUnavailableError } from './errors.js';
export { type RedisHealth, redisHealth } from './health.js';
export { ping, type RedisAddress } from './ping.js';
export { type PrivateRedis, type PrivateRedisOptions, startPrivateRedis } from './private.js';
export { type RedisKind, type ResolvedRedis, type ResolveRedisOptions, resolveRedis } from './resolve.js';
