/**
 * The SDK's management calls against a real `weir serve`: databases, tables, tokens, tenants,
 * retention policies, continuous queries, deletes, runs and lineage. Each call is checked by its
 * effect on the server (a query, a token that stops working, a run that exists), not by its answer alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  NotFoundError,
  PermissionError,
  type Run,
  toRecords,
  ValidationError,
  WeirClient,
} from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from './server.js';

let server: SdkServer;
let client: WeirClient;
const T0 = Date.UTC(2026, 2, 1);
const HOUR = 3_600_000;

beforeAll(async () => {
  // The scheduler's reconcile would otherwise tick every 0.5 s; between the two events of a retention
  // dry run it may take the run for unfinished and dispatch its tasks, deleting for real (a server
  // bug, reported with this SDK). Ticking once, at start, keeps these tests off that race.
  server = await startSdkServer({ WEIR_SCHEDULER_INTERVAL_MS: '3600000' });
  client = server.client({ database: 'mgmt' });
});
afterAll(async () => {
  await server?.stop();
});

/** Live row count of a table (0 while it does not exist yet). */
async function count(table: string, database = 'mgmt'): Promise<number> {
  const answer = await client.query(`SELECT count(*) AS n FROM ${table}`, { database }).catch((error) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
  return answer ? Number(answer.data[0]![0]) : 0;
}

const untilCount = (table: string, rows: number, database = 'mgmt') =>
  waitFor(async () => ((await count(table, database)) === rows ? true : undefined), 30_000, 100);

/** `rows` rows per host h0..h3 in the hour starting at `start`. */
async function writeHour(table: string, start: number, rows = 40): Promise<void> {
  await client.writeColumnar({
    table,
    columns: {
      time: Array.from({ length: rows }, (_, i) => start + i * 60_000),
      host: Array.from({ length: rows }, (_, i) => `h${i % 4}`),
      v: Array.from({ length: rows }, (_, i) => i),
    },
    tags: ['host'],
  });
}

describe('databases and tables', () => {
  it('creates, lists and deletes a database (deleting needs confirm)', async () => {
    const created = await client.databases.create('scratch');
    expect(created).toMatchObject({ name: 'scratch', measurement_count: 0 });
    expect((await client.databases.list()).map((d) => d.name)).toContain('scratch');
    await expect(client.databases.create('scratch')).rejects.toMatchObject({
      status: 409,
      code: 'DATABASE_EXISTS',
    });
    await expect(client.databases.delete('scratch')).rejects.toMatchObject({ code: 'CONFIRM_REQUIRED' });
    expect(await client.databases.delete('scratch', { confirm: true })).toMatchObject({
      measurements_dropped: 0,
    });
    expect((await client.databases.list()).map((d) => d.name)).not.toContain('scratch');
  });

  it('lists tables with their files, per database and over all', async () => {
    await writeHour('t1', T0);
    await writeHour('t2', T0);
    await untilCount('t1', 40);
    await untilCount('t2', 40);
    const tables = await client.tables.list({ database: 'mgmt' });
    expect(tables.map((t) => t.measurement).sort()).toEqual(['t1', 't2']);
    expect(tables.every((t) => t.database === 'mgmt' && t.file_count >= 1 && t.total_size_mb > 0)).toBe(true);
    expect((await client.tables.list()).some((t) => t.database === 'mgmt' && t.measurement === 't1')).toBe(
      true,
    );
    expect((await client.databases.list()).find((d) => d.name === 'mgmt')?.measurement_count).toBe(2);
  });
});

describe('tokens and tenants', () => {
  it('creates, verifies, updates, rotates, revokes and deletes a token', async () => {
    const created = await client.tokens.create({
      name: 'reader',
      permissions: ['read'],
      databases: ['mgmt'],
    });
    expect(created.token).toMatch(/^weir_/);
    expect(await client.tokens.verify(created.token)).toMatchObject({
      valid: true,
      tenant: 'default',
      permissions: ['read'],
      databases: ['mgmt'],
    });
    expect((await client.tokens.list()).map((t) => t.id)).toContain(created.id);
    expect(await client.tokens.update(created.id, { description: 'dashboards' })).toMatchObject({
      description: 'dashboards',
    });
    expect((await client.tokens.get(created.id)).description).toBe('dashboards');

    const reader = new WeirClient({ url: server.url, token: created.token, database: 'mgmt' });
    expect((await reader.query('SELECT 1 AS one')).data).toEqual([[1]]);
    await expect(reader.writeRows([{ table: 't1', fields: { v: 1 } }])).rejects.toBeInstanceOf(
      PermissionError,
    );

    const { new_token } = await client.tokens.rotate(created.id);
    expect((await client.tokens.verify(created.token)).valid).toBe(false);
    expect((await client.tokens.verify(new_token)).valid).toBe(true);

    await client.tokens.revoke(created.id);
    expect((await client.tokens.verify(new_token)).valid).toBe(false);
    expect((await client.tokens.get(created.id)).revoked).toBe(true);

    await client.tokens.delete(created.id);
    await expect(client.tokens.get(created.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('verify() checks the client’s own token', async () => {
    expect(await client.tokens.verify()).toMatchObject({
      valid: true,
      tenant: 'default',
      token_info: { platform_admin: true },
    });
  });

  it('creates, lists and deletes a tenant whose token acts for it alone', async () => {
    const created = await client.tenants.create({ id: 'acme', display_name: 'Acme' });
    expect(created.tenant).toMatchObject({ id: 'acme', display_name: 'Acme' });
    const acme = new WeirClient({ url: server.url, token: created.token });
    expect(await acme.tokens.verify()).toMatchObject({ valid: true, tenant: 'acme' });
    expect(await acme.databases.list()).toEqual([]);
    expect((await client.tenants.list()).map((t) => t.id)).toContain('acme');
    await expect(client.tenants.delete('acme')).rejects.toMatchObject({ code: 'CONFIRM_REQUIRED' });
    await client.tenants.delete('acme', { confirm: true });
    expect((await client.tenants.list()).map((t) => t.id)).not.toContain('acme');
    expect((await client.tokens.verify(created.token)).valid).toBe(false);
  });
});

describe('retention policies', () => {
  it('creates, reads, updates, runs (dry, then for real) and deletes a policy', async () => {
    await writeHour('old', T0);
    await untilCount('old', 40);
    const policy = await client.retention.create({
      name: 'old-30d',
      database: 'mgmt',
      measurement: 'old',
      retention_days: 30,
    });
    expect(policy).toMatchObject({
      name: 'old-30d',
      database: 'mgmt',
      measurement: 'old',
      retention_days: 30,
    });
    expect((await client.retention.list()).map((p) => p.id)).toContain(policy.id);
    const updated = await client.retention.update(policy.id, {
      name: 'old-30d',
      database: 'mgmt',
      measurement: 'old',
      retention_days: 60,
    });
    expect(updated.retention_days).toBe(60);
    expect(updated.version).toBeGreaterThan(policy.version);
    expect((await client.retention.get(policy.id)).retention_days).toBe(60);

    // The rows are from March, older than 60 days: a dry run counts them and keeps them.
    const dry = await client.retention.execute(policy.id, { dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, deleted_count: 40, affected_measurements: ['old'] });
    expect(await count('old')).toBe(40);
    await expect(client.retention.execute(policy.id)).rejects.toMatchObject({ code: 'CONFIRM_REQUIRED' });
    const real = await client.retention.execute(policy.id, { confirm: true });
    expect(real).toMatchObject({ dry_run: false, deleted_count: 40 });
    expect(await count('old')).toBe(0);
    const executions = await client.retention.executions(policy.id);
    expect(executions.map((e) => e.runId)).toContain(real.run_id);

    await client.retention.delete(policy.id);
    await expect(client.retention.get(policy.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('continuous queries', () => {
  it('creates, reads, updates, executes (dry run and real) and deletes a continuous query', async () => {
    await writeHour('cq_src', T0);
    await writeHour('cq_src', T0 + HOUR);
    await untilCount('cq_src', 80);
    const input = {
      name: 'cq-1h',
      database: 'mgmt',
      source_measurement: 'cq_src',
      destination_measurement: 'cq_dst',
      interval: '1h',
      // Inactive: only the manual executes below run it, not the scheduler.
      is_active: false,
      query:
        "SELECT time_bucket(INTERVAL '1 hour', time) AS time, host, sum(v) AS v FROM cq_src WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL",
    };
    const cq = await client.continuousQueries.create(input);
    expect(cq).toMatchObject({ name: 'cq-1h', interval_ms: HOUR, is_active: false });
    expect((await client.continuousQueries.list()).map((q) => q.id)).toContain(cq.id);
    const updated = await client.continuousQueries.update(cq.id, { ...input, description: 'hourly sums' });
    expect(updated.description).toBe('hourly sums');
    expect((await client.continuousQueries.get(cq.id)).description).toBe('hourly sums');

    const range = { start_time: new Date(T0).toISOString(), end_time: new Date(T0 + 2 * HOUR).toISOString() };
    const dry = await client.continuousQueries.execute(cq.id, { ...range, dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, windows: 2, records_written: 8, execution_id: null });
    expect(await count('cq_dst')).toBe(0);
    const real = await client.continuousQueries.execute(cq.id, range);
    expect(real).toMatchObject({ dry_run: false, windows: 2, records_written: 8, status: 'succeeded' });
    const sums = await client.query('SELECT sum(v) AS v FROM cq_dst');
    expect(sums.data).toEqual([[2 * ((40 * 39) / 2)]]);
    expect((await client.continuousQueries.executions(cq.id)).map((e) => e.runId)).toContain(
      real.execution_id,
    );

    await client.continuousQueries.delete(cq.id);
    await expect(client.continuousQueries.get(cq.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('deletes', () => {
  it('counts with a dry run, needs confirm, then deletes exactly the matching rows', async () => {
    await writeHour('del', T0);
    await untilCount('del', 40);
    expect(await client.deletes.config()).toMatchObject({
      enabled: true,
      confirmation_threshold: expect.any(Number),
    });
    const request = { database: 'mgmt', measurement: 'del', where: "host = 'h1'" };
    const dry = await client.deletes.execute({ ...request, dry_run: true });
    expect(dry).toMatchObject({ dry_run: true, deleted_count: 10, run_id: null });
    expect(await count('del')).toBe(40);
    await expect(client.deletes.execute(request)).rejects.toBeInstanceOf(ValidationError);
    const done = await client.deletes.execute({ ...request, confirm: true });
    expect(done).toMatchObject({ dry_run: false, deleted_count: 10 });
    const left = await client.query('SELECT host, count(*) AS n FROM del GROUP BY host ORDER BY host');
    expect(toRecords(left)).toEqual([
      { host: 'h0', n: 10 },
      { host: 'h2', n: 10 },
      { host: 'h3', n: 10 },
    ]);
    expect((await client.runs.get(done.run_id!)).kind).toBe('delete');
  });
});

describe('runs and lineage', () => {
  /** A run once it reached `status`. */
  const runOnce = (id: string, status: string) =>
    waitFor(async () => {
      const run = await client.runs.get(id);
      return run.status === status ? run : undefined;
    });

  it('lists, gets, starts, cancels and replays runs; lineage shows what they read and wrote', async () => {
    // Two writes flushed apart: two files in one hourly partition, for a compaction to merge.
    await writeHour('cmp', T0, 20);
    await untilCount('cmp', 20);
    await writeHour('cmp', T0 + 30 * 60_000, 20);
    await untilCount('cmp', 40);

    // The data is visible once committed; the run is marked finished just after.
    const flushes = await waitFor(async () => {
      const runs = await client.runs.list({ kind: 'flush', table: 'mgmt.cmp' });
      return runs.length === 2 && runs.every((r) => r.status === 'succeeded') ? runs : undefined;
    });
    expect(flushes.map((r) => r.kind)).toEqual(['flush', 'flush']);
    // The files the two flushes wrote, from each run's task results.
    const flushed = await Promise.all(
      flushes.map(async ({ runId }) => {
        const [task] = (await client.runs.get(runId)).tasks as {
          result: { wrote: { files: { path: string }[] } };
        }[];
        return task!.result.wrote.files[0]!.path;
      }),
    );

    const started = await client.runs.start({
      kind: 'compaction',
      tier: 'hourly',
      database: 'mgmt',
      table: 'cmp',
      partition: 'date=2026-03-01/hour=00',
    });
    expect(started).toMatchObject({ created: true, kind: 'compaction', taskCount: 1 });
    const compaction: Run = await runOnce(started.runId, 'succeeded');
    expect(compaction.table).toBe('mgmt.cmp');
    expect(await count('cmp')).toBe(40);
    expect(
      (await client.tables.list({ database: 'mgmt' })).find((t) => t.measurement === 'cmp')?.file_count,
    ).toBe(1);

    const runLineage = await client.runs.lineage(started.runId);
    expect(runLineage.inputs).toEqual([...flushed].sort());
    expect(runLineage.outputs).toHaveLength(1);

    const replay = await client.runs.replay(started.runId);
    expect(replay).toMatchObject({ runId: started.runId, reproducible: true, differences: [] });
    expect(replay.tasks).toHaveLength(1);

    // Downstream of a flushed file: the compaction's output.
    const graph = await client.lineage({ file: flushed[0]!, direction: 'downstream' });
    expect(graph).toMatchObject({ level: 'file', root: flushed[0] });
    expect(graph.edges).toContainEqual(
      expect.objectContaining({ from: flushed[0], to: runLineage.outputs[0], runId: started.runId }),
    );
    // Upstream of the compacted file: both flushed files.
    const upstream = await client.lineage({ file: runLineage.outputs[0]!, direction: 'upstream', depth: 2 });
    expect(upstream.nodes.map((n) => n.id).sort()).toEqual([...flushed, runLineage.outputs[0]].sort());

    const slow = await client.runs.start({ kind: 'noop', tasks: 1, sleepMs: 30_000 });
    const cancelled = await client.runs.cancel(slow.runId);
    expect(cancelled.status).toBe('cancelled');
    expect((await client.runs.list({ status: 'cancelled' })).map((r) => r.runId)).toContain(slow.runId);
    await expect(client.runs.cancel(slow.runId)).rejects.toMatchObject({ status: 409, code: 'RUN_FINISHED' });
  });
});
