import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ColumnDef, tableKey } from '../../catalog/index.js';
import type { TokenService } from '../../services/auth/index.js';
import { type ContinuousQueries, cqIdOf } from '../../services/cq/index.js';
import { cqProgressId, cqTriggers } from '../../services/orchestrator/index.js';
import type { QueryService } from '../../services/query/index.js';
import { BASE_US, HOUR_US, writeDataFiles } from '../helpers/data-files.js';
import type { TestOrchestration } from '../helpers/orchestration.js';
import { type CqEnvironment, startCqEnvironment } from './cq-environment.js';
import type { QueryFixture } from './fixture.js';

let fixture: QueryFixture;
let query: QueryService;
let orchestration: TestOrchestration;
let cqs: ContinuousQueries;
let app: FastifyInstance;
let auth: TokenService;
const tokens = { acme: '', reader: '', ops: '' };

const day = (d: number, hour = 0) => new Date((BASE_US + (d * 24 + hour) * HOUR_US) / 1000).toISOString();
const AGGREGATE = (from: string, to: string, bucket = `time_bucket(INTERVAL '15 minutes', time)`) =>
  `SELECT ${bucket} AS time, host, avg(usage) AS usage_avg, count(*) AS n
   FROM cpu WHERE time >= ${from} AND time < ${to} GROUP BY ALL`;
const CQ_QUERY = AGGREGATE(`'{start_time}'`, `'{end_time}'`);
/** The CQ query with another time bucket (`bucket` is the whole expression of `time`). */
const bucketedBy = (bucket: string) => AGGREGATE(`'{start_time}'`, `'{end_time}'`, bucket);

let env: CqEnvironment;
beforeAll(async () => {
  env = await startCqEnvironment(async (a) => {
    auth = a;
    tokens.acme = (await auth.tenants.create('acme', 'Acme')).token;
    tokens.reader = (await auth.create('acme', { name: 'r', permissions: ['read'] })).token;
    tokens.ops = (await auth.create('acme', { name: 'o', permissions: ['admin'], databases: ['ops'] })).token;
  });
  ({ fixture, query, orchestration, cqs, app } = env);
}, 240_000);

afterAll(() => env?.close());

const rows = async (sql: string) =>
  (await query.run({ tenant: 'acme', database: 'metrics', sql }, async (r) => r.getRowObjectsJS())).value;
const table = (name: string, from: string, to: string) =>
  rows(
    `SELECT time, host, usage_avg, n FROM ${name} WHERE time >= '${from}' AND time < '${to}' ORDER BY time, host`,
  );
const recomputed = (from: string, to: string) =>
  rows(`SELECT * FROM (${AGGREGATE(`'${from}'`, `'${to}'`)}) ORDER BY time, host`);
const catalogVersion = async () => (await fixture.catalogs.forTenant('acme').refresh()).version;
const duplicates = async (name: string) =>
  Number((await rows(`SELECT count(*) - count(DISTINCT (time, host)) AS d FROM ${name}`))[0]!.d);

const api = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown, token = tokens.acme) =>
  app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as object }),
    headers: { authorization: `Bearer ${token}` },
  });

async function tick(cqId: string, logicalTime: string) {
  const submitted = await orchestration.orchestrator.submit({
    kind: 'cq',
    tenant: 'acme',
    logicalTime,
    cqId,
  });
  const run = await orchestration.orchestrator.waitForRun('acme', submitted.runId);
  expect(run.status, JSON.stringify(run.tasks.find((t) => t.error)?.error)).toBe('succeeded');
  return { submitted, run };
}

