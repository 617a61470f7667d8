import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  bullmqConnectionOptions,
  type PrivateRedis,
  ping,
  RedisUnavailableError,
  redisHealth,
  redisOptionsFromUrl,
  resolveRedis,
  startPrivateRedis,
  unixSocketUrl,
} from '../../services/redis/index.js';
import { isProcessAlive } from '../helpers/pids.js';

const REDIS_SERVER = '/usr/bin/redis-server';
const base = mkdtempSync(join(tmpdir(), 'weir-redis-'));
let n = 0;
const freshDataDir = (): string => join(base, `d${n++}`);

const started: PrivateRedis[] = [];
async function start(dataDir: string): Promise<PrivateRedis> {
  const server = await startPrivateRedis({ dataDir, serverPath: REDIS_SERVER });
  started.push(server);
  return server;
}

afterEach(async () => {
  for (const server of started.splice(0)) await server.stop();
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('private redis-server', () => {
  it('starts with AOF under the data directory, answers, and stops', async () => {
    const dataDir = freshDataDir();
    const server = await start(dataDir);
    expect(server.socketPath).toBe(join(dataDir, 'redis', 'redis.sock'));
    expect(await ping({ path: server.socketPath })).toBe(true);

    const client = new Redis({ path: server.socketPath });
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', join(dataDir, 'redis')]);
      expect(await client.config('GET', 'port')).toEqual(['port', '0']);
    } finally {
      client.disconnect();
    }
    expect(existsSync(join(dataDir, 'redis', 'appendonlydir'))).toBe(true);

    await server.stop();
    expect(isProcessAlive(server.pid)).toBe(false);
    expect(await ping({ path: server.socketPath })).toBe(false);
    await server.stop(); // idempotent
  });

  it('keeps queued data across a restart (AOF)', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    const writer = new Redis({ path: first.socketPath });
    await writer.rpush('weir:test:queue', 'job-1', 'job-2');
    writer.disconnect();
    await first.stop();

    const second = await start(dataDir);
    const reader = new Redis({ path: second.socketPath });
    try {
      expect(await reader.lrange('weir:test:queue', 0, -1)).toEqual(['job-1', 'job-2']);
    } finally {
      reader.disconnect();
    }
  });

  it('refuses a data directory whose Redis is already running', async () => {
    const dataDir = freshDataDir();
    const first = await start(dataDir);
    const second = startPrivateRedis({ dataDir, serverPath: REDIS_SERVER });
    await expect(second).rejects.toThrow(RedisUnavailableError);
    await expect(second).rejects.toThrow(`pid ${first.pid}`);
  });

  it('replaces a Redis left running by a weir that was killed, keeping its data', async () => {
    const dataDir = freshDataDir();
    const dir = join(dataDir, 'redis');
    mkdirSync(dir, { recursive: true });
    // What a SIGKILLed weir leaves: its redis-server still running, and an owner pid now dead.
    const socketPath = join(dir, 'redis.sock');
    const orphan = spawn(
      REDIS_SERVER,
      ['--port', '0', '--unixsocket', socketPath, '--dir', dir, '--appendonly', 'yes', '--save', ''],
      {
        stdio: 'ignore',
      },
    );
    const deadOwner = spawnSync('true').pid;
    writeFileSync(join(dir, 'owner.pid'), String(deadOwner));
    while (!(await ping({ path: socketPath }))) await new Promise((r) => setTimeout(r, 20));
    const writer = new Redis({ path: socketPath });
    await writer.rpush('weir:test:queue', 'job-1');
    writer.disconnect();

    const server = await start(dataDir);
    expect(server.pid).not.toBe(orphan.pid);
    await new Promise((r) => setTimeout(r, 100));
    expect(orphan.exitCode ?? orphan.signalCode).not.toBeNull();
    const reader = new Redis({ path: server.socketPath });
    try {
      expect(await reader.lrange('weir:test:queue', 0, -1)).toEqual(['job-1']);
    } finally {
      reader.disconnect();
    }
  });

  it('says to install redis-server when the binary is missing', async () => {
    const attempt = startPrivateRedis({
      dataDir: freshDataDir(),
      serverPath: join(base, 'no-such-redis-server'),
    });
    await expect(attempt).rejects.toThrow(RedisUnavailableError);
    await expect(attempt).rejects.toThrow(/install the OS package redis-server/);
  });

  it('reports redis-server output when it exits at start', async () => {
    const attempt = startPrivateRedis({ dataDir: freshDataDir(), serverPath: '/bin/false' });
    await expect(attempt).rejects.toThrow(/redis-server exited at start/);
  });
});

