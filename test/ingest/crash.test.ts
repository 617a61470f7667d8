/**
 * `kill -9` of a real `weir serve` during sustained ingest with durability `wal`, five times:
 * after the restarts every acknowledged row is present exactly once (and no row twice).
 * Redis is a separate test server, so only Weir dies; its in-process workers die with it
 * mid-flush, and their tasks are redelivered after the restart.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, paths, TenantCatalogs, tableKey } from '../../catalog/index.js';
import { openWorkerDuckDB } from '../../workers/tasks/index.js';
import { isProcessAlive } from '../helpers/pids.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { type Proc, waitForLine, weir } from '../helpers/weir-process.js';
import { parquetList, queryRows, withLocalCopies } from '../workers/support.js';

const TOKEN = `weir_crash_test_${'x'.repeat(40)}`;
const CLIENTS = 3;
const ROWS_PER_REQUEST = 400;
const KILLS = 5;

describe('kill -9 during ingest with wal', () => {
  let redis: TestRedis;
  let dataDir: string;
  let proc: Proc | undefined;

  beforeAll(async () => {
    redis = await startTestRedis();
    dataDir = mkdtempSync(join(tmpdir(), 'weir-crash-'));
  });
  afterAll(async () => {
    if (proc && proc.child.exitCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<string> {
    proc = weir(['serve', '--port', '0', '--data-dir', dataDir], {
      WEIR_HOST: '127.0.0.1',
      WEIR_REDIS_URL: redis.url,
      WEIR_BOOTSTRAP_TOKEN: TOKEN,
      WEIR_LOG_LEVEL: 'info',
      WEIR_INGEST_DURABILITY: 'wal',
      WEIR_INGEST_MAX_BUFFER_ROWS: '3000',
      WEIR_INGEST_MAX_BUFFER_AGE_MS: '300',
      WEIR_WORKER_LOCK_MS: '1500',
      WEIR_SCHEDULER_INTERVAL_MS: '500',
    });
    return (await waitForLine(proc, /^Weir is listening on (http:\/\/\S+)$/, 60_000))[1]!;
  }

  /** The pid of the `weir worker` child the current `weir serve` started. */
  async function workerPid(): Promise<number> {
    const line = (await waitForLine(proc!, /"msg":"worker process started"/)).input!;
    return JSON.parse(line).pid as number;
  }

  /** What a process that should be gone is doing, and the last lines the server printed. */
  function describeProcess(pid: number): string {
    const read = (file: string) => {
      try {
        return readFileSync(`/proc/${pid}/${file}`, 'utf8');
      } catch (error) {
        return `(${(error as Error).message})`;
      }
    };
    const state = read('status').match(/^State:.*$/m)?.[0];
    const threads = readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = read(`task/${tid}/stat`);
      return `${tid} ${read(`task/${tid}/comm`).trim()} ${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)} ${read(`task/${tid}/wchan`)}`;
    });
    return [state, ...threads, '--- last lines:', ...proc!.stdout.slice(-40), proc!.stderr.slice(-2000)].join(
      '\n',
    );
  }

  /** Clients writing unique sequence numbers until the server dies; answers the acknowledged ones. */
  async function ingestUntilKilled(url: string, firstSeq: number, killAfterMs: number): Promise<number[]> {
    const acked: number[] = [];
    let next = firstSeq;
    let alive = true;
    const client = async (id: number) => {
      while (alive) {
        const start = next;
        next += ROWS_PER_REQUEST;
        const lines = Array.from(
          { length: ROWS_PER_REQUEST },
          (_, i) =>
            `crash,client=c${id} seq=${start + i}i ${1_772_323_200_000_000_000n + BigInt(start + i) * 1_000_000n}`,
        );
        try {
          const response = await fetch(`${url}/api/v1/write/line-protocol`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TOKEN}` },
            body: lines.join('\n'),
          });
          if (response.status === 204) for (let i = 0; i < ROWS_PER_REQUEST; i++) acked.push(start + i);
          else if (response.status !== 429)
            throw new Error(`write answered ${response.status}: ${await response.text()}`);
        } catch (error) {
          if (alive) throw error;
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, id) => client(id));
    await sleep(killAfterMs);
    alive = false;
    proc!.child.kill('SIGKILL');
    await proc!.exited;
    await Promise.all(clients.map((c) => c.catch(() => undefined)));
    return acked;
  }

  it('every acknowledged row is present exactly once after five kills', async () => {
    const acked: number[] = [];
    for (let round = 0; round < KILLS; round++) {
      const url = await start();
      const worker = await workerPid();
      const got = await ingestUntilKilled(url, round * 10_000_000, 1_500 + round * 400);
      // The flush workers ran in a child process; it follows its killed parent out.
      await waitFor(async () => (isProcessAlive(worker) ? undefined : true), 30_000, 100).catch((error) => {
        throw new Error(
          `${(error as Error).message}: worker ${worker} outlived its parent\n${describeProcess(worker)}`,
        );
      });
      expect(got.length, `round ${round} acknowledged nothing`).toBeGreaterThan(0);
      for (const seq of got) acked.push(seq);
    }
    // A last start recovers the WAL and the staging batches, and finishes the flush runs.
    await start();
    const store = new LocalObjectStore(join(dataDir, 'objects'));
    const catalogs = new TenantCatalogs(store);
    const walDir = join(dataDir, 'wal');
    await waitFor(
      async () => {
        const segments = existsSync(walDir) ? readdirSync(walDir).filter((n) => n.endsWith('.wal')) : [];
        let staged = 0;
        for await (const _ of store.listAll(paths.stagingKeys.prefix('default'))) staged++;
        return segments.length === 0 && staged === 0 ? true : undefined;
      },
      120_000,
      250,
    );
    const state = await catalogs.forTenant('default').refresh();
    const table = state.tables.get(tableKey('default', 'crash'))!;
    const keys = [...table.partitions.values()].flatMap((files) => [...files.keys()]);
    const duckdb = await openWorkerDuckDB({ threads: 1 });
    try {
      const [summary] = await withLocalCopies(store, keys, (local) =>
        queryRows(
          duckdb,
          `SELECT count(*) AS n, count(DISTINCT seq) AS distinct_seq FROM ${parquetList(local)}`,
        ),
      );
      // No row twice, acknowledged or not.
      expect(summary!.n).toBe(summary!.distinct_seq);
      const missing = await withLocalCopies(store, keys, async (local) => {
        const connection = await duckdb.connect();
        try {
          await connection.run('CREATE TEMP TABLE acked (seq BIGINT)');
          const appender = await connection.createAppender('acked');
          for (const seq of acked) {
            appender.appendBigInt(BigInt(seq));
            appender.endRow();
          }
          appender.closeSync();
          const result = await connection.runAndReadAll(
            `SELECT count(*) FROM acked WHERE seq NOT IN (SELECT seq FROM ${parquetList(local)})`,
          );
          return Number(result.getRows()[0]![0]);
        } finally {
          connection.closeSync();
        }
      });
      expect(missing, `${missing} of ${acked.length} acknowledged rows are missing`).toBe(0);
      expect(Number(summary!.n)).toBeGreaterThanOrEqual(acked.length);
    } finally {
      duckdb.closeSync();
    }
  }, 300_000);
});
