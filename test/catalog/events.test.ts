import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compactEvents,
  type EventInput,
  EventLogWriter,
  type ObjectStore,
  paths,
  readEvents,
  WeirError,
} from '../../catalog/index.js';
import { BACKENDS } from '../helpers/stores.js';

const T0 = Date.parse('2026-03-05T10:00:00Z');

function runEvent(runId: string, state: string, at: number): EventInput {
  return {
    type: `run.${state}`,
    tenant: 'acme',
    idempotencyKey: `${runId}:${state}`,
    occurredAt: at,
    source: 'test',
    payload: { runId, state },
  };
}

describe.each(BACKENDS)('event log on $name storage', (backend) => {
  let store: ObjectStore;
  let cleanup: () => Promise<void>;
  let clock: number;
  beforeEach(async () => {
    ({ store, cleanup } = await backend.create());
    clock = T0;
  });
  afterEach(async () => cleanup());

  const writer = (options = {}) =>
    new EventLogWriter(store, { now: () => clock, flushIntervalMs: 20, ...options });
  const compact = () => compactEvents(store, 'acme', { now: () => clock, settleMs: 30_000 });

  async function batchCount() {
    let n = 0;
    for await (const o of store.listAll(paths.eventKeys.prefix('acme')))
      if (paths.eventKeys.isBatch('acme', o.key)) n++;
    return n;
  }

  it('batches many events into one object, written with put-if-absent', async () => {
    const w = writer();
    await Promise.all(Array.from({ length: 50 }, (_, i) => w.append(runEvent(`r${i}`, 'started', T0 + i))));
    expect(await batchCount()).toBe(1);
    expect((await readEvents(store, 'acme', 'runs')).events).toHaveLength(50);
  });

  it('splits batches at maxBatchEvents and separates tenants', async () => {
    const w = writer({ maxBatchEvents: 10 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => w.append(runEvent(`r${i}`, 'started', T0))));
    await w.append({ ...runEvent('x', 'started', T0), tenant: 'other' });
    expect(await batchCount()).toBe(3);
    expect((await readEvents(store, 'other', 'runs')).events.map((e) => e.payload.runId)).toEqual(['x']);
  });

  it('duplicates fold once, in the tail, in compaction and across both', async () => {
    const w = writer();
    await w.append(runEvent('r1', 'started', T0));
    await w.append(runEvent('r1', 'started', T0)); // a retried emit
    expect((await readEvents(store, 'acme', 'runs')).events).toHaveLength(1);

    clock += 60_000;
    const first = await compact();
    expect(first).toMatchObject({ compacted: true, events: 1, duplicates: 1, batches: 2 });
    await w.append(runEvent('r1', 'started', T0)); // emitted again after compaction
    await w.append(runEvent('r1', 'succeeded', T0 + 5));
    const read = await readEvents(store, 'acme', 'runs');
    expect(read.events.map((e) => e.type)).toEqual(['run.started', 'run.succeeded']);
    expect(read).toMatchObject({ compactedEvents: 1, tailEvents: 1 });

    clock += 60_000;
    const second = await compact();
    expect(second).toMatchObject({ compacted: true, events: 1, duplicates: 1 });
    expect((await readEvents(store, 'acme', 'runs')).events.map((e) => e.type)).toEqual([
      'run.started',
      'run.succeeded',
    ]);
  });

  it('an event written after compaction is visible at once in the tail', async () => {
    const w = writer();
    await w.append(runEvent('r1', 'started', T0));
    clock += 60_000;
    await compact();
    await w.append(runEvent('r2', 'started', clock));
    const read = await readEvents(store, 'acme', 'runs');
    expect(read.events.map((e) => e.payload.runId)).toEqual(['r1', 'r2']);
    expect(read).toMatchObject({ compactedEvents: 1, tailEvents: 1, generation: 1 });
  });

  it('chooses events by run and type before decoding them, in compacted files and in the tail alike', async () => {
    const w = writer();
    for (const [runId, state] of [
      ['r1', 'planned'],
      ['r2', 'planned'],
      ['r1', 'succeeded'],
    ])
      await w.append(runEvent(runId!, state!, clock));
    clock += 60_000;
    await compact();
    for (const [runId, state] of [
      ['r3', 'planned'],
      ['r2', 'failed'],
    ])
      await w.append(runEvent(runId!, state!, clock));
    const seen: string[] = [];
    const read = await readEvents(store, 'acme', 'runs', undefined, (runId, type) => {
      seen.push(`${runId} ${type}`);
      return runId === 'r2';
    });
    expect(seen.sort()).toEqual([
      'r1 run.planned',
      'r1 run.succeeded',
      'r2 run.failed',
      'r2 run.planned',
      'r3 run.planned',
    ]);
    expect(read.events.map((e) => e.type)).toEqual(['run.planned', 'run.failed']);
    expect(read).toMatchObject({ compactedEvents: 1, tailEvents: 1 });
  });

  it('compaction is idempotent and leaves unsettled batches in the tail', async () => {
    const w = writer();
    await w.append(runEvent('r1', 'started', T0));
    clock += 60_000;
    await w.append(runEvent('r2', 'started', clock)); // too fresh to fold
    const first = await compact();
    expect(first).toMatchObject({ compacted: true, events: 1, generation: 1 });
    const again = await compact();
    expect(again).toMatchObject({ compacted: false, generation: 1 });
    const read = await readEvents(store, 'acme', 'runs');
    expect(read).toMatchObject({ compactedEvents: 1, tailEvents: 1 });
  });

  it('two compactions racing publish exactly one generation; no event is lost or doubled', async () => {
    const w = writer();
    await Promise.all(Array.from({ length: 20 }, (_, i) => w.append(runEvent(`r${i}`, 'started', T0 + i))));
    clock += 60_000;
    const results = await Promise.all([compact(), compact(), compact()]);
    expect(results.filter((r) => r.compacted)).toHaveLength(1);
    const read = await readEvents(store, 'acme', 'runs');
    expect(read.events).toHaveLength(20);
    expect(read.compactedEvents).toBe(20);
  });

  it('projections route by type, and compacted Parquet is readable by DuckDB with lifted columns', async () => {
    const w = writer();
    await w.append(runEvent('r1', 'started', T0));
    await w.append({
      type: 'task.succeeded',
      tenant: 'acme',
      idempotencyKey: 't1:ok',
      occurredAt: T0 + 1,
      source: 'worker',
      payload: { runId: 'r1', taskId: 't1' },
    });
    await w.append({
      type: 'lineage.edge',
      tenant: 'acme',
      idempotencyKey: 'e1',
      occurredAt: T0 + 2,
      source: 'worker',
      payload: { runId: 'r1', taskId: 't1', input: 'a', output: 'b' },
    });
    clock += 60_000;
    await compact();
    expect((await readEvents(store, 'acme', 'tasks')).events.map((e) => e.type)).toEqual(['task.succeeded']);
    expect((await readEvents(store, 'acme', 'lineage_edges')).events).toHaveLength(1);
    expect((await readEvents(store, 'acme', 'ingest_stats')).events).toHaveLength(0);

    const keys: string[] = [];
    for await (const o of store.listAll(paths.eventKeys.compactedPrefix('acme')))
      if (o.key.includes('/tasks/')) keys.push(o.key);
    expect(keys).toHaveLength(1);
    const bytes = await store.get(keys[0]!);
    const connection = await (await DuckDBInstance.create(':memory:')).connect();
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const file = `${mkdtempSync('/tmp/weir-ev-')}/tasks.parquet`;
    writeFileSync(file, bytes);
    const rows = (
      await connection.runAndReadAll(`SELECT type, run_id, task_id FROM read_parquet('${file}')`)
    ).getRowObjects();
    expect(rows).toEqual([{ type: 'task.succeeded', run_id: 'r1', task_id: 't1' }]);
  });

  it('refuses malformed events with a clear error and writes nothing', async () => {
    const w = writer();
    await expect(w.append({ ...runEvent('r1', 'started', T0), type: 'unknown.thing' })).rejects.toThrow(
      WeirError,
    );
    await expect(w.append({ ...runEvent('r1', 'started', T0), tenant: '../x' })).rejects.toThrow(/tenant/);
    await w.flush();
    expect(await batchCount()).toBe(0);
  });
});
