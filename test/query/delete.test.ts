import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveFiles, tableKey } from '../../catalog/index.js';
import { buildApp } from '../../services/api/index.js';
import type { TokenService } from '../../services/auth/index.js';
import { DeleteService } from '../../services/deletes/index.js';
import type { Orchestrator } from '../../services/orchestrator/index.js';
import type { QueryService } from '../../services/query/index.js';
import { bootstrapTestAuth } from '../helpers/auth.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../helpers/data-files.js';
import { startTestOrchestration, type TestOrchestration } from '../helpers/orchestration.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import {
  createQueryFixture,
  HOURS_PER_DAY,
  openFixtureQueryService,
  type QueryFixture,
  ROWS_PER_FILE,
} from './fixture.js';

let fixture: QueryFixture;
let query: QueryService;
let redis: TestRedis;
let orchestration: TestOrchestration;
let deletes: DeleteService;
let app: FastifyInstance;
let auth: TokenService;
const tokens = { acme: '', other: '', reader: '', deleter: '' };

const LIMITS = { confirmationThreshold: 1_000, maxRows: 100_000, runTimeoutMs: 60_000 };
const day = (d: number, hour = 0) => new Date((BASE_US + (d * 24 + hour) * HOUR_US) / 1000).toISOString();

beforeAll(async () => {
  fixture = await createQueryFixture(async (store) => {
    auth = (await bootstrapTestAuth(store)).auth;
    tokens.acme = (await auth.tenants.create('acme', 'Acme')).token;
    tokens.other = (await auth.tenants.create('other', 'Other')).token;
    tokens.reader = (await auth.create('acme', { name: 'r', permissions: ['read'] })).token;
    tokens.deleter = (
      await auth.create('acme', { name: 'd', permissions: ['read', 'delete'], databases: ['ops'] })
    ).token;
  });
  redis = await startTestRedis();
  orchestration = await startTestOrchestration(fixture.store, redis);
  query = await openFixtureQueryService(fixture);
  deletes = new DeleteService({ query, orchestrator: orchestration.orchestrator, limits: LIMITS });
  app = await buildApp({
    logger: pino({ level: 'silent' }),
    version: 'test',
    readiness: [],
    auth,
    deletes: { deletes },
  });
}, 240_000);

afterAll(async () => {
  await app?.close();
  query?.close();
  await orchestration?.stop();
  await redis?.stop();
  await fixture?.close();
});

const rows = async (sql: string, asOf?: { version: number }, tenant = 'acme') =>
  (
    await query.run({ tenant, database: 'metrics', sql, ...(asOf ? { asOf } : {}) }, async (r) =>
      r.getRowObjectsJS(),
    )
  ).value;
const count = async (where: string, asOf?: { version: number }, tenant = 'acme') =>
  Number((await rows(`SELECT count(*) AS n FROM cpu WHERE ${where}`, asOf, tenant))[0]!.n);
/** A delete trigger of acme's metrics.cpu, as the delete service would submit one. */
const DELETE_TRIGGER = {
  kind: 'delete' as const,
  tenant: 'acme',
  logicalTime: '2026-04-01T00:00:00Z',
  database: 'metrics',
  table: 'cpu',
};
const headVersion = async () => (await fixture.catalogs.forTenant('acme').refresh()).version;
const cpuPaths = async () => {
  const state = await fixture.catalogs.forTenant('acme').refresh();
  return new Set([...liveFiles(state.tables.get(tableKey('metrics', 'cpu'))!)].map((f) => f.path));
};

const post = (body: unknown, token = tokens.acme) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/delete',
    payload: body as object,
    headers: { authorization: `Bearer ${token}` },
  });

