/**
 * The query endpoints over HTTP (ARC-COMPAT.md "Queries"): Arc's JSON shape, Arrow IPC that
 * apache-arrow reads back with its types, streamed CSV, estimate, listings, time travel, limits,
 * token scopes and tenants; the result cache; creating and deleting databases; a stream cut short
 * by a limit, as a real HTTP client sees it.
 */
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../services/api/index.js';
import type { TokenService } from '../../services/auth/index.js';
import { QueryService, queryFilesFor } from '../../services/query/index.js';
import { bootstrapTestAuth } from '../helpers/auth.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../helpers/data-files.js';
import { createQueryFixture, DAYS, HOURS_PER_DAY, type QueryFixture, ROWS_PER_FILE } from './fixture.js';

let fixture: QueryFixture;
let service: QueryService;
let app: FastifyInstance;
let auth: TokenService;
const tokens: Record<
  'acme' | 'other' | 'opsReader' | 'writer' | 'lab' | 'labReader' | 'labAlphaAdmin',
  string
> = {
  acme: '',
  other: '',
  opsReader: '',
  writer: '',
  lab: '',
  labReader: '',
  labAlphaAdmin: '',
};

interface OpenOptions {
  limits?: { maxRows: number; maxBytes: number };
  timeoutMs?: number;
  resultCacheBytes?: number;
}

async function open(options: OpenOptions = {}) {
  service = await QueryService.open({
    catalogs: fixture.catalogs,
    files: queryFilesFor(fixture.store, join(fixture.dir, 'cache'), 1 << 30),
    engine: { threads: 1, maxInstances: 4 },
    timeoutMs: options.timeoutMs ?? 30_000,
  });
  app = await buildApp({
    logger: pino({ level: 'silent' }),
    version: 'test',
    readiness: [],
    auth,
    query: {
      service,
      catalogs: fixture.catalogs,
      limits: options.limits ?? { maxRows: 100_000, maxBytes: 64 * 1024 * 1024 },
      resultCacheBytes: options.resultCacheBytes,
    },
  });
}

async function reopen(options: OpenOptions = {}) {
  await app.close();
  service.close();
  await open(options);
}

beforeAll(async () => {
  fixture = await createQueryFixture(async (store) => {
    auth = (await bootstrapTestAuth(store)).auth;
    tokens.acme = (await auth.tenants.create('acme', 'Acme')).token;
    tokens.other = (await auth.tenants.create('other', 'Other')).token;
    tokens.opsReader = (
      await auth.create('acme', { name: 'ops', permissions: ['read'], databases: ['ops'] })
    ).token;
    tokens.writer = (await auth.create('acme', { name: 'w', permissions: ['write'] })).token;
    // Tenant `lab` is changed by the tests (databases created and dropped, files added); the others are not.
    tokens.lab = (await auth.tenants.create('lab', 'Lab')).token;
    tokens.labReader = (await auth.create('lab', { name: 'r', permissions: ['read'] })).token;
    tokens.labAlphaAdmin = (
      await auth.create('lab', { name: 'alpha-admin', permissions: ['admin'], databases: ['alpha'] })
    ).token;
  });
  await open();
}, 180_000);

afterAll(async () => {
  await app?.close();
  service?.close();
  await fixture?.close();
});

const post = (url: string, body: unknown, token = tokens.acme, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url,
    payload: body as object,
    headers: { authorization: `Bearer ${token}`, ...headers },
  });

const day = (d: number, hour = 0) => new Date((BASE_US + (d * 24 + hour) * HOUR_US) / 1000).toISOString();
const oneHour = `SELECT time, host, usage, procs, busy FROM cpu WHERE time >= '${day(4, 12)}' AND time < '${day(4, 13)}' ORDER BY time, host`;

