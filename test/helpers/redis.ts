/**
 * A real redis-server for tests (DESIGN.md §10): its own free port and directory, daemonized,
 * stopped by pid. `restart` kills it and starts a new one on the same port, as an operator's
 * restart (or a crash) would look to BullMQ.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ping } from '../../services/redis/index.js';
import { isProcessAlive } from './pids.js';
import { freePort } from './ports.js';

export interface TestRedis {
  host: string;
  port: number;
  url: string;
  /** Kills the server (SIGKILL: whatever was not persisted is lost) and starts a fresh one on the same port. */
  restart(options?: { persistent?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

const REDIS_SERVER = process.env.WEIR_TEST_REDIS_SERVER ?? 'redis-server';

export async function startTestRedis(options: { persistent?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'weir-test-redis-'));
  const pidfile = join(dir, 'redis.pid');
  const launch = async (persistent: boolean) => {
    try {
      // biome-ignore format: one flag and its value per line
      execFileSync(REDIS_SERVER, [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--save', '',
        '--appendonly', persistent ? 'yes' : 'no',
        '--daemonize', 'yes',
        '--pidfile', pidfile,
      ]);
    } catch (error) {
      throw new Error(
        `cannot start redis-server for tests (install the OS package redis-server): ${(error as Error).message}`,
      );
    }
    const deadline = Date.now() + 10_000;
    while (!(await ping({ host: '127.0.0.1', port }, 200))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
      await sleep(20);
    }
  };
  const kill = async () => {
    let pid: number;
    try {
      pid = Number(readFileSync(pidfile, 'utf8').trim());
    } catch {
      return;
    }
    if (!pid || !isProcessAlive(pid)) return;
    process.kill(pid, 'SIGKILL');
    while (isProcessAlive(pid)) await sleep(10);
  };
  await launch(options.persistent ?? false);
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    restart: async (again = {}) => {
      await kill();
      await launch(again.persistent ?? options.persistent ?? false);
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