describe('delete runs', () => {
  it('dry run counts what the real run deletes; matching rows go, the others stay, a pinned query still sees them', async () => {
    const where = `host = 'host-3' AND time >= '${day(2)}' AND time < '${day(3)}'`;
    const total = await count('true');
    const matching = await count(where);
    expect(matching).toBe(HOURS_PER_DAY.length * (ROWS_PER_FILE / 5));
    const keptBefore = await rows(
      `SELECT time, host, usage FROM cpu WHERE NOT (${where}) ORDER BY time, host, usage`,
    );
    const pathsBefore = await cpuPaths();
    const before = await headVersion();

    const dry = await deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where,
      dryRun: true,
      confirm: false,
    });
    expect(dry).toMatchObject({
      dryRun: true,
      deletedRows: matching,
      affectedFiles: HOURS_PER_DAY.length,
      rewrittenFiles: HOURS_PER_DAY.length,
      removedFiles: 0,
      runId: null,
    });
    // Pruned by the WHERE's time bounds: one day's files, not 30 days'.
    expect(dry.scannedFiles).toBe(HOURS_PER_DAY.length);
    expect(await headVersion()).toBe(before);

    const real = await deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where,
      dryRun: false,
      confirm: true,
    });
    expect(real.deletedRows).toBe(dry.deletedRows);
    expect(real.affectedFiles).toBe(dry.affectedFiles);
    expect(real.runId).toMatch(/^run_/);
    expect(real.commitVersion).toBe(before + 1);

    expect(await count(where)).toBe(0);
    expect(await count('true')).toBe(total - matching);
    expect(await rows(`SELECT time, host, usage FROM cpu ORDER BY time, host, usage`)).toEqual(keptBefore);
    // Only the affected files were swapped.
    const pathsAfter = await cpuPaths();
    const removed = [...pathsBefore].filter((p) => !pathsAfter.has(p));
    const added = [...pathsAfter].filter((p) => !pathsBefore.has(p));
    expect(removed).toHaveLength(HOURS_PER_DAY.length);
    expect(added).toHaveLength(HOURS_PER_DAY.length);
    // Time travel to before the delete reads the old files.
    expect(await count(where, { version: before })).toBe(matching);
    expect(await count('true', { version: before })).toBe(total);

    const run = await orchestration.orchestrator.history.get('acme', real.runId!);
    expect(run?.kind).toBe('delete');
    expect(run?.tasks[0]?.result?.wrote.removed).toHaveLength(HOURS_PER_DAY.length);
  });

  it('a file whose every row matches is removed, not rewritten', async () => {
    const where = `time >= '${day(5, 6)}' AND time < '${day(5, 7)}'`;
    const outcome = await deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where,
      dryRun: false,
      confirm: true,
    });
    expect(outcome).toMatchObject({
      deletedRows: ROWS_PER_FILE,
      affectedFiles: 1,
      removedFiles: 1,
      rewrittenFiles: 0,
    });
    expect(await count(where)).toBe(0);
    const run = await orchestration.orchestrator.history.get('acme', outcome.runId!);
    expect(run?.tasks[0]?.result?.wrote.files).toHaveLength(0);
  });

  it('a WHERE that matches nothing deletes nothing and starts no run', async () => {
    const before = await headVersion();
    const outcome = await deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where: `host = 'nobody'`,
      dryRun: false,
      confirm: true,
    });
    expect(outcome).toMatchObject({ deletedRows: 0, affectedFiles: 0, runId: null });
    expect(await headVersion()).toBe(before);
  });

  it('a delete trigger naming a file that is no longer live is refused with 409 (the service counts again)', async () => {
    const where = `host = 'host-1' AND time >= '${day(7)}' AND time < '${day(7, 1)}'`;
    const match = await query.matchRows({ tenant: 'acme', database: 'metrics', table: 'cpu', where });
    expect(match.matchedRows).toBe(ROWS_PER_FILE / 5);
    await expect(
      orchestration.orchestrator.submit({
        ...DELETE_TRIGGER,
        predicate: match.predicate,
        files: [{ path: `${match.files[0]!.file.path}.gone`, matchedRows: match.matchedRows }],
        matchedRows: match.matchedRows,
      }),
    ).rejects.toMatchObject({ code: 'PLAN_INVALID_TRIGGER', httpStatus: 409 });
  });

  it('the task checks each file’s matches, not only the total: counts moved between files change nothing', async () => {
    const where = `host = 'host-4' AND time >= '${day(4)}' AND time < '${day(5)}'`;
    const match = await query.matchRows({ tenant: 'acme', database: 'metrics', table: 'cpu', where });
    expect(match.files.length).toBeGreaterThanOrEqual(2);
    const [first, second] = match.files;
    // The same total, one row counted in the wrong file.
    const files = match.files.map((f) => ({ path: f.file.path, matchedRows: f.matchedRows }));
    files[0] = { path: first!.file.path, matchedRows: first!.matchedRows - 1 };
    files[1] = { path: second!.file.path, matchedRows: second!.matchedRows + 1 };
    const before = await headVersion();
    const submitted = await orchestration.orchestrator.submit({
      ...DELETE_TRIGGER,
      predicate: match.predicate,
      files,
      matchedRows: match.matchedRows,
    });
    const run = await orchestration.orchestrator.waitForRun('acme', submitted.runId);
    expect(run.status).toBe('failed');
    expect(run.tasks[0]?.error?.code).toBe('DELETE_COUNT_MISMATCH');
    expect(run.tasks[0]?.error?.message).toContain(
      `matches ${first!.matchedRows} rows of ${first!.file.path} here but ${first!.matchedRows - 1}`,
    );
    expect(await headVersion()).toBe(before);
    expect(await count(where)).toBe(match.matchedRows);
  });

  it('a delete trigger whose counts do not add up, or exceed a file’s rows, is refused with 400', async () => {
    const where = `host = 'host-4' AND time >= '${day(5)}' AND time < '${day(5, 1)}'`;
    const match = await query.matchRows({ tenant: 'acme', database: 'metrics', table: 'cpu', where });
    const file = match.files[0]!;
    const trigger = { ...DELETE_TRIGGER, predicate: match.predicate };
    await expect(
      orchestration.orchestrator.submit({
        ...trigger,
        files: [{ path: file.file.path, matchedRows: file.matchedRows }],
        matchedRows: file.matchedRows + 1,
      }),
    ).rejects.toMatchObject({
      code: 'PLAN_INVALID_TRIGGER',
      httpStatus: 400,
      message: expect.stringContaining("matchedRows is not the sum of the files' counts"),
    });
    await expect(
      orchestration.orchestrator.submit({
        ...trigger,
        files: [{ path: file.file.path, matchedRows: file.file.rows + 1 }],
        matchedRows: file.file.rows + 1,
      }),
    ).rejects.toMatchObject({
      code: 'PLAN_INVALID_TRIGGER',
      httpStatus: 400,
      message: expect.stringContaining(`holds ${file.file.rows} rows, not the ${file.file.rows + 1} matches`),
    });
  });

  it('the delete task guards the predicate it runs, whoever planned it', async () => {
    const match = await query.matchRows({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where: `host = 'host-2'`,
    });
    const before = await headVersion();
    const submitted = await orchestration.orchestrator.submit({
      ...DELETE_TRIGGER,
      predicate: "EXISTS (SELECT 1 FROM read_text('/etc/passwd'))",
      files: [{ path: match.files[0]!.file.path, matchedRows: match.files[0]!.matchedRows }],
      matchedRows: match.files[0]!.matchedRows,
    });
    const run = await orchestration.orchestrator.waitForRun('acme', submitted.runId);
    expect(run.status).toBe('failed');
    expect(run.tasks[0]?.error?.code).toBe('QUERY_REFUSED');
    expect(await headVersion()).toBe(before);
  });

  it('integers past 2^53 in the WHERE keep their value: the row named is the row deleted', async () => {
    const catalog = fixture.catalogs.forTenant('acme');
    await createDataTable(catalog, 'metrics', 'ids', { tags: ['host'], fields: { v: 'int64' } });
    await writeDataFiles({
      store: fixture.store,
      catalog,
      database: 'metrics',
      table: 'ids',
      files: [
        {
          fileId: 'ids',
          sql: `SELECT make_timestamp(${BASE_US}::BIGINT + i) AS time, 'h' AS host, 9007199254740992 + i AS v FROM range(3) t(i)`,
        },
      ],
    });
    const where = "v = 9007199254740993 AND host <> 'é'";
    const match = await query.matchRows({ tenant: 'acme', database: 'metrics', table: 'ids', where });
    expect({ predicate: match.predicate, rows: match.matchedRows }).toEqual({
      predicate: "((v = 9007199254740993) AND (host != 'é'))",
      rows: 1,
    });
    const outcome = await deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'ids',
      where,
      dryRun: false,
      confirm: true,
    });
    expect(outcome).toMatchObject({ deletedRows: 1 });
    expect(await rows('SELECT v::VARCHAR AS v FROM ids ORDER BY v')).toEqual([
      { v: '9007199254740992' },
      { v: '9007199254740994' },
    ]);
  });

  it('the delete matches rows as the count does: a filter, whose later conditions never see rows an earlier one excluded', async () => {
    const catalog = fixture.catalogs.forTenant('acme');
    await createDataTable(catalog, 'metrics', 'codes', { tags: ['host', 'code'], fields: { v: 'float64' } });
    await writeDataFiles({
      store: fixture.store,
      catalog,
      database: 'metrics',
      table: 'codes',
      files: [
        {
          fileId: 'codes',
          sql: `SELECT make_timestamp(${BASE_US}::BIGINT + i) AS time, CASE WHEN i < 5 THEN 'web' ELSE 'api' END AS host, CASE WHEN i < 5 THEN 'n/a' ELSE (500 + i)::VARCHAR END AS code, i::DOUBLE AS v FROM range(10) t(i)`,
        },
      ],
    });
    // The cast fails on the web rows' 'n/a', which the first condition leaves out.
    const request = {
      tenant: 'acme',
      database: 'metrics',
      table: 'codes',
      where: `host = 'api' AND CAST(code AS INTEGER) >= 507`,
      confirm: true,
    };
    expect((await deletes.delete({ ...request, dryRun: true })).deletedRows).toBe(3);
    expect(await deletes.delete({ ...request, dryRun: false })).toMatchObject({ deletedRows: 3 });
    expect((await rows('SELECT v FROM codes ORDER BY v')).map((r) => r.v)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('a WHERE longer than a delete takes once DuckDB writes it is refused, also on a dry run', async () => {
    // DuckDB writes each `1e0` as `1.0`: within the route's 100,000 characters, past them rendered.
    const where = `usage IN (${Array.from({ length: 20_000 }, () => '1e0').join(',')})`;
    expect(where.length).toBeLessThan(100_000);
    const before = await headVersion();
    for (const dryRun of [true, false]) {
      await expect(
        deletes.delete({ tenant: 'acme', database: 'metrics', table: 'cpu', where, dryRun, confirm: true }),
      ).rejects.toMatchObject({ code: 'WHERE_TOO_LONG', httpStatus: 400 });
    }
    expect(await headVersion()).toBe(before);
  });

  it('after a compaction and a delete, as_of before them returns the old rows', async () => {
    const partition = 'date=2026-03-10/hour=06';
    const inPartition = `time >= '${day(9, 6)}' AND time < '${day(9, 7)}'`;
    const catalog = fixture.catalogs.forTenant('acme');
    // A second file in the partition (late rows), so the compaction has two to merge.
    await writeDataFiles({
      store: fixture.store,
      catalog,
      database: 'metrics',
      table: 'cpu',
      files: [
        {
          fileId: 'late',
          sql: `SELECT make_timestamp(${BASE_US + (9 * 24 + 6) * HOUR_US}::BIGINT + 3_000_000 + i * 7_000_000) AS time,
            'host-' || (i % 5) AS host, 'eu' AS region, 1.5 AS usage, 7::BIGINT AS procs, false AS busy FROM range(50) t(i)`,
        },
      ],
    });
    const before = await catalog.refresh();
    const oldRows = await rows(`SELECT * FROM cpu WHERE ${inPartition} ORDER BY ALL`, {
      version: before.version,
    });
    expect(oldRows).toHaveLength(ROWS_PER_FILE + 50);

    const compaction = await orchestration.orchestrator.submit({
      kind: 'compaction',
      tenant: 'acme',
      logicalTime: '2026-04-02T00:00:00Z',
      tier: 'daily',
      database: 'metrics',
      table: 'cpu',
      partition,
    });
    expect(compaction.taskCount).toBe(1);
    expect((await orchestration.orchestrator.waitForRun('acme', compaction.runId)).status).toBe('succeeded');
    const compacted = await catalog.refresh();
    expect(compacted.tables.get(tableKey('metrics', 'cpu'))!.partitions.get(partition)!.size).toBe(1);

    const outcome = await deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where: `${inPartition} AND host = 'host-2'`,
      dryRun: false,
      confirm: true,
    });
    expect(outcome.deletedRows).toBe(ROWS_PER_FILE / 5 + 10);
    expect(await count(inPartition)).toBe(ROWS_PER_FILE + 50 - outcome.deletedRows);
    // Neither the compaction nor the delete changed what version `before` reads.
    expect(
      await rows(`SELECT * FROM cpu WHERE ${inPartition} ORDER BY ALL`, { version: before.version }),
    ).toEqual(oldRows);
  });
});

