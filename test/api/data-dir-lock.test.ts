/**
 * One `weir serve` per data directory, whatever the Redis: a second one would run WAL recovery on
 * the first one's live segments (staging and deleting them) or start a second private Redis on the
 * same AOF files. A WAL directory outside the data directory is locked too. A lock left by a
 * killed server is taken over, also when a restart gave its pid to another process.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOf } from '../../services/process/index.js';
import { DataDirInUseError, lockDirectory } from '../../services/runtime/data-dir-lock.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { type Proc, TOKEN_LINE, waitForLine, weir } from '../helpers/weir-process.js';

const LISTENING = /^Weir is listening on (http:\/\/\S+)$/;
const base = mkdtempSync(join(tmpdir(), 'weir-lock-'));
let n = 0;
const freshDataDir = (): string => join(base, `d${n++}`);

/** The pid on the lock file's first line. */
const lockedBy = (dir: string): string | undefined =>
  readFileSync(join(dir, 'weir.lock'), 'utf8').split('\n')[0];

const running: Proc[] = [];
function serve(dataDir: string, env: Record<string, string> = {}): Proc {
  const proc = weir(['serve', '--port', '0', '--data-dir', dataDir], {
    WEIR_HOST: '127.0.0.1',
    WEIR_REDIS_PROBE_LOCAL: 'false',
    WEIR_WORKER_PROCESSES: '0',
    WEIR_LOG_LEVEL: 'warn',
    ...env,
  });
  running.push(proc);
  return proc;
}

async function stop(proc: Proc): Promise<number | null> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  return proc.exited;
}

afterEach(async () => {
  for (const proc of running.splice(0)) await stop(proc);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('the data directory lock', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startTestRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('refuses a second serve on a shared Redis before it touches the first one’s WAL', async () => {
    const dataDir = freshDataDir();
    const env = { WEIR_REDIS_URL: redis.url, WEIR_INGEST_MAX_BUFFER_AGE_MS: '600000' };
    const first = serve(dataDir, env);
    const url = (await waitForLine(first, LISTENING))[1]!;
    const token = (await waitForLine(first, TOKEN_LINE))[1]!;
    const write = (body: string) =>
      fetch(`${url}/api/v1/write/line-protocol`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body,
      });
    expect((await write('m,host=a v=1i 1772323200000000000')).status).toBe(204);
    const segments = readdirSync(join(dataDir, 'wal'));
    expect(segments).toHaveLength(1);

    const second = serve(dataDir, env);
    expect(await second.exited).toBe(1);
    const refusal = second.stderr.trim().split('\n');
    expect(refusal).toEqual([
      `weir: the data directory ${dataDir} is in use by another weir (pid ${first.child.pid}); stop it or use another data directory`,
    ]);
    expect(readdirSync(join(dataDir, 'wal'))).toEqual(segments);
    expect((await write('m,host=a v=2i 1772323201000000000')).status).toBe(204);
  });

  it('lets exactly one of two servers started together start the private Redis', async () => {
    const dataDir = freshDataDir();
    const procs = [serve(dataDir), serve(dataDir)];
    const outcomes = await Promise.all(
      procs.map((proc) =>
        waitForLine(proc, LISTENING, 60_000).then(
          () => 'listening',
          () => proc.stderr.trim(),
        ),
      ),
    );
    const winner = procs[outcomes.indexOf('listening')]!;
    expect(outcomes).toContain('listening');
    expect(outcomes.filter((outcome) => outcome !== 'listening')).toEqual([
      `weir: the data directory ${dataDir} is in use by another weir (pid ${winner.child.pid}); stop it or use another data directory`,
    ]);
    const servers = spawnSync('pgrep', ['-f', `redis-server.*${dataDir}/`], { encoding: 'utf8' }).stdout;
    expect(servers.trim().split('\n')).toHaveLength(1);
    expect(await stop(winner)).toBe(0);
    expect(readdirSync(dataDir)).not.toContain('weir.lock');
  });

  it('refuses a second serve whose data directory is its own but whose WAL directory is not', async () => {
    const walDir = join(base, 'shared-wal');
    // Each with its private Redis and its own store: only the WAL directory is shared.
    const first = serve(freshDataDir(), { WEIR_INGEST_WAL_DIR: walDir });
    await waitForLine(first, LISTENING);
    const second = serve(freshDataDir(), { WEIR_INGEST_WAL_DIR: walDir });
    expect(await second.exited).toBe(1);
    expect(second.stderr.trim().split('\n')).toEqual([
      `weir: the WAL directory ${walDir} is in use by another weir (pid ${first.child.pid}); stop it or use another WAL directory`,
    ]);
    expect(await stop(first)).toBe(0);
    expect(readdirSync(walDir)).not.toContain('weir.lock');
  });

  it('takes over the lock of a server that was killed', async () => {
    const dataDir = freshDataDir();
    // A Redis database of its own: the shared server's database 0 serves the first test's store.
    const first = serve(dataDir, { WEIR_REDIS_URL: `${redis.url}/1` });
    await waitForLine(first, LISTENING);
    expect(lockedBy(dataDir)).toBe(String(first.child.pid));
    first.child.kill('SIGKILL');
    await first.exited;

    const second = serve(dataDir, { WEIR_REDIS_URL: `${redis.url}/1` });
    await waitForLine(second, LISTENING);
    expect(lockedBy(dataDir)).toBe(String(second.child.pid));
    expect(await stop(second)).toBe(0);
  });
});

describe('a lock whose pid now runs another process', () => {
  let other: ChildProcess;
  beforeAll(async () => {
    // Stands for the process that got a dead weir's pid after a restart.
    other = spawn('sleep', ['600'], { stdio: 'ignore' });
    await once(other, 'spawn');
  });
  afterAll(() => {
    other.kill('SIGKILL');
  });

  it('is taken over when that process started after the lock was written', async () => {
    const dir = freshDataDir();
    mkdirSync(dir);
    const start = await startOf(other.pid!);
    expect(start, 'this test needs Linux /proc').toMatch(/^[0-9a-f-]+\/\d+$/);
    // The same boot, an earlier start: the weir that wrote it is gone, its pid was given again.
    writeFileSync(join(dir, 'weir.lock'), `${other.pid}\n${start!.replace(/\d+$/, '1')}\n`);

    const lock = await lockDirectory(dir, 'data directory');
    expect(readFileSync(join(dir, 'weir.lock'), 'utf8')).toBe(
      `${process.pid}\n${await startOf(process.pid)}\n`,
    );
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is refused while that very process holds it', async () => {
    const dir = freshDataDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'weir.lock'), `${other.pid}\n${await startOf(other.pid!)}\n`);

    await expect(lockDirectory(dir, 'data directory')).rejects.toThrow(
      `the data directory ${dir} is in use by another weir (pid ${other.pid}); stop it or use another data directory`,
    );
    expect(lockedBy(dir)).toBe(String(other.pid));
  });

  it('is refused when written without a start, as long as the pid runs', async () => {
    const dir = freshDataDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'weir.lock'), `${other.pid}\n`);

    await expect(lockDirectory(dir, 'data directory')).rejects.toBeInstanceOf(DataDirInUseError);
  });
});
