/**
 * A `weir worker` started by `weir serve` follows its parent out, also when the parent is gone
 * before the child has finished loading (the IPC channel closed before anyone listened to it).
 * A child that dies is started again, after a wait that grows while children die young.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/runtime/index.js';
import { startWorkerProcesses } from '../../services/runtime/worker-processes.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

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

describe('worker children that die', () => {
  /** Starts one child slot running `script`, and answers the waits it logged before restarts. */
  const restarts = (script: string, options: { healthyAfterMs: number }) => {
    const waits: number[] = [];
    const log = createLogger('error', 'test', {
      write: (line: string) => {
        const record = JSON.parse(line) as { restartInMs?: number };
        if (record.restartInMs !== undefined) waits.push(record.restartInMs);
      },
    });
    const children = startWorkerProcesses({
      count: 1,
      env: {},
      log,
      restartDelayMs: 20,
      maxRestartDelayMs: 160,
      childArgs: ['-e', script],
      ...options,
    });
    return { waits, children };
  };

  it('are started again after a wait that doubles up to its cap while they die young', async () => {
    const { waits, children } = restarts('process.exit(3)', { healthyAfterMs: 60_000 });
    try {
      await waitFor(async () => (waits.length >= 6 ? true : undefined), 30_000);
    } finally {
      await children.stop(5_000);
    }
    expect(waits.slice(0, 6)).toEqual([20, 40, 80, 160, 160, 160]);
  });

  it('wait the first delay again after a child that lived long enough to count as healthy', async () => {
    const { waits, children } = restarts('setTimeout(() => process.exit(3), 150)', { healthyAfterMs: 100 });
    try {
      await waitFor(async () => (waits.length >= 3 ? true : undefined), 30_000);
    } finally {
      await children.stop(5_000);
    }
    expect(waits.slice(0, 3)).toEqual([20, 20, 20]);
  });
});