describe('POST /api/v1/query', () => {
  it('answers Arc’s JSON shape, with the version read and the files opened', async () => {
    const res = await post('/api/v1/query', { sql: oneHour, database: 'metrics' });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      success: true,
      columns: ['time', 'host', 'usage', 'procs', 'busy'],
      row_count: ROWS_PER_FILE,
    });
    expect(body.data[0]).toEqual([
      '2026-03-05T12:00:00.000000Z',
      'host-0',
      expect.any(Number),
      expect.any(Number),
      true,
    ]);
    expect(typeof body.execution_time_ms).toBe('number');
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(Number(res.headers['x-weir-catalog-version'])).toBeGreaterThan(0);
    expect(res.headers['x-weir-files-scanned']).toBe('1');
  });

  it('takes the database from x-arc-database, else default; db.table reaches another database', async () => {
    const res = await post('/api/v1/query', { sql: 'SELECT count(*) AS n FROM mem' }, tokens.acme, {
      'x-arc-database': 'metrics',
    });
    expect(res.json().data).toEqual([[120]]);
    const cross = await post('/api/v1/query', {
      sql: 'SELECT count(*) AS n FROM metrics.cpu JOIN ops.deploys USING (host)',
    });
    expect(cross.statusCode, cross.body).toBe(200);
    expect(cross.json().data[0][0]).toBeGreaterThan(0);
    const noDefault = await post('/api/v1/query', { sql: 'SELECT * FROM cpu' });
    expect(noDefault.statusCode).toBe(404);
    expect(noDefault.json()).toMatchObject({
      success: false,
      code: 'TABLE_NOT_FOUND',
      columns: null,
      data: null,
    });
    expect(noDefault.json().error).toContain('default.cpu');
  });

  it('answers SHOW DATABASES and SHOW TABLES', async () => {
    expect((await post('/api/v1/query', { sql: 'SHOW DATABASES' })).json().data).toEqual([
      ['metrics'],
      ['ops'],
    ]);
    expect((await post('/api/v1/query', { sql: 'SHOW TABLES FROM metrics' })).json()).toMatchObject({
      columns: ['name'],
      data: [['cpu'], ['mem']],
      row_count: 2,
    });
  });

  it('as_of reads an earlier catalog version', async () => {
    const first = Number(
      (await post('/api/v1/query', { sql: 'SHOW DATABASES' })).headers['x-weir-catalog-version'],
    );
    const early = await post('/api/v1/query', { sql: 'SHOW TABLES FROM metrics', as_of: { version: 2 } });
    expect(early.statusCode, early.body).toBe(200);
    expect(early.headers['x-weir-catalog-version']).toBe('2');
    expect(early.json().data).toEqual([['cpu']]);
    const missing = await post('/api/v1/query', { sql: 'SELECT 1', as_of: { version: first + 1000 } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toContain(`no version ${first + 1000}`);
  });

  it('as_of: a shape it cannot have or a time without a zone is a 400 saying what as_of must be', async () => {
    const shape =
      'as_of must be {"version": n} with n ≥ 0, or {"timestamp": t} with t an RFC 3339 date-time with a zone (e.g. 2026-03-01T05:00:00Z) or epoch milliseconds';
    const cases: [unknown, string][] = [
      [{}, shape],
      [{ version: 1.5 }, shape],
      [{ version: 1, timestamp: 0 }, shape],
      [{ timestamp: true }, shape],
      [{ at: 3 }, shape],
      ['v1', shape],
      // One form matched but for a bound: that bound is named.
      [{ version: -1 }, 'as_of/version Too small'],
    ];
    for (const [asOf, message] of cases) {
      const bad = await post('/api/v1/query', { sql: 'SELECT 1', as_of: asOf });
      expect(bad.statusCode, JSON.stringify(asOf)).toBe(400);
      expect(bad.json()).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
      expect(bad.json().error).toContain(message);
    }
    // Without a zone the time would be read in the server's time zone: refused on every route.
    for (const url of [
      '/api/v1/query',
      '/api/v1/query/arrow',
      '/api/v1/query/stream',
      '/api/v1/query/estimate',
    ]) {
      for (const sql of ['SELECT 1', 'SHOW TABLES FROM metrics']) {
        if (sql.startsWith('SHOW') && url !== '/api/v1/query') continue;
        const local = await post(url, { sql, as_of: { timestamp: '2026-01-01T00:00:00' } });
        expect(local.statusCode, `${url} ${sql}`).toBe(400);
        expect(local.json()).toEqual({
          success: false,
          code: 'INVALID_TIMESTAMP',
          error:
            'as_of timestamp "2026-01-01T00:00:00" must be an RFC 3339 date-time with a zone, e.g. 2026-03-01T05:00:00Z, or epoch milliseconds',
          columns: null,
          data: null,
        });
      }
    }
    // A zone, sub-millisecond digits (Python's isoformat) and extra top-level fields (Arc clients) are fine.
    const now = new Date().toISOString().replace('Z', '123+00:00');
    const fine = await post('/api/v1/query', {
      sql: 'SHOW TABLES FROM metrics',
      as_of: { timestamp: now },
      format: 'json',
      client: 'arc-python',
    });
    expect(fine.statusCode, fine.body).toBe(200);
    expect(fine.json().data).toEqual([['cpu'], ['mem']]);
  });

  it('refuses what the guard refuses, in Arc’s error shape, and bad bodies with 400', async () => {
    const refused = await post('/api/v1/query', { sql: "SELECT * FROM read_text('/etc/passwd')" });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toEqual({
      success: false,
      code: 'QUERY_REFUSED',
      error: expect.stringContaining('read_text'),
      columns: null,
      data: null,
    });
    const bad = await post('/api/v1/query', { query: 'SELECT 1' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toContain('sql');
    const invalid = await post('/api/v1/query', { sql: 'SELECT nope FROM metrics.cpu' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toMatchObject({ code: 'QUERY_FAILED' });
    expect(invalid.json().error).toContain('nope');
    expect(invalid.json().error).not.toContain('__weir');
  });
});

describe('tokens and tenants', () => {
  it('needs a token with read permission for every database the query reads', async () => {
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/query', payload: { sql: 'SELECT 1' } })).statusCode,
    ).toBe(401);
    expect((await post('/api/v1/query', { sql: 'SELECT 1' }, tokens.writer)).statusCode).toBe(403);
    const ops = await post(
      '/api/v1/query',
      { sql: 'SELECT count(*) FROM deploys', database: 'ops' },
      tokens.opsReader,
    );
    expect(ops.statusCode, ops.body).toBe(200);
    const joined = await post(
      '/api/v1/query',
      { sql: 'SELECT count(*) FROM deploys JOIN metrics.cpu USING (host)', database: 'ops' },
      tokens.opsReader,
    );
    expect(joined.statusCode).toBe(403);
    expect(joined.json().error).toContain('metrics');
    // Listings leave out the databases the token cannot read, as GET /api/v1/databases does.
    const shown = await post('/api/v1/query', { sql: 'SHOW DATABASES' }, tokens.opsReader);
    expect(shown.statusCode, shown.body).toBe(200);
    expect(shown.json().data).toEqual([['ops']]);
    expect((await post('/api/v1/query', { sql: 'SHOW DATABASES' })).json().data).toEqual([
      ['metrics'],
      ['ops'],
    ]);
  });

  it('each tenant reads its own rows under the same names', async () => {
    const sql = { sql: 'SELECT sum(procs) AS p FROM metrics.cpu' };
    const [mine, theirs] = await Promise.all([
      post('/api/v1/query', sql),
      post('/api/v1/query', sql, tokens.other),
    ]);
    expect(mine.json().data[0][0]).not.toEqual(theirs.json().data[0][0]);
  });
});

describe('other answer formats', () => {
  it('Arrow IPC parses with apache-arrow and keeps the types and values', async () => {
    const res = await post('/api/v1/query/arrow', { sql: oneHour, database: 'metrics' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/vnd.apache.arrow.stream');
    expect(res.headers['x-weir-files-scanned']).toBe('1');
    const table = tableFromIPC(res.rawPayload);
    expect(table.numRows).toBe(ROWS_PER_FILE);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'time:Timestamp<MICROSECOND>',
      'host:Utf8',
      'usage:Float64',
      'procs:Int64',
      'busy:Bool',
    ]);
    const json = (await post('/api/v1/query', { sql: oneHour, database: 'metrics' })).json();
    const first = table.get(0)!.toJSON();
    expect(first.host).toBe(json.data[0][1]);
    expect(first.usage).toBe(json.data[0][2]);
    expect(first.procs).toBe(BigInt(json.data[0][3]));
    expect((table.getChild('time')!.data[0]!.values as BigInt64Array)[0]).toBe(
      BigInt(BASE_US + (4 * 24 + 12) * HOUR_US),
    );
  });

  it('CSV streams a header and every row', async () => {
    const res = await post('/api/v1/query/stream', {
      sql: 'SELECT time, host, usage FROM metrics.cpu ORDER BY time, host',
    });
    expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const lines = res.body.trimEnd().split('\n');
    expect(lines[0]).toBe('time,host,usage');
    expect(lines).toHaveLength(1 + DAYS * HOURS_PER_DAY.length * ROWS_PER_FILE);
    expect(lines[1]).toMatch(/^2026-03-01T00:00:00\.000000Z,host-0,/);
  });

  it('estimate says what the query would open, without running it', async () => {
    const res = await post('/api/v1/query/estimate', { sql: oneHour, database: 'metrics' });
    expect(res.json()).toMatchObject({
      success: true,
      files: 1,
      estimated_rows: ROWS_PER_FILE,
      warning_level: 'none',
    });
    expect(res.json().bytes).toBeGreaterThan(0);
    const all = await post('/api/v1/query/estimate', { sql: 'SELECT * FROM metrics.cpu' });
    expect(all.json()).toMatchObject({
      files: DAYS * HOURS_PER_DAY.length,
      estimated_rows: DAYS * HOURS_PER_DAY.length * ROWS_PER_FILE,
    });
  });
});

describe('listings', () => {
  it('GET /api/v1/measurements and /api/v1/databases', async () => {
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/measurements?database=metrics',
      headers: { authorization: `Bearer ${tokens.acme}` },
    });
    expect(res.json()).toMatchObject({ success: true, count: 2 });
    expect(res.json().measurements[0]).toMatchObject({
      database: 'metrics',
      measurement: 'cpu',
      file_count: DAYS * HOURS_PER_DAY.length,
      storage_path: 'tenants/acme/data/metrics/cpu/',
    });
    const dbs = await app.inject({
      method: 'GET',
      url: '/api/v1/databases',
      headers: { authorization: `Bearer ${tokens.opsReader}` },
    });
    expect(dbs.json()).toMatchObject({ count: 1, databases: [{ name: 'ops', measurement_count: 1 }] });
  });

  it('GET /api/v1/measurements of a database that does not exist is a 404; one out of scope a 403', async () => {
    const get = (database: string, token: string) =>
      app.inject({
        method: 'GET',
        url: `/api/v1/measurements?database=${database}`,
        headers: { authorization: `Bearer ${token}` },
      });
    const missing = await get('nodb', tokens.acme);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({
      success: false,
      code: 'DATABASE_NOT_FOUND',
      error: 'database nodb does not exist',
    });
    // The scope is checked first: a scoped token learns nothing about databases outside it.
    expect((await get('nodb', tokens.opsReader)).json()).toMatchObject({ code: 'FORBIDDEN' });
  });
});

const lab = () => fixture.catalogs.forTenant('lab');

/** One file of `rows` readings in hour `hour` of 2026-03-01, committed to lab's `database.readings`. */
async function addReadings(database: string, fileId: string, hour: number, rows = 100) {
  await writeDataFiles({
    store: fixture.store,
    catalog: lab(),
    database,
    table: 'readings',
    files: [
      {
        fileId,
        sql: `SELECT make_timestamp(${BASE_US + hour * HOUR_US}::BIGINT + i * 1_000_000) AS time,
          'room-' || (i % 3) AS room, i * 0.5 AS c FROM range(${rows}) t(i)`,
      },
    ],
  });
}

const versionOf = (res: { headers: Record<string, unknown> }) =>
  Number(res.headers['x-weir-catalog-version']);
/** Arc's JSON answer without the parts that belong to the request (timings). */
const rowsOf = (res: { json(): Record<string, unknown> }) => {
  const { execution_time_ms: _ms, timestamp: _at, ...rest } = res.json();
  return rest;
};

describe('result cache', () => {
  const byHost = `SELECT host, count(*) AS n, round(avg(usage), 3) AS u FROM cpu
    WHERE time >= '${day(2)}' AND time < '${day(3)}' GROUP BY host ORDER BY host`;

  it('the same query twice: the second answer is a hit with the same body, in every format', async () => {
    const first = await post('/api/v1/query', { sql: byHost, database: 'metrics' });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['x-weir-cache']).toBe('miss');
    const second = await post('/api/v1/query', { sql: byHost, database: 'metrics' });
    expect(second.headers['x-weir-cache']).toBe('hit');
    expect(second.headers['content-type']).toContain('application/json');
    expect(rowsOf(second)).toEqual(rowsOf(first));
    expect(second.body.slice(0, second.body.indexOf(',"execution_time_ms"'))).toBe(
      first.body.slice(0, first.body.indexOf(',"execution_time_ms"')),
    );
    expect(second.json()).toMatchObject({ success: true, row_count: 5 });
    expect(typeof second.json().execution_time_ms).toBe('number');
    expect(versionOf(second)).toBe(versionOf(first));
    expect(second.headers['x-weir-files-scanned']).toBe(first.headers['x-weir-files-scanned']);

    // The key is the statement's text with its references replaced: another spelling is another
    // entry (with the same rows), the same table named with or without its database is the same.
    const respelled = byHost
      .replaceAll(/\s+/g, '  ')
      .replace('SELECT', 'select')
      .replace('GROUP BY', 'group by');
    const third = await post('/api/v1/query', { sql: respelled, database: 'metrics' });
    expect(third.headers['x-weir-cache']).toBe('miss');
    expect(rowsOf(third)).toEqual(rowsOf(first));
    // The same text meaning other tables (another database) is another entry.
    const elsewhere = await post('/api/v1/query', { sql: byHost.replace('FROM cpu', 'FROM metrics.cpu') });
    expect(elsewhere.headers['x-weir-cache']).toBe('hit');
    const missing = await post('/api/v1/query', { sql: byHost, database: 'ops' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'TABLE_NOT_FOUND' });

    for (const url of ['/api/v1/query/arrow', '/api/v1/query/stream']) {
      const streamedFirst = await post(url, { sql: byHost, database: 'metrics' });
      expect(streamedFirst.statusCode, url).toBe(200);
      expect(streamedFirst.headers['x-weir-cache'], url).toBe('miss');
      const streamedSecond = await post(url, { sql: byHost, database: 'metrics' });
      expect(streamedSecond.headers['x-weir-cache'], url).toBe('hit');
      expect(streamedSecond.headers['content-type'], url).toBe(streamedFirst.headers['content-type']);
      expect(Buffer.compare(streamedSecond.rawPayload, streamedFirst.rawPayload), url).toBe(0);
    }
    const table = tableFromIPC(
      (await post('/api/v1/query/arrow', { sql: byHost, database: 'metrics' })).rawPayload,
    );
    expect(table.numRows).toBe(5);
  });

  it('statements reading the clock or randomness, SHOW and estimates are never cached', async () => {
    for (const sql of [
      'SELECT count(*) AS n FROM metrics.cpu WHERE time < now()',
      "SELECT count(*) AS n FROM metrics.cpu WHERE time < current_timestamp - INTERVAL '1 day'",
      'SELECT random() < 2 AS r',
      'SELECT count(*) AS n FROM metrics.cpu USING SAMPLE 50 ROWS',
      'SELECT count(*) AS n FROM range(3) WHERE current_date IS NOT NULL',
      'SHOW DATABASES',
    ]) {
      for (let i = 0; i < 2; i++) {
        const res = await post('/api/v1/query', { sql });
        expect(res.statusCode, sql).toBe(200);
        expect(res.headers['x-weir-cache'], sql).toBe('bypass');
      }
    }
    const csv = await post('/api/v1/query/stream', { sql: 'SELECT uuid() AS id' });
    expect(csv.headers['x-weir-cache']).toBe('bypass');
    const estimate = await post('/api/v1/query/estimate', { sql: 'SELECT * FROM metrics.cpu' });
    expect(estimate.headers['x-weir-cache']).toBe('bypass');
  });

  it('a commit moves the head past an entry: the next query misses and reads the new rows; as_of versions hit on their own', async () => {
    await createDataTable(lab(), 'cachelab', 'readings', { tags: ['room'], fields: { c: 'float64' } });
    const empty = (await lab().refresh()).version;
    await addReadings('cachelab', 'h0', 0);
    const sql = 'SELECT room, count(*) AS n, sum(c) AS s FROM readings GROUP BY room ORDER BY room';
    const query = (extra: object = {}) =>
      post('/api/v1/query', { sql, database: 'cachelab', ...extra }, tokens.lab);
    const total = (res: { json(): { data: [string, number, number][] } }) =>
      res.json().data.reduce((sum, row) => sum + row[1], 0);

    const first = await query();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['x-weir-cache']).toBe('miss');
    expect(total(first)).toBe(100);
    expect((await query()).headers['x-weir-cache']).toBe('hit');

    await addReadings('cachelab', 'h1', 1);
    const after = await query();
    expect(after.headers['x-weir-cache']).toBe('miss');
    expect(versionOf(after)).toBeGreaterThan(versionOf(first));
    expect(total(after)).toBe(200);
    expect(after.headers['x-weir-files-scanned']).toBe('2');
    const again = await query();
    expect(again.headers['x-weir-cache']).toBe('hit');
    expect(total(again)).toBe(200);

    // The key holds the version: the earlier head's entry answers as_of that version.
    const old = await query({ as_of: { version: versionOf(first) } });
    expect(old.headers['x-weir-cache']).toBe('hit');
    expect(versionOf(old)).toBe(versionOf(first));
    expect(total(old)).toBe(100);
    const current = await query({ as_of: { version: versionOf(after) } });
    expect(current.headers['x-weir-cache']).toBe('hit');
    expect(total(current)).toBe(200);
    const before = await query({ as_of: { version: empty } });
    expect(before.headers['x-weir-cache']).toBe('miss');
    expect(before.json()).toMatchObject({ row_count: 0, data: [] });
    expect((await query({ as_of: { version: empty } })).headers['x-weir-cache']).toBe('hit');
    const gone = await query({ as_of: { version: versionOf(after) + 1000 } });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'VERSION_NOT_FOUND', columns: null });
  });

  it('a token without access to a database gets 403 even when the answer is cached; each tenant has its own entries', async () => {
    const sql = `SELECT host, sum(procs) AS p FROM metrics.cpu WHERE time >= '${day(7)}' AND time < '${day(8)}' GROUP BY host ORDER BY host`;
    for (const url of ['/api/v1/query', '/api/v1/query/arrow', '/api/v1/query/stream']) {
      await post(url, { sql });
      expect((await post(url, { sql })).headers['x-weir-cache'], url).toBe('hit');
      const denied = await post(url, { sql }, tokens.opsReader);
      expect(denied.statusCode, url).toBe(403);
      expect(denied.json(), url).toMatchObject({
        success: false,
        code: 'FORBIDDEN',
        columns: null,
        data: null,
      });
      expect(denied.json().error, url).toContain('metrics');
      expect(denied.headers['x-weir-cache'], url).toBeUndefined();
    }
    const joined = `SELECT count(*) AS n FROM deploys JOIN metrics.cpu USING (host)`;
    await post('/api/v1/query', { sql: joined, database: 'ops' });
    expect((await post('/api/v1/query', { sql: joined, database: 'ops' })).headers['x-weir-cache']).toBe(
      'hit',
    );
    const partly = await post('/api/v1/query', { sql: joined, database: 'ops' }, tokens.opsReader);
    expect(partly.statusCode).toBe(403);
    expect(partly.json()).toMatchObject({ code: 'FORBIDDEN' });
    // Tables that exist and tables that do not look the same to it: it learns nothing of them.
    for (const table of ['metrics.cpu', 'metrics.nosuch', 'METRICS.Cpu', 'nodb.cpu']) {
      const probe = await post(
        '/api/v1/query',
        { sql: `SELECT 1 FROM ${table}`, database: 'ops' },
        tokens.opsReader,
      );
      expect({ table, status: probe.statusCode, code: probe.json().code }).toEqual({
        table,
        status: 403,
        code: 'FORBIDDEN',
      });
    }

    const mine = await post('/api/v1/query', { sql });
    const theirs = await post('/api/v1/query', { sql }, tokens.other);
    expect(theirs.statusCode).toBe(200);
    expect(theirs.headers['x-weir-cache']).toBe('miss');
    expect(theirs.json().data).not.toEqual(mine.json().data);
  });

  it('an answer above the per-entry cap (an eighth of query.resultCacheBytes) is not kept; 0 turns the cache off', async () => {
    await reopen({ resultCacheBytes: 64 * 1024 });
    try {
      for (const url of ['/api/v1/query', '/api/v1/query/arrow', '/api/v1/query/stream']) {
        // 500 rows: well over the 8 KiB cap in every format.
        const big = await post(url, { sql: oneHour, database: 'metrics' });
        expect(big.statusCode, url).toBe(200);
        expect(big.rawPayload.byteLength, url).toBeGreaterThan(8 * 1024);
        expect(big.headers['x-weir-cache'], url).toBe('miss');
        expect((await post(url, { sql: oneHour, database: 'metrics' })).headers['x-weir-cache'], url).toBe(
          'miss',
        );
        const small = { sql: 'SELECT count(*) AS n FROM metrics.cpu' };
        expect((await post(url, small)).headers['x-weir-cache'], url).toBe('miss');
        expect((await post(url, small)).headers['x-weir-cache'], url).toBe('hit');
      }
      await reopen({ resultCacheBytes: 0 });
      const small = { sql: 'SELECT count(*) AS n FROM metrics.cpu' };
      for (let i = 0; i < 2; i++) {
        const res = await post('/api/v1/query', small);
        expect(res.json().data).toEqual([[DAYS * HOURS_PER_DAY.length * ROWS_PER_FILE]]);
        expect(res.headers['x-weir-cache']).toBe('bypass');
      }
    } finally {
      await reopen();
    }
  });
});

