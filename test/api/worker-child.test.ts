/**
 * A `weir worker` started by `weir serve` follows its parent out, also when the parent is gone
 * before the child has finished loading (the IPC channel closed before anyone listened to it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';

const repo = resolve(import.meta.dirname, '../..');

describe('weir worker as the child of weir serve', () => {
  let redis: TestRedis;
  let dataDir: string;

  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(join(tmpdir(), 'weir-worker-child-'));
  });
  afterAll(async () => {
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('exits when its parent disconnected before it was listening', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/weir.ts', 'worker'], {
      cwd: repo,
      env: {
        ...process.env,
        WEIR_REDIS_URL: redis.url,
        WEIR_DATA_DIR: dataDir,
        WEIR_LOG_LEVEL: 'warn',
        WEIR_WORKER_PARENT_PID: String(process.pid),
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    // At once: the child is still loading its modules, nothing of Weir listens to the channel yet.
    child.disconnect();
    const code = await Promise.race([
      exited,
      new Promise<'alive'>((done) => setTimeout(() => done('alive'), 45_000)),
    ]);
    if (code === 'alive') child.kill('SIGKILL');
    expect(code, `the orphaned worker kept running; stderr:\n${stderr}`).toBe(0);
  });
});
