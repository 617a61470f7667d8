/**
 * An in-process Weir write API for integration tests: token auth, the ingest service with a real
 * WAL, a real orchestrator and BullMQ workers on a real Redis, and DuckDB reads of what landed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import pino from 'pino';
import { type ObjectStore, SystemCatalog, tableKey } from '../../catalog/index.js';
import { buildApp } from '../../services/api/index.js';
import { IngestService, type IngestServiceOptions } from '../../services/ingest/index.js';
import { openWorkerDuckDB } from '../../workers/tasks/index.js';
import { parquetList, queryRows, withLocalCopies } from '../workers/support.js';
import { bootstrapTestAuth, type TestAuth } from './auth.js';
import { startTestOrchestration, type TestOrchestration } from './orchestration.js';
import type { TestRedis } from './redis.js';

export interface IngestTestOptions
  extends Partial<Omit<IngestServiceOptions, 'store' | 'catalogs' | 'flushRuns' | 'redis' | 'tenants'>> {
  maxBodyBytes?: number;
  maxDecompressedBytes?: number;
  /** Start BullMQ workers (default true); without them flush runs wait in the queue. */
  workers?: boolean;
}

export interface IngestTestApp extends TestAuth {
  app: FastifyInstance;
  service: IngestService;
  orchestration: TestOrchestration;
  store: ObjectStore;
  duckdb: DuckDBInstance;
  walDir: string;
  /** Rows of `db.table` as committed now, through DuckDB over the table's live files. */
  query(
    tenant: string,
    database: string,
    table: string,
    sql: (relation: string) => string,
  ): Promise<Record<string, unknown>[]>;
  /** DuckDB's type of each column of the table's committed files, by name. */
  columnTypes(tenant: string, database: string, table: string): Promise<Record<string, unknown>>;
  /** Live row count of a table (0 when it does not exist). */
  count(tenant: string, database: string, table: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startIngestApp(
  store: ObjectStore,
  redis: TestRedis,
  options: IngestTestOptions = {},
): Promise<IngestTestApp> {
  const orchestration = await startTestOrchestration(store, redis, { workers: options.workers ?? true });
  const auth = await bootstrapTestAuth(store, 50);
  const client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  const walDir = options.walDir ?? mkdtempSync(join(tmpdir(), 'weir-test-wal-'));
  const system = new SystemCatalog(store);
  const service = new IngestService({
    store,
    catalogs: orchestration.catalogs,
    redis: client,
    flushRuns: {
      submit: (trigger) => orchestration.orchestrator.submit(trigger),
      status: async (tenant, runId) => (await orchestration.orchestrator.history.get(tenant, runId))?.status,
    },
    tenants: async () => [...(await system.refresh()).tenants.keys()],
    durability: options.durability ?? 'wal',
    walDir,
    thresholds: options.thresholds ?? { maxRows: 100_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 60_000 },
    maxTotalBufferBytes: options.maxTotalBufferBytes ?? 256 * 1024 * 1024,
    maxStagingBacklog: options.maxStagingBacklog ?? 64,
    tickMs: options.tickMs ?? 20,
  });
  await service.start();
  const app = await buildApp({
    logger: pino({ level: 'silent' }),
    version: 'test',
    readiness: [],
    auth: auth.auth,
    orchestrator: { orchestrator: orchestration.orchestrator, catalogs: orchestration.catalogs },
    ingest: {
      service,
      maxBodyBytes: options.maxBodyBytes ?? 8 * 1024 * 1024,
      maxDecompressedBytes: options.maxDecompressedBytes ?? 32 * 1024 * 1024,
    },
  });
  const duckdb = await openWorkerDuckDB({ threads: 1 });

  async function query(tenant: string, database: string, table: string, sql: (relation: string) => string) {
    const state = await orchestration.catalogs.forTenant(tenant).refresh();
    const entry = state.tables.get(tableKey(database, table));
    const keys = entry ? [...entry.partitions.values()].flatMap((files) => [...files.keys()]) : [];
    if (keys.length === 0) throw new Error(`${tenant}/${database}.${table} has no files`);
    return withLocalCopies(store, keys, (local) => queryRows(duckdb, sql(parquetList(local))));
  }

  return {
    ...auth,
    app,
    service,
    orchestration,
    store,
    duckdb,
    walDir,
    query,
    async columnTypes(tenant, database, table) {
      const rows = await query(
        tenant,
        database,
        table,
        (r) => `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${r})`,
      );
      return Object.fromEntries(rows.map((row) => [row.column_name, row.column_type]));
    },
    async count(tenant, database, table) {
      const state = await orchestration.catalogs.forTenant(tenant).refresh();
      return state.tables.get(tableKey(database, table))?.rowCount ?? 0;
    },
    async stop() {
      await app.close();
      await service.close();
      await orchestration.stop();
      client.disconnect();
      duckdb.closeSync();
      if (!options.walDir) rmSync(walDir, { recursive: true, force: true });
    },
  };
}
