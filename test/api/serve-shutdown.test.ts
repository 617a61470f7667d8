/**
 * Graceful shutdown of `weir serve`. In `buffered` mode it keeps every acknowledged row: the buffers
 * are staged as soon as HTTP stops, before the worker children stop, and a child slow to stop
 * (stopped here with SIGSTOP, as one busy in a long task) cannot use up the shutdown budget. A
 * terminal's Ctrl-C stops it as SIGTERM does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../helpers/pids.js';
import { type Proc, TOKEN_LINE, waitForLine, weir } from '../helpers/weir-process.js';

const LISTENING = /^Weir is listening on (http:\/\/\S+)$/;

describe('weir serve shutdown', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-serve-shutdown-'));
  const procs: Proc[] = [];
  const pids: number[] = [];
  const serve = () => {
    const proc = weir(['serve', '--port', '0', '--data-dir', dataDir], {
      WEIR_HOST: '127.0.0.1',
      WEIR_REDIS_PROBE_LOCAL: 'false',
      WEIR_LOG_LEVEL: 'info',
      WEIR_INGEST_DURABILITY: 'buffered',
      WEIR_INGEST_MAX_BUFFER_AGE_MS: '600000',
      WEIR_SHUTDOWN_TIMEOUT_MS: '3000',
    });
    procs.push(proc);
    return proc;
  };
  /** Pids of the worker child and the private Redis a `serve` logged. */
  const childPids = async (proc: Proc) => {
    const redis = JSON.parse((await waitForLine(proc, /"msg":"redis resolved"/)).input!).redis.pid as number;
    const worker = Number(
      (await waitForLine(proc, /"pid":(\d+),"slot":0,"msg":"worker process started"/))[1],
    );
    pids.push(redis, worker);
    return { redis, worker };
  };

  afterAll(async () => {
    for (const proc of procs) {
      if (proc.child.exitCode === null) proc.child.kill('SIGKILL');
      await proc.exited;
    }
    for (const pid of pids) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stages the buffers before stopping a worker child that does not stop', async () => {
    const first = serve();
    const url = (await waitForLine(first, LISTENING))[1]!;
    const token = (await waitForLine(first, TOKEN_LINE))[1]!;
    const { worker } = await childPids(first);
    const written = await fetch(`${url}/api/v1/write/line-protocol`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: ['a', 'b', 'c'].map((host, i) => `keep,host=${host} v=${i}i 177232320${i}000000000`).join('\n'),
    });
    expect(written.status).toBe(204);

    process.kill(worker, 'SIGSTOP');
    first.child.kill('SIGTERM');
    expect(await first.exited, first.stdout.slice(-10).join('\n')).toBe(0);
    expect(isProcessAlive(worker)).toBe(false);

    // The next start's worker flushes the staged batch.
    const second = serve();
    const again = (await waitForLine(second, LISTENING))[1]!;
    await childPids(second);
    const deadline = Date.now() + 30_000;
    let rows: unknown;
    while (Date.now() < deadline) {
      const res = await fetch(`${again}/api/v1/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM keep', database: 'default' }),
      });
      if (res.status === 200) rows = ((await res.json()) as { data: unknown[][] }).data[0]?.[0];
      if (rows === 3) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(rows).toBe(3);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('stops cleanly on Ctrl-C: the private Redis is not in the terminal’s process group', async () => {
    // Ctrl-C sends SIGINT to the whole foreground process group.
    const proc = weir(
      ['serve', '--port', '0', '--data-dir', join(dataDir, 'ctrl-c')],
      { WEIR_HOST: '127.0.0.1', WEIR_REDIS_PROBE_LOCAL: 'false', WEIR_LOG_LEVEL: 'info' },
      [],
      { detached: true },
    );
    procs.push(proc);
    const url = (await waitForLine(proc, LISTENING))[1]!;
    const token = (await waitForLine(proc, TOKEN_LINE))[1]!;
    const { redis } = await childPids(proc);
    // Its staging asks Redis for a flush run during the shutdown.
    const written = await fetch(`${url}/api/v1/write/line-protocol`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: 'm,host=a v=1i 1772323200000000000',
    });
    expect(written.status).toBe(204);
    process.kill(-proc.child.pid!, 'SIGINT');
    expect(await proc.exited, proc.stdout.slice(-10).join('\n')).toBe(0);
    expect(proc.stdout.some((line) => line.includes('redis connection error'))).toBe(false);
    expect(isProcessAlive(redis)).toBe(false);
  });
});