describe('refusals change nothing', () => {
  const attempt = (where: string, extra: Partial<{ dryRun: boolean; confirm: boolean }> = {}) =>
    deletes.delete({
      tenant: 'acme',
      database: 'metrics',
      table: 'cpu',
      where,
      dryRun: false,
      confirm: true,
      ...extra,
    });

  it.each([
    [`true) UNION ALL (SELECT * FROM cpu`, 'QUERY_REFUSED'],
    [`host = 'a'; DROP TABLE cpu`, 'INVALID_SQL'],
    [`host IN (SELECT host FROM mem)`, 'QUERY_REFUSED'],
    [`host IN (SELECT content FROM read_text('/etc/passwd'))`, 'QUERY_REFUSED'],
    [`getenv('HOME') = host`, 'QUERY_REFUSED'],
    [`row_number() OVER () = 1`, 'QUERY_REFUSED'],
    [`nonexistent_column = 1`, 'QUERY_REFUSED'],
    // Pruned to no file at all, the WHERE is still checked against the table's columns.
    [`nonexistent_column = 1 AND time < '2000-01-01'`, 'QUERY_REFUSED'],
    [`host = `, 'INVALID_SQL'],
    // The helper columns the count and the delete add beside the table's, and the whole row
    // (which would hold them): a WHERE reading them could match other rows in each.
    [`__weir_file LIKE '%'`, 'QUERY_REFUSED'],
    [`__weir_row < 5`, 'QUERY_REFUSED'],
    [`file_row_number < 5`, 'QUERY_REFUSED'],
    [`filename LIKE '%'`, 'QUERY_REFUSED'],
    [`(usage < 5) = (cpu::VARCHAR LIKE '%__weir_row%')`, 'QUERY_REFUSED'],
    [`mem.host = 'host-1'`, 'QUERY_REFUSED'],
    [`metrics.cpu.host = 'host-1'`, 'QUERY_REFUSED'],
    [`COLUMNS('.*') IS NULL`, 'QUERY_REFUSED'],
    [`#1 = 'host-1'`, 'QUERY_REFUSED'],
    [`list_filter([1], x -> x > procs) = [1]`, 'QUERY_REFUSED'],
    // Functions whose value is not the row's alone: each evaluation could match other rows.
    [`(usage < 5) = (current_connection_id() % 2 = 0)`, 'QUERY_REFUSED'],
    [`current_transaction_id() % 2 = 0`, 'QUERY_REFUSED'],
    [`current_query_id() > 0`, 'QUERY_REFUSED'],
    [`txid_current() > 0`, 'QUERY_REFUSED'],
    [`sleep_ms(100) IS NULL`, 'QUERY_REFUSED'],
    [`pg_sleep(1) IS NULL`, 'QUERY_REFUSED'],
    [`time < ago(INTERVAL 1 DAY)`, 'QUERY_REFUSED'],
    // DuckDB writes a qualified star's name without quotes: its text would run once rendered.
    [`"* FROM duckdb_settings()) OR (true".* IS NULL`, 'QUERY_REFUSED'],
  ])('WHERE %s → %s, also on a dry run', async (where, code) => {
    const before = await headVersion();
    await expect(attempt(where, { dryRun: true })).rejects.toMatchObject({ code, httpStatus: 400 });
    await expect(attempt(where)).rejects.toMatchObject({ code, httpStatus: 400 });
    expect(await headVersion()).toBe(before);
  });

  it('names what a WHERE reads that is not a column, and which function it refuses', async () => {
    await expect(attempt(`__weir_file LIKE '%'`, { dryRun: true })).rejects.toMatchObject({
      message: expect.stringContaining('reads __weir_file, which is not a column of table cpu'),
    });
    await expect(attempt(`current_transaction_id() > 0`, { dryRun: true })).rejects.toMatchObject({
      message: expect.stringContaining('current_transaction_id() in a delete WHERE'),
    });
    // Qualified by the table's own name, in any case, a column is read as usual.
    const outcome = await attempt(`CPU.Host = 'host-1' AND cpu.time < '${day(1)}'`, { dryRun: true });
    expect(outcome.deletedRows).toBe(await count(`host = 'host-1' AND time < '${day(1)}'`));
    expect(outcome.deletedRows).toBeGreaterThan(0);
  });

  it('a delete that loses its race every time answers 409, and one whose table was dropped 404', async () => {
    // Losing three races in a row cannot be caused on purpose: the run's outcome is scripted.
    const failingWith = (code: string) =>
      new DeleteService({
        query,
        orchestrator: {
          submit: async () => ({ runId: 'run_scripted', created: true }),
          waitForRun: async () => ({
            status: 'failed',
            tasks: [{ error: { code, message: `${code} (scripted)` } }],
          }),
        } as unknown as Orchestrator,
        limits: LIMITS,
      });
    for (const [code, status] of [
      ['FILE_ALREADY_REMOVED', 409],
      ['TABLE_NOT_FOUND', 404],
      ['DISK_FULL', 500],
    ] as const) {
      await expect(
        failingWith(code).delete({
          tenant: 'acme',
          database: 'metrics',
          table: 'cpu',
          where: `host = 'host-1' AND time < '${day(1)}'`,
          dryRun: false,
          confirm: true,
        }),
      ).rejects.toMatchObject({ code: 'DELETE_FAILED', httpStatus: status, details: { cause: code } });
    }
  });

  it('a delete without confirm is refused, naming the count; every-row and large deletes say so', async () => {
    const before = await headVersion();
    await expect(attempt(`host = 'host-4' AND time < '${day(1)}'`, { confirm: false })).rejects.toMatchObject(
      {
        code: 'CONFIRM_REQUIRED',
        message: expect.stringMatching(/removes 400 rows of metrics\.cpu/),
      },
    );
    await expect(attempt('1=1', { confirm: false })).rejects.toMatchObject({
      code: 'CONFIRM_REQUIRED',
      message: expect.stringMatching(/matches every row/),
    });
    await expect(attempt(`time < '${day(3)}'`, { confirm: false })).rejects.toMatchObject({
      code: 'CONFIRM_REQUIRED',
      message: expect.stringMatching(/above delete\.confirmationThreshold 1000/),
    });
    const small = new DeleteService({
      query,
      orchestrator: orchestration.orchestrator,
      limits: { ...LIMITS, maxRows: 1_000 },
    });
    await expect(
      small.delete({
        tenant: 'acme',
        database: 'metrics',
        table: 'cpu',
        where: '',
        dryRun: false,
        confirm: true,
      }),
    ).rejects.toMatchObject({ code: 'DELETE_TOO_LARGE', httpStatus: 400 });
    expect(await headVersion()).toBe(before);
  });

  it('another tenant’s table and unknown tables are not found', async () => {
    await expect(
      deletes.delete({
        tenant: 'acme',
        database: 'metrics',
        table: 'nope',
        where: 'true',
        dryRun: true,
        confirm: false,
      }),
    ).rejects.toMatchObject({ code: 'TABLE_NOT_FOUND', httpStatus: 404 });
    // Tenant `other` deleting by acme's names reaches only its own table.
    const otherBefore = await count('true', undefined, 'other');
    const outcome = await deletes.delete({
      tenant: 'other',
      database: 'metrics',
      table: 'cpu',
      where: `time < '${day(0, 1)}'`,
      dryRun: false,
      confirm: true,
    });
    expect(outcome.deletedRows).toBe(ROWS_PER_FILE);
    expect(await count('true', undefined, 'other')).toBe(otherBefore - ROWS_PER_FILE);
    expect(await count(`time < '${day(0, 1)}'`)).toBe(ROWS_PER_FILE);
  });
});