describe('POST and DELETE /api/v1/databases', () => {
  const get = (token = tokens.lab) =>
    app.inject({ method: 'GET', url: '/api/v1/databases', headers: { authorization: `Bearer ${token}` } });
  const remove = (name: string, query = '?confirm=true', token = tokens.lab) =>
    app.inject({
      method: 'DELETE',
      url: `/api/v1/databases/${name}${query}`,
      headers: { authorization: `Bearer ${token}` },
    });
  const names = async (token = tokens.lab) =>
    ((await get(token)).json().databases as { name: string }[]).map((d) => d.name);

  it('creates a database (201); an existing name is 409, a name breaking the rule 400', async () => {
    const created = await post('/api/v1/databases', { name: 'alpha' }, tokens.lab);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toEqual({
      success: true,
      database: { name: 'alpha', measurement_count: 0, created_at: expect.any(String) },
    });
    expect(Math.abs(Date.parse(created.json().database.created_at) - Date.now())).toBeLessThan(60_000);
    expect(await names()).toContain('alpha');
    expect((await post('/api/v1/query', { sql: 'SHOW DATABASES' }, tokens.lab)).json().data).toContainEqual([
      'alpha',
    ]);

    const twice = await post('/api/v1/databases', { name: 'alpha' }, tokens.lab);
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ success: false, code: 'DATABASE_EXISTS' });
    expect(twice.json().error).toContain('alpha');
    // DuckDB would resolve ALPHA to alpha: a name differing only in case is refused.
    const upper = await post('/api/v1/databases', { name: 'ALPHA' }, tokens.lab);
    expect(upper.statusCode).toBe(409);
    expect(upper.json()).toMatchObject({ success: false, code: 'NAME_CASE_CONFLICT' });
    expect(upper.json().error).toContain('database alpha');
    expect(await names()).not.toContain('ALPHA');

    for (const name of ['9lives', 'has space', '../etc', 'x'.repeat(65), '']) {
      const bad = await post('/api/v1/databases', { name }, tokens.lab);
      expect(bad.statusCode, name).toBe(400);
      expect(bad.json(), name).toMatchObject({ success: false, code: 'VALIDATION_ERROR' });
      expect(bad.json().error, name).toContain(
        'a database name is a letter, then up to 63 letters, digits, _ or -',
      );
    }
    const noName = await post('/api/v1/databases', {}, tokens.lab);
    expect(noName.statusCode).toBe(400);
    expect(noName.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(noName.json().error).toContain('name');
  });

  it('needs a token with admin permission that may use the database', async () => {
    const anonymous = await app.inject({
      method: 'POST',
      url: '/api/v1/databases',
      payload: { name: 'beta' },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json()).toMatchObject({ code: 'UNAUTHORIZED' });
    const reader = await post('/api/v1/databases', { name: 'beta' }, tokens.labReader);
    expect(reader.statusCode).toBe(403);
    expect(reader.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(reader.json().error).toContain('admin');
    const scoped = await post('/api/v1/databases', { name: 'beta' }, tokens.labAlphaAdmin);
    expect(scoped.statusCode).toBe(403);
    expect(scoped.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(scoped.json().error).toContain('beta');
    expect(await names()).not.toContain('beta');
    // The scoped token lists only its database.
    expect(await names(tokens.labAlphaAdmin)).toEqual(['alpha']);
  });

  it('DELETE needs ?confirm=true (400), admin permission and the database in the token’s scope; a missing one is 404', async () => {
    await post('/api/v1/databases', { name: 'keep' }, tokens.lab);
    for (const query of ['', '?confirm=false', '?confirm=1', '?confirm=TRUE']) {
      const unconfirmed = await remove('keep', query);
      expect(unconfirmed.statusCode, query).toBe(400);
      expect(unconfirmed.json(), query).toMatchObject({ success: false, code: 'CONFIRM_REQUIRED' });
      expect(unconfirmed.json().error, query).toContain('confirm=true');
    }
    const reader = await remove('keep', '?confirm=true', tokens.labReader);
    expect(reader.statusCode).toBe(403);
    expect(reader.json()).toMatchObject({ code: 'FORBIDDEN' });
    const scoped = await remove('keep', '?confirm=true', tokens.labAlphaAdmin);
    expect(scoped.statusCode).toBe(403);
    expect(scoped.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect(scoped.json().error).toContain('keep');
    const anonymous = await app.inject({ method: 'DELETE', url: '/api/v1/databases/keep?confirm=true' });
    expect(anonymous.statusCode).toBe(401);
    expect(await names()).toContain('keep');

    const missing = await remove('nothere');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ success: false, code: 'DATABASE_NOT_FOUND' });
    expect(missing.json().error).toContain('nothere');
    const bad = await remove('9lives');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    // Another tenant's database of the same name is not this tenant's.
    expect((await remove('metrics', '?confirm=true', tokens.lab)).statusCode).toBe(404);
    expect((await post('/api/v1/query', { sql: 'SHOW DATABASES' })).json().data).toContainEqual(['metrics']);
  });

  it('DELETE drops the database with its tables in one commit; time travel still reads them', async () => {
    const scopedDrop = await remove('alpha', '?confirm=true', tokens.labAlphaAdmin);
    expect(scopedDrop.statusCode, scopedDrop.body).toBe(200);
    expect(scopedDrop.json()).toMatchObject({ success: true, measurements_dropped: 0 });

    await createDataTable(lab(), 'gamma', 'readings', { tags: ['room'], fields: { c: 'float64' } });
    await addReadings('gamma', 'h0', 0, 30);
    const sql = 'SELECT count(*) AS n FROM gamma.readings';
    const before = await post('/api/v1/query', { sql }, tokens.lab);
    expect(before.json().data).toEqual([[30]]);
    const [key] = await fixture.keys('lab', 'gamma', 'readings');

    const dropped = await remove('gamma');
    expect(dropped.statusCode, dropped.body).toBe(200);
    expect(dropped.json()).toEqual({
      success: true,
      message: 'database gamma deleted with its 1 measurement',
      measurements_dropped: 1,
      catalog_version: versionOf(before) + 1,
    });
    expect(await names()).not.toContain('gamma');
    const after = await post('/api/v1/query', { sql }, tokens.lab);
    expect(after.statusCode).toBe(404);
    expect(after.json()).toMatchObject({ code: 'TABLE_NOT_FOUND' });
    const again = await remove('gamma');
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: 'DATABASE_NOT_FOUND' });

    // The data files stay until retention removes old versions: the version before the drop reads them.
    expect(await fixture.store.head(key!)).toBeDefined();
    const old = await post('/api/v1/query', { sql, as_of: { version: versionOf(before) } }, tokens.lab);
    expect(old.statusCode, old.body).toBe(200);
    expect(old.json().data).toEqual([[30]]);

    // The name is free again.
    expect((await post('/api/v1/databases', { name: 'gamma' }, tokens.lab)).statusCode).toBe(201);
    expect((await get()).json().databases).toContainEqual(
      expect.objectContaining({ name: 'gamma', measurement_count: 0 }),
    );
  });
});

