/**
 * BullMQ dispatch throughput and end-to-end task latency: no-op tasks executed by two real
 * `weir worker` processes on a private Redis. Runnable alone: `tsx bench/orchestrator-dispatch.ts`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Queue } from 'bullmq';
import { LocalObjectStore, TenantCatalog } from '../catalog/index.js';
import { QUEUE_PREFIX, queueName } from '../services/orchestrator/index.js';
import { startTestOrchestration } from '../test/helpers/orchestration.js';
import { startTestRedis } from '../test/helpers/redis.js';
import { fmt, percentile } from './stats.js';

const weirBin = fileURLToPath(new URL('../bin/weir.ts', import.meta.url));

export async function benchDispatch(
  tasks = 6000,
  workerProcesses = 2,
  concurrency = 100,
): Promise<[string, string, string?][]> {
  const redis = await startTestRedis();
  const dataDir = mkdtempSync(join(tmpdir(), 'weir-bench-dispatch-'));
  const store = new LocalObjectStore(join(dataDir, 'objects'));
  const o = await startTestOrchestration(store, redis, { workers: false });
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; i < workerProcesses; i++) {
      workers.push(
        spawn(process.execPath, ['--import', 'tsx', weirBin, 'worker'], {
          env: {
            ...process.env,
            NODE_NO_WARNINGS: '1',
            WEIR_DATA_DIR: dataDir,
            REDIS_URL: redis.url,
            WEIR_WORKERS: String(concurrency),
            WEIR_LOG_LEVEL: 'error',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    }
    await new TenantCatalog(store, 'bench').commit([{ op: 'createDatabase', database: 'db' }]);
    // Warm up: the workers are up once a small run finishes.
    const warm = await o.orchestrator.submit({
      kind: 'noop',
      tenant: 'bench',
      logicalTime: '2026-01-01T00:00:00Z',
      tasks: 20,
    });
    await o.orchestrator.waitForRun('bench', warm.runId, 120_000);

    const started = performance.now();
    const { runId } = await o.orchestrator.submit({
      kind: 'noop',
      tenant: 'bench',
      logicalTime: '2026-01-02T00:00:00Z',
      tasks,
    });
    const enqueued = performance.now();
    const run = await o.orchestrator.waitForRun('bench', runId, 600_000);
    const elapsed = performance.now() - started;
    if (run.status !== 'succeeded') throw new Error(`benchmark run ${run.status}`);

    // Unloaded latency: single-task runs one after another.
    const single: string[] = [];
    for (let i = 0; i < 100; i++) {
      const one = await o.orchestrator.submit({
        kind: 'noop',
        tenant: 'bench',
        logicalTime: new Date(Date.UTC(2026, 1, 1, 0, i)).toISOString(),
        tasks: 1,
      });
      await o.orchestrator.waitForRun('bench', one.runId, 60_000);
      single.push(...(await o.orchestrator.history.get('bench', one.runId))!.tasks.map((t) => t.taskId));
    }

    const queue = new Queue(queueName('noop'), { connection: o.connection, prefix: QUEUE_PREFIX });
    const jobs = await queue.getJobs(['completed'], 0, tasks + 1000);
    await queue.close();
    const latencyOf = (ids: Set<string>) =>
      jobs
        .filter((j) => ids.has(j.id!) && j.finishedOn)
        .map((j) => j.finishedOn! - j.timestamp)
        .sort((a, b) => a - b);
    const latencies = latencyOf(new Set(run.tasks.map((t) => t.taskId)));
    const unloaded = latencyOf(new Set(single));
    return [
      [
        `no-op tasks/s, ${workerProcesses} worker processes × ${concurrency} concurrent`,
        fmt.rate(tasks / (elapsed / 1000), 'tasks'),
        `${tasks} tasks in ${fmt.ms(elapsed)}; planning + enqueue ${fmt.ms(enqueued - started)}`,
      ],
      [
        '  task latency enqueue → acknowledged under that load, p50 / p99',
        `${fmt.ms(percentile(latencies, 50))} / ${fmt.ms(percentile(latencies, 99))}`,
        `${latencies.length} jobs, including the wait behind the queue`,
      ],
      [
        'task latency enqueue → acknowledged, one task at a time, p50 / p99',
        `${fmt.ms(percentile(unloaded, 50))} / ${fmt.ms(percentile(unloaded, 99))}`,
        `${unloaded.length} single-task runs; the terminal event is durable before the ack`,
      ],
    ];
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(
      workers.map(
        (w) => new Promise((resolve) => (w.exitCode !== null ? resolve(undefined) : w.once('exit', resolve))),
      ),
    );
    await o.stop();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [name, value, note] of await benchDispatch())
    console.log(`${name}  ${value}${note ? `   (${note})` : ''}`);
}