async function create(
  name: string,
  destination: string,
  interval: string,
  extra: Record<string, unknown> = {},
) {
  const res = await api('POST', '/api/v1/continuous_queries', {
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: destination,
    query: CQ_QUERY,
    interval,
    delay: '0s',
    start_time: day(0),
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().query as { id: string; watermark: string };
}

/**
 * Stores a CQ definition (and its destination) in the catalog directly, as an earlier release may
 * have stored one the API now refuses; 1h windows from day 0, no delay. Returns its id.
 */
async function plantCq(
  cq: { name: string; database: string; source: string; destination: string; query: string },
  columns: ColumnDef[],
): Promise<string> {
  const id = cqIdOf(cq.name);
  await fixture.catalogs.forTenant('acme').commit(
    [
      { op: 'createTable', database: cq.database, table: cq.destination, columns },
      {
        op: 'setPolicy',
        policy: {
          id,
          kind: 'cq',
          database: cq.database,
          table: cq.source,
          definition: {
            name: cq.name,
            source_measurement: cq.source,
            destination_measurement: cq.destination,
            query: cq.query,
            interval_ms: 3_600_000,
            delay_ms: 0,
            start_us: BASE_US,
            is_active: true,
          },
        },
      },
    ],
    { operation: 'cq-definition' },
  );
  return id;
}

/** What the cross-database queries below answer: `time, host, usage` of metrics.cpu. */
const COPIED_COLUMNS: ColumnDef[] = [
  { name: 'time', type: 'timestamp', role: 'time' },
  { name: 'host', type: 'string', role: 'tag' },
  { name: 'usage', type: 'float64', role: 'field' },
];

describe('continuous query windows', () => {
  let cqId: string;

  it('a tick materializes every closed window; the destination equals the aggregate from scratch', async () => {
    const cq = await create('hourly', 'cpu_15m', '1h');
    cqId = cq.id;
    expect(cq.watermark).toBe(day(0));
    const { submitted, run } = await tick(cqId, day(1));
    expect(submitted.summary).toMatchObject({ windows: 24, invalidWindows: 0 });
    expect(run.tasks).toHaveLength(24);
    expect(await table('cpu_15m', day(0), day(1))).toEqual(await recomputed(day(0), day(1)));
    expect((await cqs.get('acme', cqId)).watermark).toBe(day(1));
    // Lineage by execution: a window read cpu and wrote cpu_15m.
    const result = run.tasks.find((t) => t.taskKey === `window:${day(0, 6)}`)!.result!;
    expect(result.reads.map((r) => `${r.database}.${r.table}`)).toEqual(['metrics.cpu']);
    expect(result.reads[0]!.files).toHaveLength(1);
    expect(result.wrote.files.every((f) => f.table === 'cpu_15m')).toBe(true);
    // A window's rows depend on when it runs, so its objects are keyed by their content: a second
    // attempt of the task that read other rows writes other keys and cannot overwrite these.
    const destination = (await fixture.catalogs.forTenant('acme').refresh()).tables.get(
      tableKey('metrics', 'cpu_15m'),
    )!;
    const written = [...destination.partitions.values()].flatMap((files) => [...files.values()]);
    expect(written.length).toBeGreaterThan(0);
    for (const file of written)
      expect(file.path).toMatch(new RegExp(`-${file.sha256.slice(0, 16)}\\.parquet$`));
    // Nothing new: no trigger at the same logical time once the run is done.
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(cqTriggers(state, day(1))).toEqual([]);
  });

  it('late rows in a materialized window make the next tick re-materialize it, without duplicates', async () => {
    await writeDataFiles({
      store: fixture.store,
      catalog: fixture.catalogs.forTenant('acme'),
      database: 'metrics',
      table: 'cpu',
      files: [
        {
          fileId: 'late-d0h6',
          sql: `SELECT make_timestamp(${BASE_US + 6 * HOUR_US}::BIGINT + 1_000_000 + i * 60_000_000) AS time,
            'host-' || (i % 7) AS host, 'eu' AS region, 99.0 AS usage, 1::BIGINT AS procs, false AS busy
            FROM range(40) t(i)`,
        },
      ],
    });
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(cqTriggers(state, day(1)).map((t) => t.cqId)).toEqual([cqId]);
    const { submitted } = await tick(cqId, day(1, 2));
    // The stale 06:00 window, and the two windows closed since.
    expect(submitted.summary).toMatchObject({ windows: 3, invalidWindows: 1 });
    expect(await table('cpu_15m', day(0), day(1, 2))).toEqual(await recomputed(day(0), day(1, 2)));
    expect(await duplicates('cpu_15m')).toBe(0);
    // Hosts the late rows brought appear only through the re-materialized window.
    expect(await rows(`SELECT DISTINCT host FROM cpu_15m WHERE host = 'host-6'`)).toHaveLength(1);
  });

  it('a destination whose windows a compaction merged is rewritten correctly when one of them goes stale', async () => {
    const quarter = await create('quarterly', 'cpu_q', '15m');
    await tick(quarter.id, day(0, 1));
    const partition = 'date=2026-03-01/hour=00';
    const before = await fixture.catalogs.forTenant('acme').refresh();
    expect(before.tables.get(tableKey('metrics', 'cpu_q'))!.partitions.get(partition)!.size).toBe(4);
    const compaction = await orchestration.orchestrator.submit({
      kind: 'compaction',
      tenant: 'acme',
      logicalTime: '2026-04-03T00:00:00Z',
      tier: 'daily',
      database: 'metrics',
      table: 'cpu_q',
      partition,
    });
    expect((await orchestration.orchestrator.waitForRun('acme', compaction.runId)).status).toBe('succeeded');
    await writeDataFiles({
      store: fixture.store,
      catalog: fixture.catalogs.forTenant('acme'),
      database: 'metrics',
      table: 'cpu',
      files: [
        {
          fileId: 'late-d0h0',
          sql: `SELECT make_timestamp(${BASE_US}::BIGINT + 20 * 60_000_000 + i * 1_000_000) AS time,
            'host-1' AS host, 'eu' AS region, 1.0 AS usage, 1::BIGINT AS procs, true AS busy FROM range(5) t(i)`,
        },
      ],
    });
    // The next minute's tick (a tick at the same logical time is the same run).
    const { submitted } = await tick(quarter.id, '2026-03-01T01:01:00.000Z');
    expect(submitted.summary).toMatchObject({ windows: 1, invalidWindows: 1 });
    expect(await table('cpu_q', day(0), day(0, 1))).toEqual(await recomputed(day(0), day(0, 1)));
    expect(await duplicates('cpu_q')).toBe(0);
  });

  it('a backfill over a week gives the same destination as ticks would have', async () => {
    const ticked = await create('six-hourly-ticks', 'cpu_6h_ticks', '6h');
    for (let d = 1; d <= 7; d++) await tick(ticked.id, day(d));
    const filled = await create('six-hourly-backfill', 'cpu_6h_backfill', '6h', { start_time: day(20) });
    const res = await api('POST', `/api/v1/continuous_queries/${filled.id}/execute`, {
      start_time: day(0),
      end_time: day(7),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ success: true, windows: 28, dry_run: false, status: 'succeeded' });
    expect(res.json().execution_id).toMatch(/^run_/);
    const ticks = await table('cpu_6h_ticks', day(0), day(7));
    expect(ticks.length).toBeGreaterThan(0);
    expect(await table('cpu_6h_backfill', day(0), day(7))).toEqual(ticks);
    expect(ticks).toEqual(await recomputed(day(0), day(7)));
    expect(res.json().records_written).toBe(ticks.length);
    // A range run leaves the progress to the ticks.
    expect((await cqs.get('acme', filled.id)).watermark).toBe(day(20));
  });
});

describe('continuous query endpoints', () => {
  it('pages executions of one CQ, counting only its own runs toward the limit', async () => {
    const a = await create('paged-a', 'cpu_paged_a', '1h', { start_time: day(20), is_active: false });
    const b = await create('paged-b', 'cpu_paged_b', '1h', { start_time: day(20), is_active: false });
    // Interleaved: the other CQ's runs are newer than some of this one's.
    const own: string[] = [];
    for (const hour of [1, 2, 3]) {
      own.push((await tick(a.id, day(20, hour))).run.runId);
      await tick(b.id, day(20, hour));
    }
    const page = (query: string) => api('GET', `/api/v1/continuous_queries/${a.id}/executions?${query}`);
    const first = await page('limit=2');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().count).toBe(2);
    const next = first.json().next_before as string;
    expect(next).toBe(first.json().executions[1].runId);
    const second = await page(`limit=2&before=${next}`);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json()).toMatchObject({ count: 1, next_before: null });
    const listed = [...first.json().executions, ...second.json().executions].map(
      (run: { runId: string; trigger: { cqId: string } }) => {
        expect(run.trigger.cqId).toBe(a.id);
        return run.runId;
      },
    );
    expect(listed.sort()).toEqual([...own].sort());

    const otherRun = (await api('GET', `/api/v1/continuous_queries/${b.id}/executions?limit=1`)).json()
      .executions[0].runId;
    for (const query of ['limit=0', 'limit=1001', 'limit=x', `before=${otherRun}`, 'cursor=1']) {
      const res = await page(query);
      expect(res.statusCode, `${query}: ${res.body}`).toBe(400);
      expect(res.json().success).toBe(false);
    }
  });

  it('lists, gets, updates and deletes in Arc’s shapes; executions list the runs', async () => {
    const cq = await create('endpoints', 'cpu_ep', '1h', { start_time: day(10) });
    const list = await api('GET', '/api/v1/continuous_queries');
    expect(list.statusCode).toBe(200);
    expect(list.json().queries.map((q: { name: string }) => q.name)).toContain('endpoints');
    expect(list.json().count).toBe(list.json().queries.length);
    const got = await api('GET', `/api/v1/continuous_queries/${cq.id}`);
    expect(got.json().query).toMatchObject({
      name: 'endpoints',
      interval: '1h',
      is_active: true,
      start_time: day(10),
    });

    const dry = await api('POST', `/api/v1/continuous_queries/${cq.id}/execute`, {
      start_time: day(10),
      end_time: day(10, 6),
      dry_run: true,
    });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ dry_run: true, windows: 6, execution_id: null });
    expect(dry.json().records_written).toBe((await recomputed(day(10), day(10, 6))).length);
    expect(await rows('SELECT * FROM cpu_ep')).toHaveLength(0);

    await tick(cq.id, day(10, 2));
    const executions = await api('GET', `/api/v1/continuous_queries/${cq.id}/executions`);
    expect(executions.statusCode).toBe(200);
    expect(executions.json().count).toBe(1);
    expect(executions.json().executions[0]).toMatchObject({ kind: 'cq', status: 'succeeded', task_count: 2 });

    const put = await api('PUT', `/api/v1/continuous_queries/${cq.id}`, {
      name: 'endpoints',
      database: 'metrics',
      source_measurement: 'cpu',
      destination_measurement: 'cpu_ep',
      query: CQ_QUERY,
      interval: '1h',
      is_active: false,
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().query).toMatchObject({ is_active: false, start_time: day(10), watermark: day(10, 2) });
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(cqTriggers(state, day(12)).map((t) => t.cqId)).not.toContain(cq.id);

    expect((await api('DELETE', `/api/v1/continuous_queries/${cq.id}`)).statusCode).toBe(200);
    expect((await api('GET', `/api/v1/continuous_queries/${cq.id}`)).statusCode).toBe(404);
    // The destination keeps its rows.
    expect((await rows('SELECT * FROM cpu_ep')).length).toBeGreaterThan(0);
  });

  it.each([
    ['no placeholders', { query: 'SELECT time, host FROM cpu' }, 400, 'CQ_INVALID'],
    ['a bad interval', { interval: 'often' }, 400, 'CQ_INVALID'],
    ['the source as destination', { destination_measurement: 'cpu' }, 400, 'CQ_INVALID'],
    ['a missing source', { source_measurement: 'nope' }, 404, 'TABLE_NOT_FOUND'],
    [
      'a file reader',
      { query: `SELECT * FROM read_csv('/etc/passwd') WHERE '{start_time}' < '{end_time}'` },
      400,
      'QUERY_REFUSED',
    ],
    [
      'no time column',
      {
        query: `SELECT host, avg(usage) AS u FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY host`,
      },
      400,
      'CQ_INVALID',
    ],
    [
      'a column type a table cannot hold',
      {
        query: `SELECT time_bucket(INTERVAL '1 hour', time) AS time, list(host) AS hosts FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY 1`,
      },
      400,
      'CQ_INVALID',
    ],
    ['an existing name', { name: 'hourly' }, 409, 'CQ_EXISTS'],
  ])('refuses %s', async (_label, change, status, code) => {
    const before = (await fixture.catalogs.forTenant('acme').refresh()).version;
    const res = await api('POST', '/api/v1/continuous_queries', {
      name: 'refused',
      database: 'metrics',
      source_measurement: 'cpu',
      destination_measurement: 'cpu_refused',
      query: CQ_QUERY,
      interval: '1h',
      ...change,
    });
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
    expect((await fixture.catalogs.forTenant('acme').refresh()).version).toBe(before);
  });

  it('needs admin for changes and the database in the token’s scope', async () => {
    const body = {
      name: 'scoped',
      database: 'metrics',
      source_measurement: 'cpu',
      destination_measurement: 'cpu_scoped',
      query: CQ_QUERY,
      interval: '1h',
    };
    expect((await api('POST', '/api/v1/continuous_queries', body, tokens.reader)).statusCode).toBe(403);
    expect((await api('POST', '/api/v1/continuous_queries', body, tokens.ops)).statusCode).toBe(403);
    const list = await api('GET', '/api/v1/continuous_queries', undefined, tokens.ops);
    expect(list.json().count).toBe(0);
    expect((await api('GET', '/api/v1/continuous_queries/cq_0000000000000000')).statusCode).toBe(404);
  });

  it('reads only databases in the token’s scope: its ticks copy what its query reads', async () => {
    const stealing = {
      name: 'copies-metrics',
      database: 'ops',
      source_measurement: 'deploys',
      destination_measurement: 'copied',
      query: `SELECT time, host, usage FROM metrics.cpu WHERE time >= '{start_time}' AND time < '{end_time}'`,
      interval: '1h',
      start_time: day(0),
    };
    const before = (await fixture.catalogs.forTenant('acme').refresh()).version;
    const refused = await api('POST', '/api/v1/continuous_queries', stealing, tokens.ops);
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json().error).toContain('database metrics');
    expect((await fixture.catalogs.forTenant('acme').refresh()).version).toBe(before);
    // One stored before the API refused queries reading another database (an unscoped admin
    // defined it): the scoped token may neither change nor run it.
    const id = await plantCq(
      {
        name: stealing.name,
        database: stealing.database,
        source: stealing.source_measurement,
        destination: stealing.destination_measurement,
        query: stealing.query,
      },
      COPIED_COLUMNS,
    );
    const replaced = await api('PUT', `/api/v1/continuous_queries/${id}`, stealing, tokens.ops);
    expect(replaced.statusCode, replaced.body).toBe(403);
    for (const dry_run of [true, false]) {
      const run = await api(
        'POST',
        `/api/v1/continuous_queries/${id}/execute`,
        { start_time: day(0), end_time: day(0, 1), dry_run },
        tokens.ops,
      );
      expect(run.statusCode, run.body).toBe(403);
    }
    expect((await api('DELETE', `/api/v1/continuous_queries/${id}`)).statusCode).toBe(200);
  });

  it('drops the progress an earlier CQ of the same name left behind', async () => {
    // A window that committed as its CQ was deleted leaves a progress entry no CQ owns.
    const id = cqIdOf('reborn');
    const progress = cqProgressId(id);
    await fixture.catalogs.forTenant('acme').commit(
      [
        {
          op: 'setPolicy',
          policy: {
            id: progress,
            kind: 'cq',
            database: 'metrics',
            definition: { progress_of: id, watermark_us: BASE_US + 5 * 24 * HOUR_US, checked_version: 0 },
          },
        },
      ],
      { operation: 'cq' },
    );
    const cq = await create('reborn', 'cpu_reborn', '1h');
    expect(cq.id).toBe(id);
    expect(cq.watermark).toBe(day(0));
    expect((await fixture.catalogs.forTenant('acme').refresh()).policies.has(progress)).toBe(false);
    // Its first tick starts from its own start, not from the earlier CQ's watermark.
    const { submitted } = await tick(id, day(0, 2));
    expect(submitted.summary).toMatchObject({ windows: 2 });
    expect(await table('cpu_reborn', day(0), day(0, 2))).toEqual(await recomputed(day(0), day(0, 2)));
  });
});