describe('limits', () => {
  it('an answer past maxRows or maxBytes is refused with 413 naming the limit; a slow query is stopped with 408', async () => {
    await reopen({ limits: { maxRows: 1000, maxBytes: 64 * 1024 * 1024 }, timeoutMs: 1_000 });
    const rows = await post('/api/v1/query', { sql: 'SELECT * FROM metrics.cpu' });
    expect(rows.statusCode).toBe(413);
    expect(rows.json()).toMatchObject({ code: 'RESULT_TOO_LARGE', columns: null });
    expect(rows.json().error).toContain('maxRows');
    const arrow = await post('/api/v1/query/arrow', { sql: 'SELECT * FROM metrics.cpu' });
    expect(arrow.statusCode).toBe(413);
    const slow = await post('/api/v1/query', { sql: 'SELECT count(*) FROM range(10000000000) a' });
    expect(slow.statusCode).toBe(408);
    expect(slow.json()).toMatchObject({ code: 'QUERY_TIMEOUT' });
    expect(slow.json().error).toContain('timeoutMs');
  });

  it('a JSON answer nothing bounds is computed only one row past maxRows: 413, not a timeout', async () => {
    // JSON answers are computed in one DuckDB call, capped at maxRows + 1 rows. Uncapped, these
    // ten billion rows would outlast the 1 s timeout (408).
    await reopen({ limits: { maxRows: 1000, maxBytes: 64 * 1024 * 1024 }, timeoutMs: 1_000 });
    const many = await post('/api/v1/query', {
      sql: 'SELECT range AS n, range AS n FROM range(10000000000)',
    });
    expect(many.statusCode).toBe(413);
    expect(many.json()).toMatchObject({ code: 'RESULT_TOO_LARGE' });
    // Under the limit, the capped statement answers as written: its columns (one name twice) and order.
    const few = await post('/api/v1/query', {
      sql: 'SELECT range AS n, range AS n FROM range(1000) ORDER BY 1 DESC;',
    });
    expect(few.statusCode).toBe(200);
    expect(few.json().columns).toEqual(['n', 'n']);
    expect(few.json().data).toEqual(Array.from({ length: 1000 }, (_, i) => [999 - i, 999 - i]));
    // A capped statement over tables (rendered from the tree, references inlined): a self-join's
    // bound is far past 1,001 rows, its answer is per host; Arrow streams it uncapped.
    const perHost = {
      sql: 'SELECT a.host, count(*) AS n FROM metrics.cpu a JOIN metrics.cpu b USING (host, time) GROUP BY a.host ORDER BY a.host;',
    };
    const capped = await post('/api/v1/query', perHost);
    expect(capped.statusCode).toBe(200);
    const streamed = tableFromIPC((await post('/api/v1/query/arrow', perHost)).rawPayload);
    expect(capped.json().data.length).toBeGreaterThan(1);
    expect(capped.json().data).toEqual(streamed.toArray().map((row) => [row.host, Number(row.n)]));
  });
});

