/**
 * The composition root of the catalog, event log, orchestrator, scheduler and task workers a
 * process role needs (DESIGN.md §1): `serve` has all of them, `api` plans and reads runs but
 * runs no scheduler or workers, `orchestrator` schedules and reconciles, `worker` executes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import {
  deploymentIdOf,
  EventLogWriter,
  type ObjectStore,
  SystemCatalog,
  TenantCatalogs,
} from '../../catalog/index.js';
import { openWorkerDuckDB, startTaskWorkers, type TaskWorkers } from '../../workers/index.js';
import type { WeirConfig } from '../config/index.js';
import { IngestService } from '../ingest/index.js';
import { Dispatcher, Orchestrator, RunEventLog, Scheduler } from '../orchestrator/index.js';
import { QueryService, queryFilesFor } from '../query/index.js';
import { bullmqConnectionOptions, claimRedis } from '../redis/index.js';

export type PlatformRole = 'serve' | 'api' | 'orchestrator' | 'worker';

export interface PlatformOptions {
  role: PlatformRole;
  store: ObjectStore;
  redis: RedisOptions;
  log: Logger;
  /** Jobs each queue runs at once in this process (workers). */
  workerConcurrency: number;
  /** `serve` runs task workers in this process unless they run in child processes (false). */
  inProcessWorkers?: boolean;
  /** How often the scheduler looks for due ticks. */
  schedulerIntervalMs?: number;
  /** A task whose worker died is redelivered after this long. */
  workerLockMs?: number;
  /** Roles that serve the write API buffer ingest with these settings. */
  ingest?: WeirConfig['ingest'] & { walDir: string };
  /** Task workers run continuous queries on query engines with these settings. */
  query?: WeirConfig['query'];
}

export interface Platform {
  catalogs: TenantCatalogs;
  system: SystemCatalog;
  orchestrator: Orchestrator;
  /** The write path (roles `serve` and `api`). */
  ingest?: IngestService;
  stop(): Promise<void>;
}

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const { role, store, log } = options;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const fn of stops.splice(0).reverse())
      await fn().catch((error: unknown) => log.error({ err: error }, 'stop failed'));
  };
  try {
    const catalogs = new TenantCatalogs(store);
    const system = new SystemCatalog(store);
    // Short batches: a task is acknowledged only once its terminal event is durable.
    const writer = new EventLogWriter(store, { flushIntervalMs: 50 });
    stops.push(() => writer.close());
    const events = new RunEventLog(writer, `${role}:${hostname()}:${process.pid}`);
    const redis = new Redis({ ...options.redis, lazyConnect: false, maxRetriesPerRequest: null });
    redis.on('error', (error) => log.warn({ err: error }, 'redis connection error'));
    stops.push(async () => void redis.disconnect());
    // Before any queue is touched: another deployment's tasks must not run against this store.
    await claimRedis(redis, await deploymentIdOf(store), options.redis);
    // BullMQ declares its own copy of ioredis' option type; the objects are the same.
    const connection = bullmqConnectionOptions(options.redis) as ConnectionOptions;
    const dispatcher = new Dispatcher(connection, undefined, (error) =>
      log.warn({ err: error }, 'queue error'),
    );
    stops.push(() => dispatcher.close());
    const orchestrator = new Orchestrator({ store, catalogs, events, dispatcher, redis });

    if (role === 'serve' || role === 'orchestrator') {
      const scheduler = new Scheduler({
        orchestrator,
        system,
        catalogs,
        store,
        redis,
        onError: (error, context) => log.warn({ err: error, ...context }, 'scheduled run failed to start'),
      });
      scheduler.start(options.schedulerIntervalMs ?? 15_000);
      stops.push(() => scheduler.stop());
    }
    if (role === 'worker' || (role === 'serve' && options.inProcessWorkers !== false)) {
      const workDir = await mkdtemp(join(tmpdir(), 'weir-worker-'));
      stops.push(() => rm(workDir, { recursive: true, force: true }));
      const duckdb = await openWorkerDuckDB();
      stops.push(async () => duckdb.closeSync());
      const queryTimeoutMs = options.query?.timeoutMs ?? 600_000;
      const query = await QueryService.open({
        catalogs,
        files: queryFilesFor(store, join(workDir, 'query-cache'), options.query?.maxCacheBytes ?? 1 << 30),
        engine: {
          maxInstances: options.query?.maxEngines ?? 4,
          spillDir: join(workDir, 'query-spill'),
          ...(options.query?.threads !== undefined ? { threads: options.query.threads } : {}),
          ...(options.query?.memoryLimit !== undefined ? { memoryLimit: options.query.memoryLimit } : {}),
        },
        timeoutMs: queryTimeoutMs,
      });
      stops.push(async () => query.close());
      const workers: TaskWorkers = await startTaskWorkers({
        connection,
        context: {
          store,
          catalogs,
          duckdb,
          workDir,
          query,
          tenantSqlTimeoutMs: queryTimeoutMs,
        },
        orchestrator,
        events,
        concurrency: options.workerConcurrency,
        onError: (error) => log.warn({ err: error }, 'task worker error'),
        ...(options.workerLockMs ? { lockDurationMs: options.workerLockMs } : {}),
      });
      stops.push(() => workers.close());
      log.info({ worker: workers.name, concurrency: options.workerConcurrency }, 'task workers started');
    }
    let ingest: IngestService | undefined;
    if ((role === 'serve' || role === 'api') && options.ingest) {
      const config = options.ingest;
      ingest = new IngestService({
        store,
        catalogs,
        redis,
        flushRuns: {
          submit: (trigger) => orchestrator.submit(trigger),
          status: async (tenant, runId) => (await orchestrator.history.get(tenant, runId))?.status,
        },
        tenants: async () => [...(await system.refresh()).tenants.keys()],
        durability: config.durability,
        walDir: config.walDir,
        thresholds: {
          maxRows: config.maxBufferRows,
          maxBytes: config.maxBufferBytes,
          maxAgeMs: config.maxBufferAgeMs,
        },
        maxTotalBufferBytes: config.maxTotalBufferBytes,
        maxStagingBacklog: config.maxStagingBacklog,
        onError: (error, context) => log.warn({ err: error, ...context }, 'ingest background work failed'),
      });
      await ingest.start();
      // Stopped before the workers and Redis (later stops run first): staging needs the store only.
      const started = ingest;
      stops.push(() => started.close());
    }
    return { catalogs, system, orchestrator, ...(ingest ? { ingest } : {}), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