describe('continuous query ranges', () => {
  const execute = (id: string, body: object) => api('POST', `/api/v1/continuous_queries/${id}/execute`, body);
  const startRun = (cqId: string, range: { start: string; end: string }) =>
    api('POST', '/api/v1/runs', { kind: 'cq', cqId, range });

  it('refuses a range of too many windows by counting them, before building any', async () => {
    const cq = await create('every-second', 'cpu_1s', '1s', {
      query: bucketedBy(`time_bucket(INTERVAL '1 second', time)`),
      is_active: false,
    });
    const range = { start: '2026-01-01T00:00:00Z', end: '2036-01-01T00:00:00Z' };
    const windows = (Date.parse(range.end) - Date.parse(range.start)) / 1000;
    for (const res of [
      await execute(cq.id, { start_time: range.start, end_time: range.end, dry_run: true }),
      await execute(cq.id, { start_time: range.start, end_time: range.end }),
      await startRun(cq.id, range),
    ]) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('CQ_RANGE_TOO_LARGE');
      expect(res.json().error).toContain(`covers ${windows} windows`);
      expect(res.json().error).toContain('limit of 10000');
    }
  });

  it('answers an error of the query itself as a 400, in real runs as in dry runs', async () => {
    // Valid over the empty window it is checked on at creation; a cast of 'x' fails on the data.
    const cq = await create('casts-badly', 'cpu_casts_badly', '1h', {
      query: `SELECT time_bucket(INTERVAL '1 hour', time) AS time, host,
        sum(CAST(CASE WHEN procs >= 0 THEN 'x' ELSE '1' END AS INTEGER))::BIGINT AS n
        FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`,
      is_active: false,
    });
    const range = { start_time: day(0), end_time: day(0, 1) };
    const dry = await execute(cq.id, { ...range, dry_run: true });
    expect(dry.statusCode, dry.body).toBe(400);
    expect(dry.json()).toMatchObject({ success: false, code: 'QUERY_FAILED' });
    const real = await execute(cq.id, range);
    expect(real.statusCode, real.body).toBe(400);
    expect(real.json()).toMatchObject({ success: false, code: 'CQ_RUN_FAILED' });
    expect(real.json().error).toContain("Could not convert string 'x'");
  });

  it('refuses windows that have not closed yet, in dry runs as in real ones', async () => {
    const cq = await create('future', 'cpu_future', '1h', { is_active: false });
    const before = await catalogVersion();
    // The service's clock says 2026-04-01T00:00Z.
    for (const dry_run of [true, false]) {
      const res = await execute(cq.id, {
        start_time: '2027-01-01T00:00:00Z',
        end_time: '2027-01-01T02:00:00Z',
        dry_run,
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'CQ_RANGE_NOT_CLOSED' });
      expect(res.json().error).toContain('2027-01-01T02:00:00.000Z');
    }
    // An end just past now ceils to a window that is still open.
    const straddling = await execute(cq.id, {
      start_time: '2026-03-31T23:00:00Z',
      end_time: '2026-04-01T00:00:01Z',
    });
    expect(straddling.statusCode, straddling.body).toBe(400);
    expect(straddling.json().code).toBe('CQ_RANGE_NOT_CLOSED');
    // Through the runs endpoint, the range is checked against the run's logical time (now).
    const run = await startRun(cq.id, { start: '2030-01-01T00:00:00Z', end: '2030-01-01T02:00:00Z' });
    expect(run.statusCode, run.body).toBe(400);
    expect(run.json().code).toBe('CQ_RANGE_NOT_CLOSED');
    expect(await catalogVersion()).toBe(before);
  });
});