/** A POST over a real socket, reporting whether the answer ended properly (its last chunk arrived). */
function postOverHttp(
  port: number,
  url: string,
  body: unknown,
  token = tokens.acme,
): Promise<{ status: number; headers: Record<string, unknown>; body: string; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: url,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        const pieces: Buffer[] = [];
        res.on('data', (piece: Buffer) => pieces.push(piece));
        // A cut connection emits 'error' (aborted) on the response; 'close' follows either way.
        res.on('error', () => undefined);
        res.on('close', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(pieces).toString('utf8'),
            complete: res.complete,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('a limit passed after the status went out', () => {
  // 60,000 rows of ~70 bytes: the first MiB (about 15,000 rows) goes out before the limit is passed.
  const all = 'SELECT time, host, region, usage, procs, busy FROM metrics.cpu ORDER BY time, host';
  const totalRows = DAYS * HOURS_PER_DAY.length * ROWS_PER_FILE;
  let port: number;

  beforeAll(async () => {
    await reopen({ limits: { maxRows: 40_000, maxBytes: 64 * 1024 * 1024 } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });

  it('cuts the CSV stream short: the client sees an incomplete answer, never a complete-looking CSV', async () => {
    const res = await postOverHttp(port, '/api/v1/query/stream', { sql: all });
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.complete).toBe(false);
    const lines = res.body.split('\n');
    expect(lines[0]).toBe('time,host,region,usage,procs,busy');
    expect(lines.length).toBeGreaterThan(10_000);
    expect(lines.length).toBeLessThan(totalRows);
    // fetch reports it as an error too.
    const fetched = await fetch(`http://127.0.0.1:${port}/api/v1/query/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: all }),
    });
    expect(fetched.status).toBe(200);
    await expect(fetched.text()).rejects.toThrow();
    // A cut answer is not cached.
    expect((await postOverHttp(port, '/api/v1/query/stream', { sql: all })).headers['x-weir-cache']).toBe(
      'miss',
    );
  });

  it('an Arrow stream is cut the same way; a limit passed in the first MiB is a proper 413', async () => {
    const arrow = await postOverHttp(port, '/api/v1/query/arrow', { sql: all });
    expect(arrow.status).toBe(200);
    expect(arrow.complete).toBe(false);
    // Short lines: 40,000 rows fit in the first MiB, so the limit is passed before the status goes out.
    const early = await postOverHttp(port, '/api/v1/query/stream', {
      sql: 'SELECT i FROM range(100000) t(i)',
    });
    expect(early.status).toBe(413);
    expect(early.complete).toBe(true);
    expect(JSON.parse(early.body)).toMatchObject({ success: false, code: 'RESULT_TOO_LARGE', columns: null });
    const withinLimit = await postOverHttp(port, '/api/v1/query/stream', {
      sql: `${all.replace(' ORDER BY time, host', '')} WHERE time < '${day(10)}' ORDER BY time, host`,
    });
    expect(withinLimit.status).toBe(200);
    expect(withinLimit.complete).toBe(true);
    expect(withinLimit.body.trimEnd().split('\n')).toHaveLength(
      1 + 10 * HOURS_PER_DAY.length * ROWS_PER_FILE,
    );
    const json = await postOverHttp(port, '/api/v1/query', { sql: oneHour, database: 'metrics' });
    expect(json.status, json.body.slice(0, 300)).toBe(200);
    expect(JSON.parse(json.body)).toMatchObject({ success: true, row_count: ROWS_PER_FILE });
  });

  it('a client that goes away stops its query', async () => {
    const run = vi.spyOn(service, 'run');
    try {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/query',
        headers: { authorization: `Bearer ${tokens.acme}`, 'content-type': 'application/json' },
      });
      req.on('error', () => undefined);
      req.end(JSON.stringify({ sql: 'SELECT count(*) FROM range(10000000000) a' }));
      const started = Date.now();
      while (run.mock.results.length === 0 && Date.now() - started < 10_000)
        await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 200));
      req.destroy();
      await expect(run.mock.results[0]!.value).rejects.toMatchObject({ code: 'CLIENT_CLOSED_REQUEST' });
      // Counting 10^10 rows on one thread takes far longer than this.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      run.mockRestore();
    }
  });
});
