import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, TenantCatalog } from '../../catalog/index.js';
import { buildApp } from '../../services/api/index.js';
import { DEFAULT_TENANT } from '../../services/auth/index.js';
import { createLogger } from '../../services/runtime/index.js';
import { bootstrapTestAuth, type TestAuth } from '../helpers/auth.js';
import { createDataTable, writeDataFiles } from '../helpers/data-files.js';
import { useOrchestration } from '../helpers/orchestration.js';
import { RacingStore } from '../helpers/racing-store.js';
import { PARTITION_0, seedFiles } from '../orchestrator/fixtures.js';

describe('runs, lineage, compaction and retention routes', () => {
  const o = useOrchestration({ tmpPrefix: 'weir-api-orch-', store: (root) => new RacingStore(root) });
  let api: FastifyInstance;
  let catalog: TenantCatalog;
  let admin: TestAuth;

  beforeAll(async () => {
    admin = await bootstrapTestAuth(o.store);
    api = await buildApp({
      logger: createLogger('warn', 'test', new Writable({ write: (_c, _e, done) => done() })),
      version: '0.0.0-test',
      readiness: [],
      auth: admin.auth,
      orchestrator: { orchestrator: o.orchestrator, catalogs: o.catalogs },
    });
    catalog = o.catalogs.forTenant(DEFAULT_TENANT);
    await seedFiles(o.store, catalog, o.duckdb, { files: 12, rows: 200 });
    for (let hour = 1; hour < 4; hour++) {
      await seedFiles(o.store, catalog, o.duckdb, {
        files: 1,
        rows: 100,
        hour,
        prefix: `h${hour}-`,
        createTable: false,
      });
    }
  });
  afterAll(async () => {
    await api.close();
  });

  const call = async (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = admin.headers,
  ) => {
    const response = await api.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    // biome-ignore lint/suspicious/noExplicitAny: response bodies are walked ad hoc in assertions
    return { status: response.statusCode, body: response.json() as Record<string, any> };
  };

  it('compaction: candidates, trigger, then the run in jobs/history/stats, and in the runs API', async () => {
    const candidates = await call('GET', '/api/v1/compaction/candidates?tier=hourly');
    expect(candidates.status).toBe(200);
    expect(candidates.body.candidates).toEqual([
      { database: 'db', measurement: 'cpu', partition: PARTITION_0, file_count: 12, tier: 'hourly' },
    ]);
    const triggered = await call('POST', '/api/v1/compaction/trigger?tier=hourly&database=db');
    expect(triggered.body.count).toBe(1);
    const runId = triggered.body.runs[0].run_id as string;
    await o.orchestrator.waitForRun(DEFAULT_TENANT, runId, 60_000);

    expect(
      (await call('GET', '/api/v1/compaction/history')).body.history.map((r: { runId: string }) => r.runId),
    ).toContain(runId);
    expect((await call('GET', '/api/v1/compaction/jobs')).body.count).toBe(0);
    expect((await call('GET', '/api/v1/compaction/stats')).body).toMatchObject({
      files_compacted: 12,
      files_written: 1,
      rows_written: 2400,
    });
    expect((await call('GET', '/api/v1/compaction/status')).body).toMatchObject({
      enabled: true,
      active_runs: 0,
    });

    const listed = await call('GET', '/api/v1/runs?kind=compaction&status=succeeded&table=db.cpu');
    expect(listed.body.runs.map((r: { runId: string }) => r.runId)).toEqual([runId]);
    const run = await call('GET', `/api/v1/runs/${runId}`);
    expect(run.body.run).toMatchObject({ runId, status: 'succeeded', kind: 'compaction' });
    expect(run.body.run.tasks[0].result.wrote.files).toHaveLength(1);

    const lineage = await call('GET', `/api/v1/runs/${runId}/lineage`);
    expect(lineage.body.inputs).toHaveLength(12);
    const output = lineage.body.outputs[0] as string;
    const upstream = await call(
      'GET',
      `/api/v1/lineage?file=${encodeURIComponent(output)}&direction=upstream`,
    );
    expect(upstream.body.nodes).toHaveLength(13);

    const replay = await call('POST', `/api/v1/runs/${runId}/replay`);
    expect(replay.body).toMatchObject({ success: true, reproducible: true });
    expect((await call('POST', `/api/v1/runs/${runId}/cancel`)).status).toBe(409);
  });

  it('runs API: bad ids, unknown runs and bad filters answer 4xx with the error shape', async () => {
    const bad = await call('GET', '/api/v1/runs/not-a-run');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
    const unknown = await call('GET', `/api/v1/runs/run_${'0'.repeat(32)}`);
    expect(unknown).toMatchObject({ status: 404, body: { success: false, code: 'RUN_NOT_FOUND' } });
    expect((await call('POST', `/api/v1/runs/run_${'0'.repeat(32)}/replay`)).status).toBe(404);
    expect((await call('GET', '/api/v1/runs?status=sleeping')).status).toBe(400);
    // Errors the router raises before any route keep the one error shape.
    expect(await call('GET', '/api/v1/runs/%ZZ')).toMatchObject({
      status: 400,
      body: { success: false, code: 'FST_ERR_BAD_URL' },
    });
    const long = await call('GET', `/api/v1/retention/${'p'.repeat(300)}`);
    expect(long).toMatchObject({ status: 400, body: { success: false, code: 'VALIDATION_ERROR' } });
    expect(long.body.error).toMatch(/id Too big/);
    expect((await call('GET', '/api/v1/lineage')).status).toBe(400);
    expect((await call('GET', '/api/v1/lineage?table=db.cpu&file=x')).status).toBe(400);
    const noKind = await call('POST', '/api/v1/runs', {});
    expect(noKind).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    expect(noKind.body.error).toMatch(/^kind: required, one of compaction/);
    const badTrigger = await call('POST', '/api/v1/runs', { kind: 'compaction', tier: 'weekly' });
    expect(badTrigger.status).toBe(400);
    expect(badTrigger.body.error).toMatch(/tier/);
    // Expiry as of next week would delete what the time-travel window still keeps.
    const nextWeek = new Date(Date.now() + 7 * 24 * 3_600_000).toISOString();
    const future = await call('POST', '/api/v1/runs', { kind: 'expire', logicalTime: nextWeek, windowMs: 0 });
    expect(future).toMatchObject({ status: 400, body: { code: 'LOGICAL_TIME_IN_FUTURE' } });
    expect(future.body.error).toContain(nextWeek);
    // A delete carries a predicate its service guarded: it is never started from a raw trigger.
    const rawDelete = await call('POST', '/api/v1/runs', {
      kind: 'delete',
      database: 'db',
      table: 'cpu',
      predicate: "EXISTS (SELECT 1 FROM read_text('/etc/passwd'))",
      files: ['x'],
      matchedRows: 1,
    });
    expect(rawDelete).toMatchObject({ status: 400, body: { code: 'RUN_KIND_NOT_STARTABLE' } });
  });

  it('runs API: a filter outside its values is a 400 naming the filter and its values', async () => {
    const kind = await call('GET', '/api/v1/runs?kind=weird');
    expect(kind).toMatchObject({ status: 400, body: { success: false, code: 'VALIDATION_ERROR' } });
    expect(kind.body.error).toMatch(/kind/);
    expect(kind.body.error).toContain('"compaction"|"retention"|"checkpoint"|"events-compaction"|"expire"');
    const status = await call('GET', '/api/v1/runs?status=sleeping');
    expect(status).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    expect(status.body.error).toMatch(/status.*"planned"\|"running"\|"succeeded"\|"failed"\|"cancelled"/);
    const table = await call('GET', '/api/v1/runs?table=cpu');
    expect(table).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    expect(table.body.error).toMatch(/table.*table is db\.table/);
    // An empty or unreadable time is not epoch 0 (which would list every run).
    for (const query of [
      'since=',
      'until=',
      'since=%20',
      'since=yesterday',
      'until=2026-01-01T00:00:00',
      'since=1.5',
    ]) {
      const bad = await call('GET', `/api/v1/runs?${query}`);
      expect(bad, query).toMatchObject({ status: 400, body: { success: false, code: 'VALIDATION_ERROR' } });
      expect(bad.body.error, query).toMatch(
        new RegExp(`${query.slice(0, 5)}.*must be epoch milliseconds or an ISO-8601 date-time with a zone`),
      );
    }
    for (const query of ['limit=', 'limit=0']) {
      const bad = await call('GET', `/api/v1/runs?${query}`);
      expect(bad, query).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
      expect(bad.body.error, query).toMatch(/limit/);
    }
    const fine = await call('GET', `/api/v1/runs?kind=compaction&since=0&until=${new Date().toISOString()}`);
    expect(fine.status, JSON.stringify(fine.body)).toBe(200);
    expect(fine.body.count).toBeGreaterThan(0);
  });

  it('compaction: a database that does not exist is a 404; the trigger takes no body', async () => {
    const candidates = await call('GET', '/api/v1/compaction/candidates?database=nodb&tier=daily');
    expect(candidates).toMatchObject({
      status: 404,
      body: { success: false, code: 'DATABASE_NOT_FOUND', error: 'database nodb does not exist' },
    });
    const trigger = await call('POST', '/api/v1/compaction/trigger?database=nodb');
    expect(trigger).toMatchObject({
      status: 404,
      body: { success: false, code: 'DATABASE_NOT_FOUND', error: 'database nodb does not exist' },
    });
    // Arc takes the trigger's parameters from the query string only: a body naming some is refused,
    // not ignored (ignored, it would compact every database).
    const before = (await call('GET', '/api/v1/runs?kind=compaction')).body.count;
    for (const body of [{ database: 'db' }, { tier: 'daily' }, { database: 'db', tier: 'hourly' }, [1]]) {
      const refused = await call('POST', '/api/v1/compaction/trigger', body);
      expect(refused, JSON.stringify(body)).toMatchObject({
        status: 400,
        body: { success: false, code: 'VALIDATION_ERROR' },
      });
      expect(refused.body.error).toContain(
        'the trigger takes database and tier in the query string (?database=&tier=), not in a body',
      );
    }
    expect((await call('GET', '/api/v1/runs?kind=compaction')).body.count).toBe(before);
    // No body, or one naming nothing, is fine.
    expect((await call('POST', '/api/v1/compaction/trigger?database=db', {})).status).toBe(200);
  });

  it('retention: create, list, read, update, dry run, confirmed run, executions, delete', async () => {
    const created = await call('POST', '/api/v1/retention', {
      name: 'keep-1d',
      database: 'db',
      measurement: 'cpu',
      retention_days: 1,
    });
    expect(created.status).toBe(201);
    const id = created.body.policy.id as string;
    expect(
      (await call('POST', '/api/v1/retention', { name: 'keep-1d', database: 'db', retention_days: 2 }))
        .status,
    ).toBe(409);
    expect(
      (await call('POST', '/api/v1/retention', { name: 'x', database: 'nope', retention_days: 2 })).status,
    ).toBe(404);
    expect(
      (await call('POST', '/api/v1/retention', { name: 'x', database: 'db', retention_days: -1 })).status,
    ).toBe(400);
    // Past ~274 years the planner's cutoff would not be a safe integer: refused here, not at every tick.
    const ancient = await call('POST', '/api/v1/retention', {
      name: 'x',
      database: 'db',
      retention_days: 200_000,
    });
    expect(ancient).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    expect(ancient.body.error).toContain('retention_days');
    // A misspelt field is refused, not ignored (`retention_day` would keep the data forever).
    const typo = await call('POST', '/api/v1/retention', { name: 'typo', database: 'db', retention_day: 1 });
    expect(typo).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    expect(typo.body.error).toContain('retention_day');
    const typoRun = await call('POST', `/api/v1/retention/${id}/execute`, { dryrun: true });
    expect(typoRun).toMatchObject({ status: 400, body: { code: 'VALIDATION_ERROR' } });
    expect(typoRun.body.error).toContain('dryrun');
    const list = await call('GET', '/api/v1/retention');
    expect(list.body).toMatchObject({
      success: true,
      count: 1,
      policies: [{ id, name: 'keep-1d', measurement: 'cpu', retention_days: 1 }],
    });
    expect((await call('GET', `/api/v1/retention/${id}`)).body.policy.id).toBe(id);
    // The fixture's newest rows are from 2026-03-01: a one-year policy keeps everything.
    const updated = await call('PUT', `/api/v1/retention/${id}`, {
      name: 'keep-1d',
      database: 'db',
      measurement: 'cpu',
      retention_days: 1,
    });
    expect(updated.status).toBe(200);

    expect((await call('POST', `/api/v1/retention/${id}/execute`, { dry_run: false })).body.code).toBe(
      'CONFIRM_REQUIRED',
    );
    const dry = await call('POST', `/api/v1/retention/${id}/execute`, { dry_run: true });
    expect(dry.body).toMatchObject({
      success: true,
      dry_run: true,
      policy_id: id,
      affected_measurements: ['cpu'],
    });
    expect(dry.body.files_deleted).toBeGreaterThan(0);
    const before = (await catalog.refresh()).tables.get('db.cpu')!.fileCount;
    const real = await call('POST', `/api/v1/retention/${id}/execute`, { confirm: true });
    expect(real.body).toMatchObject({
      success: true,
      dry_run: false,
      files_deleted: dry.body.files_deleted,
      deleted_count: dry.body.deleted_count,
    });
    expect((await catalog.refresh()).tables.get('db.cpu')!.fileCount).toBe(before - dry.body.files_deleted);
    const executions = await call('GET', `/api/v1/retention/${id}/executions`);
    expect(executions.body.count).toBe(2);

    expect((await call('DELETE', `/api/v1/retention/${id}`)).status).toBe(200);
    expect((await call('GET', `/api/v1/retention/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/api/v1/retention/${id}`)).status).toBe(404);
  });

  it('retention: a create or a run another commit beat answers 409; executing again finishes the work', async () => {
    await createDataTable(catalog, 'db', 'mem', { tags: ['host'], fields: { used: 'float64' } });
    const files = await writeDataFiles({
      store: o.store,
      catalog,
      database: 'db',
      table: 'mem',
      duckdb: o.duckdb,
      files: ['m0', 'm1'].map((fileId, f) => ({
        fileId,
        sql: `SELECT TIMESTAMP '2026-03-01 0${f}:00:00' + to_microseconds(i) AS time, 'h' AS host, 1.5 AS used FROM range(10) t(i)`,
      })),
    });
    // Two creates of one name at once: the one whose commit lands second is refused, not merged.
    // (The other writer is another catalog instance, as another node would be.)
    const other = new TenantCatalog(o.store, DEFAULT_TENANT);
    const id = `ret_${sha256Hex('mem-1d').slice(0, 16)}`;
    o.store.beforeNextCommit = async () => {
      await other.commit([
        {
          op: 'setPolicy',
          policy: {
            id,
            kind: 'retention',
            database: 'db',
            table: 'mem',
            definition: { name: 'mem-1d', retention_days: 1, measurement: 'mem' },
          },
        },
      ]);
    };
    const outer = await call('POST', '/api/v1/retention', {
      name: 'mem-1d',
      database: 'db',
      measurement: 'mem',
      retention_days: 2,
    });
    expect(outer).toMatchObject({ status: 409, body: { code: 'POLICY_EXISTS' } });
    expect((await call('GET', `/api/v1/retention/${id}`)).body.policy.retention_days).toBe(1);
    // Right before the run's commit, another commit removes one of its files.
    const [first] = files;
    o.store.beforeNextCommit = async () => {
      await other.commit([
        { op: 'removeFile', database: 'db', table: 'mem', partition: first!.partition, path: first!.path },
      ]);
    };
    const raced = await call('POST', `/api/v1/retention/${id}/execute`, { confirm: true });
    expect(raced).toMatchObject({ status: 409, body: { code: 'RUN_CONFLICT' } });
    expect(raced.body.error).toMatch(/another run changed its files meanwhile/);
    expect((await catalog.refresh()).tables.get('db.mem')!.fileCount).toBe(1);
    const again = await call('POST', `/api/v1/retention/${id}/execute`, { confirm: true });
    expect(again.body).toMatchObject({ success: true, files_deleted: 1 });
    expect((await catalog.refresh()).tables.get('db.mem')!.fileCount).toBe(0);
    expect((await call('DELETE', `/api/v1/retention/${id}`)).status).toBe(200);
  });
  it('reads need read, actions need admin; a database-scoped token sees and touches only its databases', async () => {
    const reader = (await admin.auth.create(DEFAULT_TENANT, { name: 'reader', permissions: ['read'] })).token;
    const elsewhere = (
      await admin.auth.create(DEFAULT_TENANT, {
        name: 'elsewhere',
        permissions: ['admin'],
        databases: ['other'],
      })
    ).token;
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    const runId = `run_${'0'.repeat(32)}`;

    expect((await call('GET', '/api/v1/runs', undefined, as(reader))).status).toBe(200);
    expect((await call('GET', '/api/v1/compaction/candidates', undefined, as(reader))).status).toBe(200);
    for (const [method, url, payload] of [
      ['POST', '/api/v1/compaction/trigger', undefined],
      ['POST', `/api/v1/runs/${runId}/cancel`, undefined],
      ['POST', `/api/v1/runs/${runId}/replay`, undefined],
      ['POST', '/api/v1/runs', { kind: 'checkpoint' }],
      ['POST', '/api/v1/retention', { name: 'r', database: 'db', retention_days: 1 }],
    ] as const) {
      const res = await call(method, url, payload, as(reader));
      expect(res, url).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    }

    const policy = await call('POST', '/api/v1/retention', {
      name: 'scoped',
      database: 'db',
      retention_days: 9,
    });
    const id = policy.body.policy.id as string;
    expect((await call('GET', '/api/v1/retention', undefined, as(elsewhere))).body.count).toBe(0);
    expect((await call('GET', `/api/v1/retention/${id}`, undefined, as(elsewhere))).status).toBe(403);
    expect((await call('DELETE', `/api/v1/retention/${id}`, undefined, as(elsewhere))).status).toBe(403);
    const create = await call(
      'POST',
      '/api/v1/retention',
      { name: 'x', database: 'db', retention_days: 1 },
      as(elsewhere),
    );
    expect(create.body).toMatchObject({
      code: 'FORBIDDEN',
      error: 'this token has no access to database db',
    });
    await seedFiles(o.store, catalog, o.duckdb, {
      files: 10,
      rows: 10,
      hour: 6,
      prefix: 'scope-',
      createTable: false,
    });
    expect((await call('GET', '/api/v1/compaction/candidates')).body.count).toBe(1);
    expect((await call('GET', '/api/v1/compaction/candidates', undefined, as(elsewhere))).body.count).toBe(0);
    expect(
      (await call('GET', '/api/v1/compaction/candidates?database=db', undefined, as(elsewhere))).status,
    ).toBe(403);
    expect((await call('DELETE', `/api/v1/retention/${id}`)).status).toBe(200);
  });

  it('a database-scoped token sees runs, lineage and run history of its databases only', async () => {
    const tokenFor = async (name: string, permissions: ('read' | 'admin')[], databases: string[]) =>
      (await admin.auth.create(DEFAULT_TENANT, { name, permissions, databases })).token;
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    const elsewhere = as(await tokenFor('runs-elsewhere', ['admin'], ['other']));
    const dbReader = as(await tokenFor('runs-db-reader', ['read'], ['db']));
    await seedFiles(o.store, catalog, o.duckdb, {
      files: 10,
      rows: 10,
      hour: 7,
      prefix: 'h7-',
      createTable: false,
    });
    const compacted = await call('POST', '/api/v1/runs', {
      kind: 'compaction',
      tier: 'hourly',
      database: 'db',
      table: 'cpu',
      partition: 'date=2026-03-01/hour=07',
    });
    const checkpoint = await call('POST', '/api/v1/runs', { kind: 'checkpoint' });
    const [dbRun, tenantRun] = [compacted.body.runId as string, checkpoint.body.runId as string];
    await o.orchestrator.waitForRun(DEFAULT_TENANT, dbRun, 60_000);
    await o.orchestrator.waitForRun(DEFAULT_TENANT, tenantRun, 60_000);
    const runIds = async (url: string, headers: Record<string, string>, key = 'runs') =>
      ((await call('GET', url, undefined, headers)).body[key] as { runId: string }[]).map((r) => r.runId);

    // The admin sees both; a token for db sees the compaction, not the tenant-wide checkpoint.
    expect(await runIds('/api/v1/runs', admin.headers)).toEqual(expect.arrayContaining([dbRun, tenantRun]));
    const seenByDb = await runIds('/api/v1/runs', dbReader);
    expect(seenByDb).toContain(dbRun);
    expect(seenByDb).not.toContain(tenantRun);
    expect((await call('GET', `/api/v1/runs/${dbRun}`, undefined, dbReader)).status).toBe(200);
    expect((await call('GET', `/api/v1/runs/${tenantRun}`, undefined, dbReader)).status).toBe(403);

    // A token for another database sees none of them, by any route.
    expect(await runIds('/api/v1/runs', elsewhere)).toEqual([]);
    expect(await runIds('/api/v1/runs?table=db.cpu', elsewhere)).toEqual([]);
    expect(await runIds('/api/v1/compaction/history', elsewhere, 'history')).toEqual([]);
    expect((await call('GET', '/api/v1/compaction/stats', undefined, elsewhere)).body.total_runs).toBe(0);
    for (const [method, url, payload] of [
      ['GET', `/api/v1/runs/${dbRun}`, undefined],
      ['GET', `/api/v1/runs/${tenantRun}`, undefined],
      ['GET', `/api/v1/runs/${dbRun}/lineage`, undefined],
      ['POST', `/api/v1/runs/${dbRun}/cancel`, undefined],
      ['POST', `/api/v1/runs/${dbRun}/replay`, undefined],
      ['GET', '/api/v1/lineage?table=db.cpu', undefined],
      ['POST', '/api/v1/runs', { kind: 'checkpoint' }],
      ['POST', '/api/v1/runs', { kind: 'compaction', tier: 'hourly', database: 'db', table: 'cpu' }],
    ] as const) {
      const res = await call(method, url, payload, elsewhere);
      expect(res, `${method} ${url}`).toMatchObject({
        status: 403,
        body: { success: false, code: 'FORBIDDEN' },
      });
    }
    const output = (await call('GET', `/api/v1/runs/${dbRun}/lineage`)).body.outputs[0] as string;
    const walked = await call(
      'GET',
      `/api/v1/lineage?file=${encodeURIComponent(output)}`,
      undefined,
      elsewhere,
    );
    expect(walked.body.edges).toEqual([]);
    expect((await call('GET', `/api/v1/lineage?file=${encodeURIComponent(output)}`)).body.edges.length).toBe(
      10,
    );

    // Unknown runs and policies are 404s, not empty answers.
    const unknown = `run_${'0'.repeat(32)}`;
    expect((await call('GET', `/api/v1/runs/${unknown}/lineage`)).body.code).toBe('RUN_NOT_FOUND');
    expect((await call('GET', '/api/v1/retention/ret_nope/executions')).body.code).toBe('POLICY_NOT_FOUND');
  });

  it('every route declares its schema, so it appears in the OpenAPI document', async () => {
    const doc = (await api.inject({ method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/api/v1/runs',
      '/api/v1/runs/{id}',
      '/api/v1/runs/{id}/replay',
      '/api/v1/lineage',
      '/api/v1/retention/{id}/execute',
      '/api/v1/compaction/trigger',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
  });
});
