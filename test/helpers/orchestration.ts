/**
 * An in-process orchestrator with real BullMQ workers on a real Redis, for integration tests:
 * the same pieces `weir serve` wires, with short flush intervals and fast retries.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { EventLogWriter, LocalObjectStore, type ObjectStore, TenantCatalogs } from '../../catalog/index.js';
import {
  Dispatcher,
  Orchestrator,
  type RetryPolicy,
  RunEventLog,
} from '../../services/orchestrator/index.js';
import { QueryService, queryFilesFor } from '../../services/query/index.js';
import { openWorkerDuckDB, startTaskWorkers, type TaskWorkers } from '../../workers/index.js';
import { startTestRedis, type TestRedis } from './redis.js';

export interface TestOrchestration {
  catalogs: TenantCatalogs;
  orchestrator: Orchestrator;
  /** The orchestrator's own dispatcher (a test may hold one of its calls). */
  dispatcher: Dispatcher;
  events: RunEventLog;
  writer: EventLogWriter;
  connection: ConnectionOptions;
  workers?: TaskWorkers;
  stop(): Promise<void>;
}

export interface TestOrchestrationOptions {
  workers?: boolean;
  concurrency?: number;
  lockDurationMs?: number;
  kinds?: string[];
}

export const FAST_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 };

export async function startTestOrchestration(
  store: ObjectStore,
  redis: TestRedis,
  options: TestOrchestrationOptions = {},
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
    dispatcher,
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

/** What `useOrchestration` starts for a suite: its orchestration, and what that runs on. */
export interface OrchestrationSuite<S extends ObjectStore> extends Omit<TestOrchestration, 'stop'> {
  redis: TestRedis;
  /** The suite's temporary directory, removed last. */
  root: string;
  store: S;
  /** A one-thread DuckDB of the suite's own (to seed and count rows); unset with `duckdb: false`. */
  duckdb: DuckDBInstance;
}

export interface OrchestrationSuiteOptions<S extends ObjectStore> extends TestOrchestrationOptions {
  /** How the temporary directory's name starts. */
  tmpPrefix: string;
  /** The store over the temporary directory: a LocalObjectStore at its root unless given. */
  store?: (root: string) => S;
  /** Whether to open the suite's DuckDB (default true). */
  duckdb?: boolean;
}

/**
 * Registers in the calling `describe` a beforeAll that starts a real Redis, makes a temporary
 * directory and a store over it, starts an orchestration on them and opens a DuckDB, and an
 * afterAll that stops the orchestration, closes the DuckDB, stops Redis and removes the directory,
 * in that order. Answers an object the beforeAll fills in. Hooks the suite registers after this
 * call run after this set-up and before this teardown (vitest runs afterAll hooks as a stack).
 */
export function useOrchestration<S extends ObjectStore = LocalObjectStore>(
  options: OrchestrationSuiteOptions<S>,
): OrchestrationSuite<S> {
  const { tmpPrefix, store, duckdb = true, ...orchestration } = options;
  const suite = {} as OrchestrationSuite<S>;
  let stop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    suite.redis = await startTestRedis();
    suite.root = mkdtempSync(join(tmpdir(), tmpPrefix));
    suite.store = store ? store(suite.root) : (new LocalObjectStore(suite.root) as ObjectStore as S);
    const { stop: stopOrchestration, ...parts } = await startTestOrchestration(
      suite.store,
      suite.redis,
      orchestration,
    );
    stop = stopOrchestration;
    Object.assign(suite, parts);
    if (duckdb) suite.duckdb = await openWorkerDuckDB({ threads: 1 });
  });
  afterAll(async () => {
    await stop?.();
    suite.duckdb?.closeSync();
    await suite.redis?.stop();
    if (suite.root) rmSync(suite.root, { recursive: true, force: true });
  });
  return suite;
}
