import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compactEvents, liveFiles, paths, sha256Hex, TenantCatalog } from '../../catalog/index.js';
import { CACHED_PLANS, type LineageEdge, lineageOf, walkLineage } from '../../services/orchestrator/index.js';
import { createDataTable, writeDataFiles } from '../helpers/data-files.js';
import { useOrchestration } from '../helpers/orchestration.js';
import { waitFor } from '../helpers/wait.js';
import { compactionTrigger, countLiveRows, PARTITION_0, seedFiles } from './fixtures.js';

const LOGICAL = '2026-03-02T00:05:00.000Z';
let n = 0;
const freshTenant = () => `t${Date.now().toString(36)}${n++}`;

describe('orchestrator on real Redis and BullMQ workers', () => {
  const o = useOrchestration({ tmpPrefix: 'weir-orch-', concurrency: 2 });

  const compaction = (tenant: string, logicalTime = LOGICAL) => compactionTrigger(tenant, logicalTime);

  /** Hours 0 to `hours` - 1 of db.cpu, a file of 100 rows each, and the policy `keep-1d`: db keeps a day. */
  async function seedHoursUnderRetention(catalog: TenantCatalog, hours: number) {
    for (let hour = 0; hour < hours; hour++) {
      await seedFiles(o.store, catalog, o.duckdb, {
        files: 1,
        rows: 100,
        hour,
        prefix: `h${hour}-`,
        createTable: hour === 0,
      });
    }
    await catalog.commit([
      {
        op: 'setPolicy',
        policy: {
          id: 'keep-1d',
          kind: 'retention',
          database: 'db',
          definition: { name: 'keep-1d', retention_days: 1 },
        },
      },
    ]);
  }

  it('one trigger makes one run: planned once, executed by a worker, committed, recorded with lineage', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    const inputs = await seedFiles(o.store, catalog, o.duckdb, { files: 12, rows: 500 });
    const before = await catalog.refresh();
    const first = await o.orchestrator.submit(compaction(tenant));
    const again = await o.orchestrator.submit(compaction(tenant));
    expect(first.created).toBe(true);
    expect(again).toMatchObject({ created: false, runId: first.runId, planId: first.planId });

    const run = await o.orchestrator.waitForRun(tenant, first.runId, 60_000);
    expect(run.status).toBe('succeeded');
    expect(run.tasks).toHaveLength(1);
    const task = run.tasks[0]!;
    expect(task.status).toBe('succeeded');
    expect(task.attempts.map((a) => a.status)).toEqual(['succeeded']);
    expect(task.result?.wrote.committed).toBe(true);
    expect(task.result?.reads[0]?.catalogVersion).toBe(before.version);

    const head = await catalog.refresh();
    const live = [...liveFiles(head.tables.get('db.cpu')!)];
    expect(live.map((f) => f.path)).toEqual(task.result!.wrote.files.map((f) => f.path));
    expect(await countLiveRows(o.store, o.duckdb, head)).toBe(12 * 500);

    const edges = await o.orchestrator.history.lineageEdges(tenant, (e) => e.runId === first.runId);
    expect(new Set(edges.map((e) => e.input.path))).toEqual(new Set(inputs.map((f) => f.path)));
    expect(new Set(edges.map((e) => e.output.path))).toEqual(new Set(live.map((f) => f.path)));
  });

  it('retention: a dry run reports exactly what a real run removes; expire deletes only files outside the window', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedHoursUnderRetention(catalog, 6);
    // Cutoff 2026-03-01T02:30Z: hours 00, 01 and 02 hold only older rows.
    const logicalTime = '2026-03-02T02:30:00.000Z';
    const dry = await o.orchestrator.submit({
      kind: 'retention',
      tenant,
      logicalTime,
      policyId: 'keep-1d',
      dryRun: true,
    });
    const dryRun = await o.orchestrator.waitForRun(tenant, dry.runId, 30_000);
    expect(dryRun).toMatchObject({ status: 'succeeded', dryRun: true });
    expect((await catalog.refresh()).tables.get('db.cpu')!.fileCount).toBe(6);
    expect(dry.summary).toMatchObject({ partitions: 3, files: 3, rows: 300 });

    const real = await o.orchestrator.submit({ kind: 'retention', tenant, logicalTime, policyId: 'keep-1d' });
    expect(real.runId).not.toBe(dry.runId);
    const realRun = await o.orchestrator.waitForRun(tenant, real.runId, 30_000);
    expect(realRun.status).toBe('succeeded');
    const removed = realRun.tasks.flatMap((t) => t.result!.wrote.removed);
    expect(removed).toHaveLength(dry.summary.files as number);
    expect(removed.reduce((sum, f) => sum + f.rows, 0)).toBe(dry.summary.rows);
    const head = await catalog.refresh();
    expect([...head.tables.get('db.cpu')!.partitions.keys()].sort()).toEqual([
      'date=2026-03-01/hour=03',
      'date=2026-03-01/hour=04',
      'date=2026-03-01/hour=05',
    ]);
    // Removed objects stay for time travel until the window has passed.
    for (const f of removed) expect(await o.store.head(f.path)).toBeDefined();
    const removedAt = Math.max(...[...head.tombstones].map((t) => t.removedAt));
    const week = 7 * 24 * 3600_000;
    // Uploads the catalog never named: one four days old (an attempt that died), one fresh (a commit may still come).
    const orphanKey = (id: string) =>
      paths.dataKeys.file(tenant, 'db', 'cpu', paths.parsePartitionPath(PARTITION_0), id);
    const [oldOrphan, youngOrphan] = [orphanKey('tsk_dead-0'), orphanKey('tsk_busy-0')];
    for (const key of [oldOrphan, youngOrphan])
      await o.store.put(key, new TextEncoder().encode('never committed'));
    const fourDaysAgo = new Date(Date.now() - 4 * 24 * 3600_000);
    await utimes(join(o.root, oldOrphan), fourDaysAgo, fourDaysAgo);
    const early = await o.orchestrator.submit({
      kind: 'expire',
      tenant,
      logicalTime: new Date(removedAt + week - 60_000).toISOString(),
    });
    expect(early.taskCount).toBe(1); // the sweep only
    expect((await o.orchestrator.waitForRun(tenant, early.runId, 30_000)).status).toBe('succeeded');
    for (const f of removed) expect(await o.store.head(f.path)).toBeDefined();
    expect(await o.store.head(oldOrphan)).toBeUndefined();
    expect(await o.store.head(youngOrphan)).toBeDefined();
    const late = await o.orchestrator.submit({
      kind: 'expire',
      tenant,
      logicalTime: new Date(removedAt + week + 60_000).toISOString(),
    });
    expect((await o.orchestrator.waitForRun(tenant, late.runId, 30_000)).status).toBe('succeeded');
    for (const f of removed) expect(await o.store.head(f.path)).toBeUndefined();
    for (const f of liveFiles(head.tables.get('db.cpu')!)) expect(await o.store.head(f.path)).toBeDefined();
  });

  it('replay of a compaction run is reproducible; after tampering with an output, replay reports the mismatch', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: 6, rows: 300 });
    const { runId } = await o.orchestrator.submit(compaction(tenant));
    expect((await o.orchestrator.waitForRun(tenant, runId, 60_000)).status).toBe('succeeded');
    const headBefore = (await catalog.refresh()).version;

    const clean = await o.orchestrator.replay(tenant, runId);
    expect(clean.reproducible).toBe(true);
    expect(clean.tasks[0]!.outputs.length).toBeGreaterThan(0);
    expect(clean.differences).toEqual([]);
    expect((await catalog.refresh()).version).toBe(headBefore); // replay commits nothing

    const output = clean.tasks[0]!.outputs[0]!.file;
    await o.store.put(output, new TextEncoder().encode('tampered'));
    const tampered = await o.orchestrator.replay(tenant, runId);
    expect(tampered.reproducible).toBe(false);
    expect(tampered.differences).toEqual([
      expect.objectContaining({
        file: output,
        storedSha256: sha256Hex('tampered'),
        replayedSha256: clean.tasks[0]!.outputs[0]!.recordedSha256,
      }),
    ]);
  });

  it('lineage: after two chained compactions, upstream of the final file reaches the original files through both runs', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    const originals = await seedFiles(o.store, catalog, o.duckdb, { files: 3, rows: 100, prefix: 'a' });
    const first = await o.orchestrator.submit(compaction(tenant, '2026-03-02T00:05:00.000Z'));
    await o.orchestrator.waitForRun(tenant, first.runId, 60_000);
    const later = await seedFiles(o.store, catalog, o.duckdb, {
      files: 2,
      rows: 100,
      prefix: 'b',
      createTable: false,
    });
    const second = await o.orchestrator.submit(compaction(tenant, '2026-03-02T01:05:00.000Z'));
    const secondRun = await o.orchestrator.waitForRun(tenant, second.runId, 60_000);
    expect(secondRun.status).toBe('succeeded');
    const finalFile = secondRun.tasks[0]!.result!.wrote.files[0]!.path;

    const edges = await o.orchestrator.history.lineageEdges(tenant);
    const graph = walkLineage(edges, { node: finalFile, level: 'file', direction: 'upstream', depth: 5 });
    const reached = new Set(graph.nodes.map((node) => node.id));
    for (const f of [...originals, ...later]) expect(reached.has(f.path)).toBe(true);
    expect(new Set(graph.edges.map((e) => e.runId))).toEqual(new Set([first.runId, second.runId]));
    const down = walkLineage(edges, {
      node: originals[0]!.path,
      level: 'file',
      direction: 'downstream',
      depth: 5,
    });
    expect(down.nodes.map((x) => x.id)).toContain(finalFile);
  });

  it('lineage of the longest legal names is recorded, and a repeated report of it folds once', async () => {
    // Each name as long as NAME_RULES allows: two data-file paths then pass 512 characters.
    const tenant = freshTenant().padEnd(64, 'x');
    const database = `d${'b'.repeat(63)}`;
    const table = `t${'x'.repeat(127)}`;
    const catalog = new TenantCatalog(o.store, tenant);
    await createDataTable(catalog, database, table, { tags: ['host'], fields: { v: 'float64' } });
    const inputs = await writeDataFiles({
      store: o.store,
      catalog,
      database,
      table,
      duckdb: o.duckdb,
      files: [0, 1].map((f) => ({
        fileId: `f${f}`,
        sql: `SELECT TIMESTAMP '2026-03-01 00:00:00' + to_microseconds(i * 1000 + ${f}) AS time, 'h' AS host, i * 1.0 AS v FROM range(10) t(i)`,
      })),
    });
    const { runId } = await o.orchestrator.submit({
      ...compaction(tenant),
      database,
      table,
    });
    const run = await o.orchestrator.waitForRun(tenant, runId, 30_000);
    expect(run.status).toBe('succeeded');
    const result = run.tasks[0]!.result!;
    const ofRun = (e: LineageEdge) => e.runId === runId;
    const edges = await o.orchestrator.history.lineageEdges(tenant, ofRun);
    expect(edges).toHaveLength(inputs.length * result.wrote.files.length);
    expect(edges[0]!.input.path.length + edges[0]!.output.path.length).toBeGreaterThan(512);
    expect(edges.map((e) => e.input.path).sort()).toEqual(
      inputs.flatMap((f) => result.wrote.files.map(() => f.path)).sort(),
    );
    // A redelivered attempt reports the same edges again.
    await o.events.lineage(tenant, lineageOf(runId, 'compaction', result));
    expect(await o.orchestrator.history.lineageEdges(tenant, ofRun)).toHaveLength(edges.length);
  });

  it('run history answers from compacted events and from the uncompacted tail', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: 2, rows: 50 });
    const first = await o.orchestrator.submit(compaction(tenant, '2026-03-02T00:05:00.000Z'));
    await o.orchestrator.waitForRun(tenant, first.runId, 60_000);
    await o.writer.flush();
    const folded = await compactEvents(o.store, tenant, { settleMs: 0, now: () => Date.now() + 1000 });
    expect(folded.compacted).toBe(true);

    await seedFiles(o.store, catalog, o.duckdb, { files: 2, rows: 50, prefix: 'late', createTable: false });
    const second = await o.orchestrator.submit(compaction(tenant, '2026-03-02T01:05:00.000Z'));
    await o.orchestrator.waitForRun(tenant, second.runId, 60_000);

    const page = await o.orchestrator.history.list(tenant, { kind: 'compaction' });
    expect(page.runs.map((r) => r.runId).sort()).toEqual([first.runId, second.runId].sort());
    expect(page.runs.every((r) => r.status === 'succeeded')).toBe(true);
    expect(page.sources.compacted).toBeGreaterThan(0);
    expect(page.sources.tail).toBeGreaterThan(0);
    const firstView = await o.orchestrator.history.get(tenant, first.runId);
    expect(firstView?.tasks[0]?.result?.wrote.committed).toBe(true);
  });

  /** A no-op run of `tasks` tasks of `sleepMs` each, returned once its first task succeeded. */
  async function noopRunUnderWay(tasks: number, sleepMs: number) {
    const tenant = freshTenant();
    await new TenantCatalog(o.store, tenant).commit([{ op: 'createDatabase', database: 'db' }]);
    const { runId } = await o.orchestrator.submit({
      kind: 'noop',
      tenant,
      logicalTime: LOGICAL,
      tasks,
      sleepMs,
    });
    await waitFor(async () =>
      (await o.orchestrator.history.get(tenant, runId))?.tasks.some((t) => t.status === 'succeeded')
        ? true
        : undefined,
    );
    return { tenant, runId };
  }

  it('reconcile never executes a dry run: one seen before its end was recorded is only finished', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedHoursUnderRetention(catalog, 3);
    // The planner "dies" between the run's planned event and its end (the scheduler's reconcile
    // used to find such a run planned and dispatch its retention tasks: rows deleted by a dry run).
    const events = (
      o.orchestrator as unknown as { deps: { events: { runFinished: (...a: unknown[]) => Promise<void> } } }
    ).deps.events;
    const runFinished = events.runFinished;
    events.runFinished = () => Promise.reject(new Error('planner died'));
    const trigger = {
      kind: 'retention',
      tenant,
      logicalTime: '2026-03-02T02:30:00.000Z',
      policyId: 'keep-1d',
      dryRun: true,
    };
    try {
      await expect(o.orchestrator.submit(trigger)).rejects.toThrow('planner died');
    } finally {
      events.runFinished = runFinished;
    }
    const [planned] = (await o.orchestrator.history.list(tenant, {})).runs;
    expect(planned).toMatchObject({ status: 'planned', dryRun: true });
    expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 1 });
    const run = await o.orchestrator.waitForRun(tenant, planned!.runId, 30_000);
    expect(run).toMatchObject({ status: 'succeeded', dryRun: true });
    expect(run.tasks.every((t) => t.attempts.length === 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect((await catalog.refresh()).tables.get('db.cpu')!.fileCount).toBe(3);
  });

  it('keeps only the most recently used plans in memory: a long-lived worker sees endless runs', async () => {
    const tenant = freshTenant();
    const { runId } = await o.orchestrator.submit({ kind: 'noop', tenant, logicalTime: LOGICAL, tasks: 1 });
    await o.orchestrator.waitForRun(tenant, runId, 30_000);
    const bytes = (await o.store.getIfExists(paths.runKeys.plan(tenant, runId)))!;
    const ids = Array.from(
      { length: CACHED_PLANS + 1 },
      (_, i) => `run_cached_${String(i).padStart(4, '0')}`,
    );
    for (const id of ids) await o.store.put(paths.runKeys.plan(tenant, id), bytes);
    for (const id of ids) expect(await o.orchestrator.loadPlan(tenant, id)).toBeDefined();
    for (const id of [ids[0]!, ids.at(-1)!]) await o.store.delete(paths.runKeys.plan(tenant, id));
    // The oldest was dropped from memory, so it is read again and is gone; the newest is served from memory.
    expect(await o.orchestrator.loadPlan(tenant, ids[0]!)).toBeUndefined();
    expect(await o.orchestrator.loadPlan(tenant, ids.at(-1)!)).toMatchObject({ tenant });
  });

  it('cancel removes queued tasks, lets nothing new start, and ends the run cancelled', async () => {
    const { tenant, runId } = await noopRunUnderWay(30, 150);
    const cancelled = await o.orchestrator.cancel(tenant, runId);
    expect(cancelled.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 600));
    const run = (await o.orchestrator.history.get(tenant, runId))!;
    expect(run.status).toBe('cancelled');
    const succeeded = run.tasks.filter((t) => t.status === 'succeeded').length;
    expect(succeeded).toBeLessThan(30);
    expect(run.tasks.filter((t) => t.status === 'cancelled').length).toBeGreaterThan(0);
    await expect(o.orchestrator.cancel(tenant, runId)).rejects.toMatchObject({ code: 'RUN_FINISHED' });
  });

  it('a cancel cut off after its flag (the event store away) is finished by the next reconcile', async () => {
    const { tenant, runId } = await noopRunUnderWay(30, 150);
    // The first task the cancel removes from the queue gets no event: the store fails right then.
    const taskEnded = o.events.taskEnded;
    o.events.taskEnded = async () => {
      o.events.taskEnded = taskEnded;
      throw new Error('object store unreachable');
    };
    await expect(o.orchestrator.cancel(tenant, runId)).rejects.toThrow('object store unreachable');
    expect((await o.orchestrator.history.get(tenant, runId))!.status).toBe('running');
    await o.orchestrator.reconcile(tenant);
    const run = (await o.orchestrator.history.get(tenant, runId))!;
    expect(run.status).toBe('cancelled');
    expect(run.tasks.filter((t) => t.status === 'queued')).toEqual([]);
  });

  it('a Redis restart in the middle of a run loses the queue, and the run still finishes', async () => {
    const { tenant, runId } = await noopRunUnderWay(12, 200);
    await o.redis.restart(); // no persistence: queued jobs and progress are gone
    const run = await waitFor(async () => {
      await o.orchestrator.reconcile(tenant).catch(() => undefined);
      const view = await o.orchestrator.history.get(tenant, runId);
      return view?.status === 'succeeded' ? view : undefined;
    }, 60_000);
    expect(run.tasks.every((t) => t.status === 'succeeded')).toBe(true);
  });
});
