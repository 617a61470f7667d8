/**
 * A task's start deadline on real Redis and BullMQ: a flush runs however late its workers come
 * back, and an attempt past the deadline whose task already committed reports that commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, paths, TenantCatalog, TenantCatalogs } from '../../catalog/index.js';
import { tableOfBatch } from '../../services/ingest/arrow.js';
import { encodeStrings } from '../../services/ingest/decode/utf8.js';
import { encodeStagingBatch } from '../../services/ingest/staging-format.js';
import { Dispatcher, Orchestrator } from '../../services/orchestrator/index.js';
import { executeTask, openWorkerDuckDB, startTaskWorkers, type TaskWorkers } from '../../workers/index.js';
import { BASE_US, createDataTable } from '../helpers/data-files.js';
import { FAST_RETRY, startTestOrchestration, type TestOrchestration } from '../helpers/orchestration.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { compactionTrigger, seedFiles } from './fixtures.js';

let n = 0;
const freshTenant = () => `dl${Date.now().toString(36)}${n++}`;
const DEADLINE_MS = 100;
/** The worker fleet is down for longer than the deadline. */
const outage = () => new Promise((resolve) => setTimeout(resolve, 3 * DEADLINE_MS));

describe('the task deadline', () => {
  let redis: TestRedis;
  let root: string;
  let workDir: string;
  let store: LocalObjectStore;
  let o: TestOrchestration;
  let duckdb: DuckDBInstance;
  let client: Redis;
  let dispatcher: Dispatcher;
  /** Dispatches tasks whose deadline is DEADLINE_MS after planning. */
  let orchestrator: Orchestrator;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-deadline-'));
    workDir = mkdtempSync(join(tmpdir(), 'weir-deadline-w-'));
    store = new LocalObjectStore(root);
    o = await startTestOrchestration(store, redis, { workers: false });
    duckdb = await openWorkerDuckDB({ threads: 1 });
    client = new Redis({ host: redis.host, port: redis.port, maxRetriesPerRequest: null });
    dispatcher = new Dispatcher(o.connection, FAST_RETRY);
    orchestrator = new Orchestrator({
      store,
      catalogs: new TenantCatalogs(store),
      events: o.events,
      dispatcher,
      redis: client,
      taskDeadlineMs: DEADLINE_MS,
    });
  });
  afterAll(async () => {
    await dispatcher.close();
    client.disconnect();
    await o.stop();
    duckdb.closeSync();
    await redis.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });

  const startWorkers = (kind: string): Promise<TaskWorkers> =>
    startTaskWorkers({
      connection: o.connection,
      context: { store, catalogs: new TenantCatalogs(store), duckdb, workDir },
      orchestrator,
      events: o.events,
      retry: FAST_RETRY,
      kinds: [kind],
    });

  it('does not fail a flush whose workers come back after it: its rows land and its batch goes', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(store, tenant);
    const created = await createDataTable(catalog, 'db', 'cpu', {
      tags: ['host'],
      fields: { usage: 'float64' },
    });
    const rows = 10;
    const batchId = '01JZ0000000000000000000077';
    const bytes = Buffer.concat(
      await encodeStagingBatch(
        [
          tableOfBatch({
            database: 'db',
            table: 'cpu',
            rows,
            time: new BigInt64Array(rows).map((_, i) => BigInt(BASE_US + i)),
            columns: [
              {
                name: 'host',
                role: 'tag',
                roleDeclared: true,
                type: 'string',
                ...encodeStrings(Array(rows).fill('h')),
              },
              {
                name: 'usage',
                role: 'field',
                roleDeclared: true,
                type: 'float64',
                values: new Float64Array(rows),
              },
            ],
          }),
        ],
        { tenant, database: 'db', table: 'cpu', batchId, sealedAt: 1, tableVersion: created.version },
      ),
    );
    const stagingKey = paths.stagingKeys.batch(tenant, batchId);
    await store.put(stagingKey, bytes);
    const { runId } = await orchestrator.submit({
      kind: 'flush',
      tenant,
      logicalTime: '2026-03-01T00:00:00Z',
      database: 'db',
      table: 'cpu',
      batchId,
      rows,
      bytes: bytes.length,
      tableVersion: created.version,
    });
    await outage();
    const workers = await startWorkers('flush');
    try {
      const run = await orchestrator.waitForRun(tenant, runId, 30_000);
      expect(run.tasks[0]!.error).toBeUndefined();
      expect(run.status).toBe('succeeded');
      const wrote = run.tasks[0]!.result!.wrote;
      expect(wrote.files.reduce((sum, f) => sum + f.rows, 0)).toBe(rows);
      expect((await catalog.refresh()).version).toBe(wrote.commitVersion);
      expect(await store.head(stagingKey)).toBeUndefined();
    } finally {
      await workers.close();
    }
  });

  it('an attempt past the deadline reports the commit an earlier attempt made', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(store, tenant);
    await seedFiles(store, catalog, duckdb, { files: 4, rows: 100 });
    const { runId } = await orchestrator.submit(compactionTrigger(tenant));
    const plan = (await orchestrator.loadPlan(tenant, runId))!;
    // Attempt 1 commits in time; its worker dies before it reports or acknowledges.
    const first = await executeTask(orchestrator.envelope(plan, plan.tasks[0]!, 1, ''), {
      store,
      catalogs: new TenantCatalogs(store),
      duckdb,
      workDir,
    });
    expect(first.wrote.committed).toBe(true);
    await outage();
    const workers = await startWorkers('compaction');
    try {
      const run = await orchestrator.waitForRun(tenant, runId, 30_000);
      expect(run.tasks[0]!.error).toBeUndefined();
      expect(run.status).toBe('succeeded');
      expect(run.tasks[0]!.result!.wrote.commitVersion).toBe(first.wrote.commitVersion);
    } finally {
      await workers.close();
    }
  });
});
