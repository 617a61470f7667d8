/**
 * A real `weir serve` for SDK tests: the binary from source (test/helpers/weir-process.ts) on a
 * fixed port, so a restarted server is found at the same URL, with its own test Redis (which
 * outlives restarts, as an operator's Redis would) and a known admin token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStore, TenantCatalogs, tableKey } from '../../catalog/index.js';
import { WeirClient, type WeirClientOptions } from '../../sdk/index.js';
import { isProcessAlive } from '../helpers/pids.js';
import { freePort } from '../helpers/ports.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { type Proc, waitForLine, weir } from '../helpers/weir-process.js';

export const ADMIN_TOKEN = `weir_sdk_test_${'s'.repeat(40)}`;

export interface SdkServer {
  url: string;
  token: string;
  /** Pid of the `weir serve` process (the API). */
  apiPid(): number;
  /** Pid of the `weir worker` child running flushes and other tasks. */
  workerPid(): Promise<number>;
  /** Role of each column of a table of tenant `default`, as the server's catalog holds it. */
  columnRoles(database: string, table: string): Promise<Record<string, string>>;
  /** A client of the admin token (more options may override). */
  client(options?: Partial<WeirClientOptions>): WeirClient;
  /** Stops the server with `signal` (SIGKILL: as a crash) and starts it again on the same port and data. */
  restart(signal: 'SIGTERM' | 'SIGKILL', downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `weir serve`; `env` adds WEIR_* settings to the test defaults (rows queryable within ~0.3 s). */
export async function startSdkServer(env: Record<string, string> = {}): Promise<SdkServer> {
  const redis: TestRedis = await startTestRedis();
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-sdk-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let proc: Proc;

  const start = async () => {
    proc = weir(['serve', '--port', String(port), '--data-dir', dataDir], {
      WEIR_HOST: '127.0.0.1',
      WEIR_REDIS_URL: redis.url,
      WEIR_BOOTSTRAP_TOKEN: ADMIN_TOKEN,
      WEIR_LOG_LEVEL: 'info',
      WEIR_INGEST_MAX_BUFFER_AGE_MS: '200',
      WEIR_SCHEDULER_INTERVAL_MS: '500',
      WEIR_WORKER_LOCK_MS: '1500',
      WEIR_AUTH_CACHE_TTL_MS: '0',
      ...env,
    });
    await waitForLine(proc, /^Weir is listening on http:\/\/\S+$/, 60_000);
  };
  const workerPid = async () =>
    JSON.parse((await waitForLine(proc, /"msg":"worker process started"/)).input!).pid as number;
  const kill = async (signal: 'SIGTERM' | 'SIGKILL') => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    const worker = await workerPid();
    proc.child.kill(signal);
    await proc.exited;
    // The worker child follows its parent out; a new server must not share the data with it.
    await waitFor(async () => (isProcessAlive(worker) ? undefined : true), 30_000, 50);
  };

  await start();
  return {
    url,
    token: ADMIN_TOKEN,
    apiPid: () => proc.child.pid!,
    workerPid,
    async columnRoles(database, table) {
      const store = new LocalObjectStore(join(dataDir, 'objects'));
      try {
        const state = await new TenantCatalogs(store).forTenant('default').refresh();
        const entry = state.tables.get(tableKey(database, table));
        return Object.fromEntries((entry?.columns ?? []).map((c) => [c.name, c.role]));
      } finally {
        await store.close();
      }
    },
    client: (options = {}) => new WeirClient({ url, token: ADMIN_TOKEN, ...options }),
    async restart(signal, downMs = 0) {
      await kill(signal);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    async stop() {
      await kill('SIGTERM').catch(() => kill('SIGKILL'));
      await redis.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
