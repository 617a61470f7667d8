/**
 * The query endpoints over HTTP (ARC-COMPAT.md "Queries"): Arc's JSON shape, Arrow IPC that
 * apache-arrow reads back with its types, streamed CSV, estimate, listings, time travel, limits,
 * token scopes and tenants.
 */
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../services/api/index.js';
import type { TokenService } from '../../services/auth/index.js';
import { QueryService, queryFilesFor } from '../../services/query/index.js';
import { bootstrapTestAuth } from '../helpers/auth.js';
import { BASE_US, HOUR_US } from '../helpers/data-files.js';
import { createQueryFixture, DAYS, HOURS_PER_DAY, type QueryFixture, ROWS_PER_FILE } from './fixture.js';

let fixture: QueryFixture;
let service: QueryService;
let app: FastifyInstance;
let auth: TokenService;
const tokens: Record<'acme' | 'other' | 'opsReader' | 'writer', string> = {
  acme: '',
  other: '',
  opsReader: '',
  writer: '',
};

async function open(limits = { maxRows: 100_000, maxBytes: 64 * 1024 * 1024 }, timeoutMs = 30_000) {
  service = await QueryService.open({
    catalogs: fixture.catalogs,
    files: queryFilesFor(fixture.store, join(fixture.dir, 'cache'), 1 << 30),
    engine: { threads: 1, maxInstances: 4 },
    timeoutMs,
  });
  app = await buildApp({
    logger: pino({ level: 'silent' }),
    version: 'test',
    readiness: [],
    auth,
    query: { service, catalogs: fixture.catalogs, limits },
  });
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
    expect((await post('/api/v1/query', { sql: 'SHOW DATABASES' }, tokens.opsReader)).statusCode).toBe(200);
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
});

describe('limits', () => {
  it('an answer past maxRows or maxBytes is refused with 413 naming the limit; a slow query is stopped with 408', async () => {
    await app.close();
    service.close();
    await open({ maxRows: 1000, maxBytes: 64 * 1024 * 1024 }, 1_000);
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
});