describe('resolveRedis', () => {
  it('uses a configured URL as given', async () => {
    const redis = await resolveRedis({
      url: 'redis://user:pw@redis.internal:6380/2',
      probeLocal: true,
      allowPrivate: true,
      dataDir: freshDataDir(),
    });
    expect(redis.kind).toBe('configured');
    expect(redis.options).toEqual({
      host: 'redis.internal',
      port: 6380,
      username: 'user',
      password: 'pw',
      db: 2,
    });
  });

  it('uses 127.0.0.1:6379 when it answers, else starts a private one', async () => {
    const localUp = await ping({ host: '127.0.0.1', port: 6379 });
    const redis = await resolveRedis({
      probeLocal: true,
      allowPrivate: true,
      dataDir: freshDataDir(),
      serverPath: REDIS_SERVER,
    });
    try {
      expect(redis.kind).toBe(localUp ? 'local' : 'private');
    } finally {
      await redis.stop();
    }
  });

  it('starts a private one when probing is off', async () => {
    const redis = await resolveRedis({
      probeLocal: false,
      allowPrivate: true,
      dataDir: freshDataDir(),
      serverPath: REDIS_SERVER,
    });
    expect(redis.kind).toBe('private');
    expect(redis.url).toMatch(/^unix:\/\/.*redis\.sock$/);
    expect(redis.pid).toBeTypeOf('number');
    await redis.stop();
    expect(isProcessAlive(redis.pid!)).toBe(false);
  });

  it('gives the private one a URL that names its socket whatever the data directory', async () => {
    const redis = await resolveRedis({
      probeLocal: false,
      allowPrivate: true,
      dataDir: join(base, 'lake #1?x=50%'),
      serverPath: REDIS_SERVER,
    });
    try {
      expect(redisOptionsFromUrl(redis.url)).toEqual(redis.options);
    } finally {
      await redis.stop();
    }
  });

  it('never starts a private one for a stateless role', async () => {
    const attempt = resolveRedis({ probeLocal: false, allowPrivate: false, dataDir: freshDataDir() });
    await expect(attempt).rejects.toThrow(/set REDIS_URL/);
  });
});

describe('connection options', () => {
  it('parses redis, rediss and unix URLs', () => {
    expect(redisOptionsFromUrl('redis://localhost')).toEqual({ host: 'localhost', port: 6379 });
    expect(redisOptionsFromUrl('rediss://:p%40ss@h:7000')).toEqual({
      host: 'h',
      port: 7000,
      password: 'p@ss',
      tls: {},
    });
    expect(redisOptionsFromUrl('unix:///run/redis.sock?db=3')).toEqual({ path: '/run/redis.sock', db: 3 });
    expect(() => redisOptionsFromUrl('http://h')).toThrow(/unsupported Redis URL/);
  });

  it('round-trips any socket path through its unix URL', () => {
    for (const path of [
      '/tmp/weir#1/redis.sock',
      '/tmp/weir?x/r.sock',
      '/tmp/50%off/r.sock',
      '/tmp/a b/r.sock',
      '/a/%2F#?%20 /x',
    ]) {
      expect(redisOptionsFromUrl(unixSocketUrl(path))).toEqual({ path });
    }
  });

  it('gives BullMQ maxRetriesPerRequest: null', () => {
    expect(bullmqConnectionOptions({ path: '/x.sock' })).toEqual({
      path: '/x.sock',
      maxRetriesPerRequest: null,
    });
  });

  it('health check passes while Redis answers and fails fast once it is gone', async () => {
    const server = await start(freshDataDir());
    const health = redisHealth({ path: server.socketPath }, () => {});
    try {
      await health.check();
      await server.stop();
      const started = Date.now();
      await expect(health.check()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await health.close();
    }
  });
});
