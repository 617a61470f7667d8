/**
 * Cancel reaches tasks that are already running: a task whose run was cancelled while it worked
 * does not commit, deletes its uploads, and ends `cancelled`. Flush runs refuse cancel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type ByteRange,
  LocalObjectStore,
  liveFiles,
  type ObjectBody,
  paths,
  TenantCatalog,
  TenantCatalogs,
} from '../../catalog/index.js';
import { executeTask, startTaskWorkers } from '../../workers/index.js';
import { FAST_RETRY, useOrchestration } from '../helpers/orchestration.js';
import { waitFor } from '../helpers/wait.js';
import { compactionTrigger, countLiveRows, PARTITION_0, seedFiles } from './fixtures.js';

/** A local store that holds the first put or read of a matching key until the test lets it go. */
class GatedStore extends LocalObjectStore {
  private gate:
    | { matches: (key: string) => boolean; reached: (key: string) => void; released: Promise<void> }
    | undefined;

  /** Arms the gate; answers a promise of the first matching key and the function that releases its call. */
  hold(matches: (key: string) => boolean): { reached: Promise<string>; release: () => void } {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedWith!: (key: string) => void;
    const reached = new Promise<string>((resolve) => {
      reachedWith = resolve;
    });
    this.gate = { matches, reached: reachedWith, released };
    return { reached, release };
  }

  private async pass(key: string): Promise<void> {
    const gate = this.gate;
    if (!gate?.matches(key)) return;
    this.gate = undefined;
    gate.reached(key);
    await gate.released;
  }

  override async put(key: string, body: ObjectBody): Promise<void> {
    await this.pass(key);
    return super.put(key, body);
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    await this.pass(key);
    return super.get(key, range);
  }

  override async getIfExists(key: string): Promise<Uint8Array | undefined> {
    await this.pass(key);
    return super.getIfExists(key);
  }
}

let n = 0;
const freshTenant = () => `c${Date.now().toString(36)}${n++}`;

describe('cancel of a run whose task is running', () => {
  const o = useOrchestration({
    tmpPrefix: 'weir-cancel-',
    store: (root) => new GatedStore(root),
    concurrency: 2,
  });

  it('a compaction cancelled while it writes commits nothing, references no upload, and ends cancelled', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    const inputs = await seedFiles(o.store, catalog, o.duckdb, { files: 6, rows: 300 });
    const before = await catalog.refresh();
    const dataRoot = paths.dataKeys.tablePrefix(tenant, 'db', 'cpu');
    const gate = o.store.hold((key) => key.startsWith(dataRoot));

    const { runId } = await o.orchestrator.submit(compactionTrigger(tenant));
    const output = await gate.reached; // the task is running: it uploads its first output
    expect(output).toContain(PARTITION_0);
    expect((await o.orchestrator.cancel(tenant, runId)).status).toBe('cancelled');
    gate.release();

    const task = await waitFor(async () => {
      const view = (await o.orchestrator.history.get(tenant, runId))?.tasks[0];
      return view?.status === 'cancelled' ? view : undefined;
    }, 30_000);
    expect(task.error).toBeUndefined();
    const run = (await o.orchestrator.history.get(tenant, runId))!;
    expect(run.status).toBe('cancelled');
    expect(run.tasks.every((t) => t.status !== 'succeeded' && t.status !== 'failed')).toBe(true);

    // No commit: the same live files, the same rows, and the task id is not in the log.
    const after = await catalog.refresh();
    expect(after.version).toBe(before.version);
    expect(after.history.get(task.taskId)).toBeUndefined();
    const live = [...liveFiles(after.tables.get('db.cpu')!)].map((f) => f.path).sort();
    expect(live).toEqual(inputs.map((f) => f.path).sort());
    expect(await countLiveRows(o.store, o.duckdb, after)).toBe(6 * 300);
    // The uploads stay, named by no version, for the expire sweep: a redelivered attempt of the
    // same task could still be committing them (test/workers/compaction.test.ts).
    const objects: string[] = [];
    for await (const info of o.store.listAll(dataRoot)) objects.push(info.key);
    const uploads = objects.filter((key) => !live.includes(key));
    expect(uploads.length).toBeGreaterThan(0);
    expect(uploads.every((key) => key.includes(task.taskId))).toBe(true);
  });

  it('a flush run refuses cancel: its rows were acknowledged', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: 1, rows: 10 });
    const batchId = '01JZ0000000000000000000009';
    const stagingKey = paths.stagingKeys.batch(tenant, batchId);
    // The flush task waits at its read of the (absent) staging batch while cancel is asked.
    const gate = o.store.hold((key) => key === stagingKey);
    const { runId } = await o.orchestrator.submit({
      kind: 'flush',
      tenant,
      logicalTime: '2026-03-01T00:00:00Z',
      database: 'db',
      table: 'cpu',
      batchId,
      rows: 10,
      bytes: 100,
    });
    await gate.reached;
    try {
      await expect(o.orchestrator.cancel(tenant, runId)).rejects.toMatchObject({
        code: 'RUN_NOT_CANCELLABLE',
        httpStatus: 409,
      });
      expect(await o.orchestrator.progress.isCancelled(tenant, runId)).toBe(false);
    } finally {
      gate.release();
    }
  });
});

describe('cancel of a run whose task already committed', () => {
  // Workers start later: the test plays a first attempt whose worker dies after its commit.
  const o = useOrchestration({ tmpPrefix: 'weir-cancel-committed-', workers: false });

  it('a redelivered attempt reports the earlier commit instead of ending cancelled', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: 4, rows: 100 });
    const { runId } = await o.orchestrator.submit(compactionTrigger(tenant));
    const plan = (await o.orchestrator.loadPlan(tenant, runId))!;
    const task = plan.tasks[0]!;
    const workDir = mkdtempSync(join(tmpdir(), 'weir-cancel-committed-w-'));
    const context = { store: o.store, catalogs: new TenantCatalogs(o.store), duckdb: o.duckdb, workDir };
    try {
      // Attempt 1 reports `running` and commits; its worker dies before it reports or acknowledges.
      const envelope = o.orchestrator.envelope(plan, task, 1, '');
      await o.events.taskRunning(tenant, runId, task.taskId, 1, envelope.attemptId, 'worker:dead');
      expect((await executeTask(envelope, context)).wrote.committed).toBe(true);
      const landed = (await catalog.refresh()).history.get(task.taskId)!;
      // The task shows `running`, so the cancel leaves its job, which BullMQ delivers again.
      expect((await o.orchestrator.cancel(tenant, runId)).status).toBe('cancelled');
      const workers = await startTaskWorkers({
        connection: o.connection,
        context,
        orchestrator: o.orchestrator,
        events: o.events,
        retry: FAST_RETRY,
        kinds: ['compaction'],
      });
      try {
        const view = await waitFor(async () => {
          const t = (await o.orchestrator.history.get(tenant, runId))?.tasks[0];
          return t && t.status !== 'running' ? t : undefined;
        }, 30_000);
        expect(view.status).toBe('succeeded');
        expect(view.result?.wrote.commitVersion).toBe(landed.version);
        expect((await o.orchestrator.history.get(tenant, runId))!.status).toBe('cancelled');
        expect((await catalog.refresh()).version).toBe(landed.version);
      } finally {
        await workers.close();
      }
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  });
});
