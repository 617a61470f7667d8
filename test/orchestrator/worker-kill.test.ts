import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, liveFiles, TenantCatalog } from '../../catalog/index.js';
import { useOrchestration } from '../helpers/orchestration.js';
import { waitFor } from '../helpers/wait.js';
import { compactionTrigger, countLiveRows, seedFiles } from './fixtures.js';

const weirBin = fileURLToPath(new URL('../../bin/weir.ts', import.meta.url));
const FILES = 40;
const ROWS = 50_000;

describe('a worker process killed with SIGKILL in the middle of a compaction task', () => {
  // The data directory is what the worker processes get as WEIR_DATA_DIR: the store is in it.
  const o = useOrchestration({
    tmpPrefix: 'weir-kill-',
    store: (dataDir) => new LocalObjectStore(join(dataDir, 'objects')),
    workers: false,
  });
  const workers: ChildProcess[] = [];

  const startWorker = () => {
    const child = spawn(process.execPath, ['--import', 'tsx', weirBin, 'worker'], {
      env: {
        ...process.env,
        NODE_NO_WARNINGS: '1',
        WEIR_DATA_DIR: o.root,
        REDIS_URL: o.redis.url,
        WEIR_WORKERS: '1',
        WEIR_WORKER_LOCK_MS: '2000',
        WEIR_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    workers.push(child);
    return child;
  };

  afterAll(() => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  });

  it('is redelivered to another worker; the run succeeds with every row exactly once and no orphan referenced', async () => {
    const tenant = 'killtest';
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: FILES, rows: ROWS });

    const doomed = startWorker();
    const { runId } = await o.orchestrator.submit(
      compactionTrigger(tenant, undefined, { targetRows: 500_000 }),
    );
    // Kill the worker as soon as it reports the task running.
    await waitFor(async () => {
      const run = await o.orchestrator.history.get(tenant, runId);
      return run?.tasks[0]?.status === 'running' ? true : undefined;
    });
    doomed.kill('SIGKILL');
    await new Promise((resolve) => doomed.once('exit', resolve));
    const afterKill = (await o.orchestrator.history.get(tenant, runId))!;
    expect(afterKill.tasks[0]!.status).toBe('running');

    startWorker();
    const run = await o.orchestrator.waitForRun(tenant, runId, 120_000);
    expect(run.status).toBe('succeeded');
    const task = run.tasks[0]!;
    expect(task.attempts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(task.attempts.map((a) => a.worker)).size).toBeGreaterThanOrEqual(2);

    const head = await catalog.refresh();
    expect(await countLiveRows(o.store, o.duckdb, head)).toBe(FILES * ROWS);
    const live = [...liveFiles(head.tables.get('db.cpu')!)];
    expect(live.length).toBe(Math.ceil((FILES * ROWS) / 500_000));
    for (const file of live)
      expect(await o.store.head(file.path), `${file.path} is referenced but missing`).toBeDefined();
    // Exactly one compaction commit landed, whatever the first attempt got through.
    expect([...head.history].filter((c) => c.taskId === task.taskId)).toHaveLength(1);
  }, 180_000);
});