describe('continuous query times', () => {
  const definition = (start_time: string) => ({
    name: 'dated',
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: 'cpu_dated',
    query: CQ_QUERY,
    interval: '1h',
    start_time,
  });

  it.each([
    ['a day the month does not have', '2026-02-30T00:00:00Z', 'is not a valid date-time'],
    ['no zone (server-local time)', '2026-03-01T00:00:00', 'with a zone'],
    ['a year out of range', '9999-01-01T00:00:00Z', 'out of range'],
  ])('refuses a start_time with %s, naming the field and the value', async (_label, start_time, why) => {
    const before = await catalogVersion();
    const res = await api('POST', '/api/v1/continuous_queries', definition(start_time));
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe('CQ_INVALID');
    expect(res.json().error).toContain(`start_time ${JSON.stringify(start_time)}`);
    expect(res.json().error).toContain(why);
    expect(await catalogVersion()).toBe(before);
  });

  it('refuses the same times to execute, in dry runs as in real ones', async () => {
    const cq = await create('dated-runs', 'cpu_dated_runs', '1h', { is_active: false });
    for (const [start_time, end_time, field] of [
      ['2026-02-30T00:00:00Z', '2026-03-02T00:00:00Z', 'start_time'],
      ['2026-03-01T00:00:00Z', '2026-03-01T01:00:00', 'end_time'],
      ['0001-01-01T00:00:00Z', '0001-01-02T00:00:00Z', 'start_time'],
      ['9999-01-01T00:00:00Z', '9999-01-02T00:00:00Z', 'start_time'],
      ['2026-03-01T00:00:00Z', '9999-01-01T00:00:00Z', 'end_time'],
    ] as const) {
      for (const dry_run of [true, false]) {
        const res = await api('POST', `/api/v1/continuous_queries/${cq.id}/execute`, {
          start_time,
          end_time,
          dry_run,
        });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().code).toBe('CQ_INVALID');
        expect(res.json().error).toMatch(new RegExp(`^${field} "`));
      }
    }
  });
});

