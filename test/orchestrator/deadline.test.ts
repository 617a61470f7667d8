/**
 * A task's start deadline on real Redis and BullMQ: a flush runs however late its workers come
 * back, and an attempt past the deadline whose task already committed reports that commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paths, TenantCatalog, TenantCatalogs } from '../../catalog/index.js';
import { tableOfBatch } from '../../services/ingest/arrow.js';
import { encodeStrings } from '../../services/ingest/decode/utf8.js';
import { encodeStagingBatch } from '../../services/ingest/staging-format.js';
import { Dispatcher, Orchestrator } from '../../services/orchestrator/index.js';
import { executeTask, startTaskWorkers, type TaskWorkers } from '../../workers/index.js';
import { BASE_US, createDataTable } from '../helpers/data-files.js';
import { FAST_RETRY, useOrchestration } from '../helpers/orchestration.js';
import { compactionTrigger, seedFiles } from './fixtures.js';

let n = 0;
const freshTenant = () => `dl${Date.now().toString(36)}${n++}`;
const DEADLINE_MS = 100;
/** The worker fleet is down for longer than the deadline. */
const outage = () => new Promise((resolve) => setTimeout(resolve, 3 * DEADLINE_MS));

describe('the task deadline', () => {
  const o = useOrchestration({ tmpPrefix: 'weir-deadline-', workers: false });
  let workDir: string;
  let client: Redis;
  let dispatcher: Dispatcher;
  /** Dispatches tasks whose deadline is DEADLINE_MS after planning. */
  let orchestrator: Orchestrator;

  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'weir-deadline-w-'));
    client = new Redis({ host: o.redis.host, port: o.redis.port, maxRetriesPerRequest: null });
    dispatcher = new Dispatcher(o.connection, FAST_RETRY);
    orchestrator = new Orchestrator({
      store: o.store,
      catalogs: new TenantCatalogs(o.store),
      events: o.events,
      dispatcher,
      redis: client,
      taskDeadlineMs: DEADLINE_MS,
    });
  });
  afterAll(async () => {
    await dispatcher.close();
    client.disconnect();
    rmSync(workDir, { recursive: true, force: true });
  });

  const startWorkers = (kind: string): Promise<TaskWorkers> =>
    startTaskWorkers({
      connection: o.connection,
      context: { store: o.store, catalogs: new TenantCatalogs(o.store), duckdb: o.duckdb, workDir },
      orchestrator,
      events: o.events,
      retry: FAST_RETRY,
      kinds: [kind],
    });

  it('does not fail a flush whose workers come back after it: its rows land and its batch goes', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
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
    await o.store.put(stagingKey, bytes);
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
      expect(await o.store.head(stagingKey)).toBeUndefined();
    } finally {
      await workers.close();
    }
  });

  it('an attempt past the deadline reports the commit an earlier attempt made', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: 4, rows: 100 });
    const { runId } = await orchestrator.submit(compactionTrigger(tenant));
    const plan = (await orchestrator.loadPlan(tenant, runId))!;
    // Attempt 1 commits in time; its worker dies before it reports or acknowledges.
    const first = await executeTask(orchestrator.envelope(plan, plan.tasks[0]!, 1, ''), {
      store: o.store,
      catalogs: new TenantCatalogs(o.store),
      duckdb: o.duckdb,
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
