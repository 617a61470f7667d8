/**
 * An in-process orchestrator with real BullMQ workers on a real Redis, for integration tests:
 * the same pieces `weir serve` wires, with short flush intervals and fast retries.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { EventLogWriter, type ObjectStore, TenantCatalogs } from '../../catalog/index.js';
import {
  Dispatcher,
  Orchestrator,
  type RetryPolicy,
  RunEventLog,
} from '../../services/orchestrator/index.js';
import { QueryService, queryFilesFor } from '../../services/query/index.js';
import { openWorkerDuckDB, startTaskWorkers, type TaskWorkers } from '../../workers/index.js';
import type { TestRedis } from './redis.js';

export interface TestOrchestration {
  catalogs: TenantCatalogs;
  orchestrator: Orchestrator;
  events: RunEventLog;
  writer: EventLogWriter;
  connection: ConnectionOptions;
  workers?: TaskWorkers;
  stop(): Promise<void>;
}

export const FAST_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 };

export async function startTestOrchestration(
  store: ObjectStore,
  redis: TestRedis,
  options: { workers?: boolean; concurrency?: number; lockDurationMs?: number; kinds?: string[] } = {},
): Promise<TestOrchestration> {
  const connection: ConnectionOptions = { host: redis.host, port: redis.port, maxRetriesPerRequest: null };
  const catalogs = new TenantCatalogs(store);
  const writer = new EventLogWriter(store, { flushIntervalMs: 10 });
  const events = new RunEventLog(writer, 'test');
  const dispatcher = new Dispatcher(connection, FAST_RETRY);
  const client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: null });
  // Tests restart Redis on purpose; connection errors in between are expected.
  client.on('error', () => undefined);
  const orchestrator = new Orchestrator({ store, catalogs, events, dispatcher, redis: client });
  const workRoot = mkdtempSync(join(tmpdir(), 'weir-test-worker-'));
  // A directory that looks like a hive partition of a tag every test table has: a task reading
  // its local copies as hive-partitioned would replace that column's values, and tests would see it.
  const workDir = join(workRoot, 'host=from-the-path');
  mkdirSync(workDir);
  const duckdb = await openWorkerDuckDB();
  const query = await QueryService.open({
    catalogs,
    files: queryFilesFor(store, join(workDir, 'query-cache'), 1 << 30),
    engine: { threads: 1, maxInstances: 4 },
    timeoutMs: 60_000,
  });
  let workers: TaskWorkers | undefined;
  if (options.workers ?? true) {
    workers = await startTaskWorkers({
      connection,
      context: { store, catalogs, duckdb, workDir, query },
      orchestrator,
      events,
      concurrency: options.concurrency ?? 2,
      retry: FAST_RETRY,
      onError: () => undefined,
      ...(options.kinds ? { kinds: options.kinds } : {}),
      ...(options.lockDurationMs ? { lockDurationMs: options.lockDurationMs } : {}),
    });
  }
  return {
    catalogs,
    orchestrator,
    events,
    writer,
    connection,
    ...(workers ? { workers } : {}),
    stop: async () => {
      await workers?.close();
      await dispatcher.close();
      await writer.close();
      client.disconnect();
      query.close();
      duckdb.closeSync();
      rmSync(workRoot, { recursive: true, force: true });
    },
  };
}