describe('continuous query destinations', () => {
  const memRows = async () => Number((await rows('SELECT count(*) AS n FROM mem'))[0]!.n);
  const body = (name: string, destination: string) => ({
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: destination,
    query: CQ_QUERY,
    interval: '1h',
    start_time: day(0),
  });

  it('refuses an existing table the CQ does not own, on create and on update, committing nothing', async () => {
    const rowsBefore = await memRows();
    expect(rowsBefore).toBeGreaterThan(0);
    const before = await catalogVersion();
    const created = await api('POST', '/api/v1/continuous_queries', body('overwrites-mem', 'mem'));
    expect(created.statusCode, created.body).toBe(409);
    expect(created.json().code).toBe('CQ_DESTINATION_EXISTS');
    expect(created.json().error).toContain('metrics.mem');
    expect(await catalogVersion()).toBe(before);

    const cq = await create('moves-to-mem', 'cpu_moves', '1h');
    const afterCreate = await catalogVersion();
    const updated = await api('PUT', `/api/v1/continuous_queries/${cq.id}`, body('moves-to-mem', 'mem'));
    expect(updated.statusCode, updated.body).toBe(409);
    expect(updated.json().code).toBe('CQ_DESTINATION_EXISTS');
    expect(await catalogVersion()).toBe(afterCreate);
    expect((await cqs.get('acme', cq.id)).destination_measurement).toBe('cpu_moves');
    expect(await memRows()).toBe(rowsBefore);
    // Its own destination stays its own.
    const kept = await api('PUT', `/api/v1/continuous_queries/${cq.id}`, body('moves-to-mem', 'cpu_moves'));
    expect(kept.statusCode, kept.body).toBe(200);
  });

  it('refuses another CQ’s destination, naming that CQ', async () => {
    const owner = await create('owns-shared', 'cpu_shared', '1h');
    const other = await create('wants-shared', 'cpu_wants', '1h');
    const before = await catalogVersion();
    for (const res of [
      await api('POST', '/api/v1/continuous_queries', body('shares', 'cpu_shared')),
      await api('PUT', `/api/v1/continuous_queries/${other.id}`, body('wants-shared', 'cpu_shared')),
    ]) {
      expect(res.statusCode, res.body).toBe(409);
      expect(res.json().code).toBe('CQ_DESTINATION_SHARED');
      expect(res.json().error).toContain('metrics.cpu_shared');
      expect(res.json().error).toContain(`owns-shared (${owner.id})`);
    }
    expect(await catalogVersion()).toBe(before);
  });
});

describe('continuous query bodies', () => {
  it('refuses unknown fields, naming them', async () => {
    const cq = await create('strict', 'cpu_strict', '1h', { is_active: false });
    const before = await catalogVersion();
    const refused = [
      await api('POST', '/api/v1/continuous_queries', {
        name: 'strict-extra',
        database: 'metrics',
        source_measurement: 'cpu',
        destination_measurement: 'cpu_strict_extra',
        query: CQ_QUERY,
        interval: '1h',
        retention: '30d',
      }),
      await api('PUT', `/api/v1/continuous_queries/${cq.id}`, {
        name: 'strict',
        database: 'metrics',
        source_measurement: 'cpu',
        destination_measurement: 'cpu_strict',
        query: CQ_QUERY,
        interval: '1h',
        retention: '30d',
      }),
    ];
    for (const res of refused) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('VALIDATION_ERROR');
      expect(res.json().error).toContain('retention');
    }
    // A misspelt dry_run would otherwise run for real.
    const misspelt = await api('POST', `/api/v1/continuous_queries/${cq.id}/execute`, {
      start_time: day(0),
      end_time: day(0, 1),
      dryrun: true,
    });
    expect(misspelt.statusCode, misspelt.body).toBe(400);
    expect(misspelt.json().error).toContain('dryrun');
    expect(await catalogVersion()).toBe(before);
  });
});