describe('POST /api/v1/delete', () => {
  it('answers Arc’s shape for a dry run and a real one', async () => {
    const where = `host = 'host-0' AND time >= '${day(20)}' AND time < '${day(21)}'`;
    const dry = await post({ database: 'metrics', measurement: 'cpu', where, dry_run: true });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({
      success: true,
      deleted_count: 400,
      affected_files: 4,
      rewritten_files: 4,
      dry_run: true,
      run_id: null,
      commit_version: null,
    });
    const real = await post({ database: 'metrics', measurement: 'cpu', where, confirm: true });
    expect(real.statusCode, real.body).toBe(200);
    expect(real.json()).toMatchObject({ success: true, deleted_count: 400, dry_run: false });
    expect(real.json().run_id).toMatch(/^run_/);
    expect(real.json().commit_version).toBeGreaterThan(dry.json().catalog_version);
  });

  it('refuses with 400s naming the problem', async () => {
    const cases: [unknown, number, string][] = [
      [{ database: 'metrics', measurement: 'cpu', where: `host = 'host-1'` }, 400, 'CONFIRM_REQUIRED'],
      [
        { database: 'metrics', measurement: 'cpu', where: 'x IN (SELECT 1)', confirm: true },
        400,
        'QUERY_REFUSED',
      ],
      [{ database: 'metrics', measurement: 'nope', where: 'true', dry_run: true }, 404, 'TABLE_NOT_FOUND'],
      // A random predicate matches other rows each time: the dry run would not be what is deleted.
      [
        { database: 'metrics', measurement: 'cpu', where: 'random() < 0.5', dry_run: true },
        400,
        'QUERY_REFUSED',
      ],
      [
        {
          database: 'metrics',
          measurement: 'cpu',
          where: `host = gen_random_uuid()::VARCHAR`,
          confirm: true,
        },
        400,
        'QUERY_REFUSED',
      ],
      // So does one that reads the clock: the count and the delete would run at other times.
      [
        { database: 'metrics', measurement: 'cpu', where: `time < now() - INTERVAL 30 DAY`, dry_run: true },
        400,
        'QUERY_REFUSED',
      ],
      [
        { database: 'metrics', measurement: 'cpu', where: `time < current_timestamp`, confirm: true },
        400,
        'QUERY_REFUSED',
      ],
      [
        { database: 'metrics', measurement: 'cpu', where: `time::DATE < CURRENT_DATE`, confirm: true },
        400,
        'QUERY_REFUSED',
      ],
      [{ database: 'metrics', where: 'true' }, 400, 'VALIDATION_ERROR'],
      // A misspelt `dry_run` next to confirm would otherwise delete for real.
      [
        { database: 'metrics', measurement: 'cpu', where: 'true', dryrun: true, confirm: true },
        400,
        'VALIDATION_ERROR',
      ],
    ];
    for (const [body, status, code] of cases) {
      const res = await post(body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().code, res.body).toBe(code);
    }
    const clock = await post({
      database: 'metrics',
      measurement: 'cpu',
      where: 'time < now()',
      dry_run: true,
    });
    expect(clock.json().error).toMatch(/now in a delete WHERE: it reads the clock/);
  });

  it('needs the delete permission and the database in the token’s scope', async () => {
    const body = { database: 'metrics', measurement: 'cpu', where: 'true', dry_run: true };
    expect((await post(body, tokens.reader)).statusCode).toBe(403);
    expect((await post(body, tokens.deleter)).statusCode).toBe(403);
    expect((await post(body, 'weir_bogus')).statusCode).toBe(401);
  });

  it('GET /api/v1/delete/config shows the limits', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/delete/config',
      headers: { authorization: `Bearer ${tokens.acme}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      enabled: true,
      confirmation_threshold: 1000,
      max_rows_per_delete: 100_000,
    });
  });
});