describe('continuous query buckets', () => {
  const body = (name: string, interval: string, bucket: string) => ({
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: `cpu_${name.replaceAll('-', '_')}`,
    query: bucketedBy(bucket),
    interval,
    start_time: day(0),
    is_active: false,
  });

  it.each([
    [
      'a bucket wider than the interval',
      '1h',
      `time_bucket(INTERVAL '2 hours', time)`,
      'CQ_BUCKET_WIDER_THAN_INTERVAL',
      "the query's time_bucket width 2h is wider than the interval 1h: each run covers one window of 1h and replaces that window's output, so every bucket would be written from part of its rows; use an interval that is a whole multiple of 2h, or a narrower bucket",
    ],
    [
      'an interval that is not a whole multiple of the bucket',
      '1h',
      `time_bucket(INTERVAL '25 minutes', time)`,
      'CQ_BUCKET_NOT_ALIGNED',
      "the interval 1h is not a whole multiple of the query's time_bucket width 25m: buckets would straddle window edges and each window would write part of them; use an interval that is a whole multiple of 25m",
    ],
    [
      'buckets that start off the window edges (time_bucket’s own origin)',
      '2d',
      `time_bucket(INTERVAL '2 days', time)`,
      'CQ_BUCKET_NOT_ALIGNED',
      // 2026-03-01 is an odd day since the epoch: the first window starts the day before.
      "the query's time_bucket buckets of 2d do not start at the window edge 2026-02-28T00:00:00.000Z: windows are multiples of the interval 2d since 1970-01-01T00:00:00Z, so give time_bucket that origin, e.g. time_bucket(INTERVAL '2d', time, TIMESTAMP '1970-01-01')",
    ],
    [
      'a bucket of calendar months',
      '31d',
      `time_bucket(INTERVAL '1 month', time)`,
      'CQ_BUCKET_NOT_ALIGNED',
      "the query's time_bucket width is in months, which vary in length, while the interval 31d is fixed: buckets would straddle window edges; bucket by days or less",
    ],
    [
      'a bucket width that is not a constant',
      '1h',
      `time_bucket(to_minutes(procs), time)`,
      'CQ_BUCKET_UNKNOWN',
      "the query's time_bucket width cannot be evaluated as a constant, so it cannot be checked against the interval 1h: write the width (and any origin or offset) as constants, e.g. time_bucket(INTERVAL '15 minutes', time)",
    ],
    // Constant values, yet refused before they are evaluated: the check has no timeout, and a larger range would not end.
    [
      'a bucket width that is a scalar subquery over a table function',
      '1h',
      `time_bucket((SELECT INTERVAL '1 hour' + to_microseconds(min(i) * 0) FROM range(10) r(i)), time)`,
      'CQ_BUCKET_UNKNOWN',
      "the query's time_bucket width cannot be evaluated as a constant, so it cannot be checked against the interval 1h: write the width (and any origin or offset) as constants, e.g. time_bucket(INTERVAL '15 minutes', time)",
    ],
    [
      'a bucket origin that is a scalar subquery',
      '1h',
      `time_bucket(INTERVAL '1 hour', time, (SELECT TIMESTAMP '1970-01-01' + to_microseconds(min(i) * 0) FROM range(10) r(i)))`,
      'CQ_BUCKET_UNKNOWN',
      "the query's time_bucket width cannot be evaluated as a constant, so it cannot be checked against the interval 1h: write the width (and any origin or offset) as constants, e.g. time_bucket(INTERVAL '15 minutes', time)",
    ],
    [
      'a bucket width computed by a function outside the fixed list',
      '1h',
      `time_bucket(to_minutes(length(repeat('x', 60))), time)`,
      'CQ_BUCKET_UNKNOWN',
      "the query's time_bucket width cannot be evaluated as a constant, so it cannot be checked against the interval 1h: write the width (and any origin or offset) as constants, e.g. time_bucket(INTERVAL '15 minutes', time)",
    ],
  ])('refuses %s, naming both widths', async (_label, interval, bucket, code, message) => {
    const before = await catalogVersion();
    const res = await api(
      'POST',
      '/api/v1/continuous_queries',
      body(`bucket-${interval}-${code}`, interval, bucket),
    );
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toEqual({ success: false, code, error: message });
    expect(await catalogVersion()).toBe(before);
  });

  it('refuses the same buckets on update, keeping the definition', async () => {
    const cq = await create('bucket-updated', 'cpu_bucket_updated', '1h', { is_active: false });
    const before = await catalogVersion();
    for (const [bucket, code, widths] of [
      [
        `time_bucket(INTERVAL '2 hours', time)`,
        'CQ_BUCKET_WIDER_THAN_INTERVAL',
        'width 2h is wider than the interval 1h',
      ],
      [
        `time_bucket(INTERVAL '25 minutes', time)`,
        'CQ_BUCKET_NOT_ALIGNED',
        "interval 1h is not a whole multiple of the query's time_bucket width 25m",
      ],
      [
        `time_bucket(to_minutes(procs), time)`,
        'CQ_BUCKET_UNKNOWN',
        'cannot be checked against the interval 1h',
      ],
    ] as const) {
      const res = await api('PUT', `/api/v1/continuous_queries/${cq.id}`, {
        ...body('bucket-updated', '1h', bucket),
        destination_measurement: 'cpu_bucket_updated',
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe(code);
      expect(res.json().error).toContain(widths);
    }
    expect(await catalogVersion()).toBe(before);
    expect((await cqs.get('acme', cq.id)).query).toBe(CQ_QUERY);
  });

  it('accepts buckets that tile the windows, however their width is written', async () => {
    for (const [name, interval, bucket] of [
      ['bucket-keyword', '1h', 'time_bucket(INTERVAL 15 MINUTE, time)'],
      ['bucket-text', '1h', `time_bucket('1 hour', time)`],
      ['bucket-day', '1d', `time_bucket(INTERVAL '1 day', time)`],
      ['bucket-origin', '2d', `time_bucket(INTERVAL '2 days', time, TIMESTAMP '1970-01-01')`],
      ['bucket-none', '1h', 'time'],
    ] as const) {
      const res = await api('POST', '/api/v1/continuous_queries', body(name, interval, bucket));
      expect(res.statusCode, `${name}: ${res.body}`).toBe(201);
    }
  });

  it('materializes whole buckets when the interval is a multiple of the bucket', async () => {
    const cq = await create('bucket-hourly', 'cpu_bucket_hourly', '6h', {
      query: bucketedBy(`time_bucket(INTERVAL '1 hour', time)`),
    });
    await tick(cq.id, day(1));
    const hourly = (from: string, to: string) =>
      rows(
        `SELECT * FROM (${AGGREGATE(`'${from}'`, `'${to}'`, `time_bucket(INTERVAL '1 hour', time)`)}) ORDER BY time, host`,
      );
    expect(await table('cpu_bucket_hourly', day(0), day(1))).toEqual(await hourly(day(0), day(1)));
  });
});

describe('continuous query interval changes', () => {
  const bodyOf = (name: string, destination: string, interval: string, bucket: string) => ({
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: destination,
    query: bucketedBy(bucket),
    interval,
    delay: '0s',
  });

  it('refuses an interval that does not divide the start, keeping the definition listable', async () => {
    const cq = await create('interval-odd-start', 'cpu_interval_odd', '1h', {
      start_time: day(0, 1),
      is_active: false,
    });
    const before = await catalogVersion();
    const res = await api(
      'PUT',
      `/api/v1/continuous_queries/${cq.id}`,
      bodyOf('interval-odd-start', 'cpu_interval_odd', '2h', `time_bucket(INTERVAL '15 minutes', time)`),
    );
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toEqual({
      success: false,
      code: 'CQ_INVALID',
      error: `interval 2h does not divide the continuous query's start ${day(0, 1)}, where its first window begins: keep an interval that does, or create a new continuous query`,
    });
    expect(await catalogVersion()).toBe(before);
    expect((await api('GET', '/api/v1/continuous_queries')).statusCode).toBe(200);
    expect((await api('GET', `/api/v1/continuous_queries/${cq.id}`)).json().query.interval).toBe('1h');
  });

  it('a wider interval goes on from the window its old watermark falls in', async () => {
    const halfHourly = `time_bucket(INTERVAL '30 minutes', time)`;
    const hourly = `time_bucket(INTERVAL '1 hour', time)`;
    const cq = await create('interval-widened', 'cpu_interval_widened', '30m', {
      query: bucketedBy(halfHourly),
    });
    await tick(cq.id, day(0, 0.5)); // materializes [00:00, 00:30): watermark 00:30
    const put = await api(
      'PUT',
      `/api/v1/continuous_queries/${cq.id}`,
      bodyOf('interval-widened', 'cpu_interval_widened', '1h', hourly),
    );
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().query).toMatchObject({ interval: '1h', watermark: day(0, 0.5) });
    // The watermark lies inside the 1h window [00:00, 01:00), which is materialized again whole
    // (from 00:30 its hourly bucket at 00:00 would fall outside the window, and the run fail).
    await tick(cq.id, day(0, 2));
    expect(await table('cpu_interval_widened', day(0), day(0, 2))).toEqual(
      await rows(`SELECT * FROM (${AGGREGATE(`'${day(0)}'`, `'${day(0, 2)}'`, hourly)}) ORDER BY time, host`),
    );
    expect(await duplicates('cpu_interval_widened')).toBe(0);
  });
});

describe('continuous query sources', () => {
  const body = (name: string, change: Record<string, unknown> = {}) => ({
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: `cpu_${name.replaceAll('-', '_')}`,
    query: CQ_QUERY,
    interval: '1h',
    start_time: day(0),
    is_active: false,
    ...change,
  });
  /** The CQ query, its hosts limited to those ops.deploys knows: it reads metrics.cpu and ops.deploys. */
  const JOINED = `SELECT time_bucket(INTERVAL '15 minutes', time) AS time, host, avg(usage) AS usage_avg, count(*) AS n
    FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}'
    AND host IN (SELECT host FROM ops.deploys) GROUP BY ALL`;
  const OTHER_DATABASE =
    "the query reads ops.deploys, which is outside the continuous query's database metrics: a continuous query reads only tables of its own database";

  it('refuses a query that reads another database, on create and on update, naming the table', async () => {
    const before = await catalogVersion();
    const created = await api('POST', '/api/v1/continuous_queries', body('joins-ops', { query: JOINED }));
    expect(created.statusCode, created.body).toBe(400);
    expect(created.json()).toEqual({
      success: false,
      code: 'CQ_READS_OTHER_DATABASE',
      error: OTHER_DATABASE,
    });
    expect(await catalogVersion()).toBe(before);
    expect((await api('GET', `/api/v1/continuous_queries/${cqIdOf('joins-ops')}`)).statusCode).toBe(404);

    const cq = await create('joins-later', 'cpu_joins_later', '1h', { is_active: false });
    const afterCreate = await catalogVersion();
    const updated = await api(
      'PUT',
      `/api/v1/continuous_queries/${cq.id}`,
      body('joins-later', { destination_measurement: 'cpu_joins_later', query: JOINED }),
    );
    expect(updated.statusCode, updated.body).toBe(400);
    expect(updated.json()).toEqual({
      success: false,
      code: 'CQ_READS_OTHER_DATABASE',
      error: OTHER_DATABASE,
    });
    expect(await catalogVersion()).toBe(afterCreate);
    expect((await cqs.get('acme', cq.id)).query).toBe(CQ_QUERY);
  });

  it('refuses a source_measurement the query does not read, on create and on update', async () => {
    const notRead =
      'source_measurement metrics.mem is not a table the query reads (it reads metrics.cpu): new rows in the source are what re-materialize a window, so the query must read it';
    const before = await catalogVersion();
    const created = await api(
      'POST',
      '/api/v1/continuous_queries',
      body('watches-mem', { source_measurement: 'mem' }),
    );
    expect(created.statusCode, created.body).toBe(400);
    expect(created.json()).toEqual({ success: false, code: 'CQ_SOURCE_NOT_READ', error: notRead });
    expect(await catalogVersion()).toBe(before);

    const cq = await create('watches-later', 'cpu_watches_later', '1h', { is_active: false });
    const afterCreate = await catalogVersion();
    const updated = await api(
      'PUT',
      `/api/v1/continuous_queries/${cq.id}`,
      body('watches-later', { destination_measurement: 'cpu_watches_later', source_measurement: 'mem' }),
    );
    expect(updated.statusCode, updated.body).toBe(400);
    expect(updated.json()).toEqual({ success: false, code: 'CQ_SOURCE_NOT_READ', error: notRead });
    expect(await catalogVersion()).toBe(afterCreate);
    expect((await cqs.get('acme', cq.id)).source_measurement).toBe('cpu');
  });

  it("refuses an update whose query reads the continuous query's own destination, naming the table", async () => {
    const cq = await create('reads-itself', 'cpu_reads_itself', '1h', { is_active: false });
    const afterCreate = await catalogVersion();
    // The window's answer plus its earlier output: each run would add that output again.
    const selfRead = `SELECT time, host, avg(usage_avg) AS usage_avg, sum(n)::BIGINT AS n FROM (${CQ_QUERY}
      UNION ALL SELECT time, host, usage_avg, n FROM cpu_reads_itself
      WHERE time >= '{start_time}' AND time < '{end_time}') GROUP BY ALL`;
    const updated = await api(
      'PUT',
      `/api/v1/continuous_queries/${cq.id}`,
      body('reads-itself', { destination_measurement: 'cpu_reads_itself', query: selfRead }),
    );
    expect(updated.statusCode, updated.body).toBe(400);
    expect(updated.json()).toEqual({
      success: false,
      code: 'CQ_READS_DESTINATION',
      error:
        "the query reads metrics.cpu_reads_itself, the continuous query's own destination: each run of a window would add that window's earlier output again; read only the source and other tables",
    });
    expect(await catalogVersion()).toBe(afterCreate);
    expect((await cqs.get('acme', cq.id)).query).toBe(CQ_QUERY);
  });

  it('fails the runs of a definition stored before the rule, and refuses to execute it, naming the table', async () => {
    const id = await plantCq(
      {
        name: 'copies-cpu',
        database: 'ops',
        source: 'deploys',
        destination: 'copied_cpu',
        query: `SELECT time, host, usage FROM metrics.cpu WHERE time >= '{start_time}' AND time < '{end_time}'`,
      },
      COPIED_COLUMNS,
    );
    const message =
      "the query reads metrics.cpu, which is outside the continuous query's database ops: a continuous query reads only tables of its own database";
    const before = await catalogVersion();
    const submitted = await orchestration.orchestrator.submit({
      kind: 'cq',
      tenant: 'acme',
      logicalTime: day(0, 2),
      cqId: id,
    });
    const run = await orchestration.orchestrator.waitForRun('acme', submitted.runId);
    expect(run.status).toBe('failed');
    const first = run.tasks.find((t) => t.taskKey === `window:${day(0)}`)!;
    expect(first.error).toEqual({ code: 'CQ_READS_OTHER_DATABASE', message });
    expect(run.tasks.find((t) => t.taskKey === `window:${day(0, 1)}`)!.status).toBe('skipped');
    // It failed before reading: no task's lineage names a file of metrics.
    const reads = run.tasks.flatMap((t) => t.result?.reads ?? []);
    expect(reads.filter((r) => r.database === 'metrics')).toEqual([]);
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.version).toBe(before);
    expect(state.tables.get(tableKey('ops', 'copied_cpu'))!.partitions.size).toBe(0);

    for (const dry_run of [true, false]) {
      const res = await api('POST', `/api/v1/continuous_queries/${id}/execute`, {
        start_time: day(0),
        end_time: day(0, 1),
        dry_run,
      });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toEqual({ success: false, code: 'CQ_READS_OTHER_DATABASE', error: message });
    }
    expect(await catalogVersion()).toBe(before);
    expect((await api('DELETE', `/api/v1/continuous_queries/${id}`)).statusCode).toBe(200);
  });

  it('fails the runs of a stored definition that reads its own destination, committing nothing', async () => {
    const window = (table: string) =>
      `SELECT time, host, usage FROM ${table} WHERE time >= '{start_time}' AND time < '{end_time}'`;
    const id = await plantCq(
      {
        name: 'copies-itself',
        database: 'metrics',
        source: 'cpu',
        destination: 'copied_self',
        query: `${window('cpu')} UNION ALL ${window('copied_self')}`,
      },
      COPIED_COLUMNS,
    );
    const before = await catalogVersion();
    const submitted = await orchestration.orchestrator.submit({
      kind: 'cq',
      tenant: 'acme',
      logicalTime: day(0, 2),
      cqId: id,
    });
    const run = await orchestration.orchestrator.waitForRun('acme', submitted.runId);
    expect(run.status).toBe('failed');
    expect(run.tasks.find((t) => t.taskKey === `window:${day(0)}`)!.error).toMatchObject({
      code: 'CQ_READS_DESTINATION',
    });
    expect(await catalogVersion()).toBe(before);
    expect((await api('DELETE', `/api/v1/continuous_queries/${id}`)).statusCode).toBe(200);
  });
});
