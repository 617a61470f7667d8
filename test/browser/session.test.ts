/**
 * Browser sessions and the catalog's versions over real HTTP (DESIGN.md §7; ADR 0023): an SQL
 * session is pinned, guarded, resolved and pruned like a server query and answers the statement
 * with placeholders and the columns it may read; a tables session answers whole tables; URLs are
 * only for the tables asked for, of the caller's tenant, within the token's databases; bad bodies
 * and refused statements are named 4xx; as_of reads an older version's files; the TTL is honoured.
 * The SDK's calls answer the same. On S3 (moto over HTTP) the URLs are presigned GetObjects that
 * Node fetches straight from the bucket.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ObjectStore, S3ObjectStore, S3UrlSigner, tableKey, unixSeconds } from '../../catalog/index.js';
import type { S3StoreConfig } from '../../catalog/store/index.js';
import { WeirClient } from '../../sdk/index.js';
import { BrowserSessions } from '../../services/browser/index.js';
import { writeDataFiles } from '../helpers/data-files.js';
import { createTestBucket, removeTestBucket, s3EndpointForTests } from '../helpers/s3.js';
import {
  CPU_HOURS,
  call,
  hourIso,
  hourUs,
  postSession,
  ROWS_PER_FILE,
  type SignedFixture,
  startSignedFixture,
  TTL,
} from './signed-fixture.js';

let fixture: SignedFixture;

beforeAll(async () => {
  fixture = await startSignedFixture();
}, 120_000);

afterAll(async () => {
  await fixture?.close();
});

const session = (body: unknown, token = fixture.tokens.acme) => postSession(fixture.url, body, token);
const fetchUrl = (url: string) => fetch(url.startsWith('/') ? `${fixture.url}${url}` : url);
const headVersion = async (tenant = 'acme') => (await fixture.catalogs.forTenant(tenant).refresh()).version;

describe('POST /api/v1/browser/session with sql', () => {
  it('pins the head, prunes to the hour the statement asks for and answers the statement with placeholders', async () => {
    const sql = `SELECT host, avg(usage) AS u FROM cpu WHERE time >= '${hourIso(2)}' AND time < '${hourIso(3)}' GROUP BY host`;
    const before = unixSeconds();
    const { status, body } = await session({ sql, database: 'metrics' });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.success).toBe(true);
    expect(body.version).toBe(await headVersion());
    const expiresAt = Date.parse(body.expires_at) / 1000;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 300);
    expect(expiresAt).toBeLessThanOrEqual(unixSeconds() + 300);

    expect(body.tables).toHaveLength(1);
    const [table] = body.tables;
    expect(table).toMatchObject({
      database: 'metrics',
      table: 'cpu',
      columns: [
        { name: 'time', type: 'timestamp' },
        { name: 'host', type: 'string' },
        { name: 'usage', type: 'float64' },
        { name: 'procs', type: 'int64' },
      ],
      read_columns: ['time', 'host', 'usage'],
      time_range: { from: hourUs(2), to: hourUs(3) - 1 },
      table_files: CPU_HOURS,
    });
    expect(table!.name).toMatch(/^__weir\d*_t0$/);
    expect(body.sql).toContain(table!.name);
    expect(body.sql).not.toMatch(/\bFROM\s+cpu\b/i);
    expect(body.sql).toContain('GROUP BY host');

    expect(table!.files).toHaveLength(1);
    const [file] = table!.files;
    const key = 'tenants/acme/data/metrics/cpu/date=2026-03-01/hour=02/h2.parquet';
    const stored = Buffer.from(await fixture.store.get(key));
    expect(file).toEqual({
      url: expect.stringMatching(new RegExp(`^/files/${key}\\?exp=${expiresAt}&sig=[\\w-]{43}$`)),
      rows: ROWS_PER_FILE,
      bytes: stored.length,
      min_time: '2026-03-01T02:00:00.000000Z',
      max_time: `2026-03-01T02:00:${String(ROWS_PER_FILE - 1).padStart(2, '0')}.000000Z`,
      min_time_us: hourUs(2),
      max_time_us: hourUs(2) + (ROWS_PER_FILE - 1) * 1_000_000,
      partition: 'date=2026-03-01/hour=02',
    });
    // The URL reads that very file.
    const res = await fetchUrl(file!.url);
    expect(Buffer.from(await res.arrayBuffer()).equals(stored)).toBe(true);
  });

  it('answers the columns each statement shape may read', async () => {
    const all = ['time', 'host', 'usage', 'procs'];
    const cases: [string, string[]][] = [
      ['SELECT * FROM cpu', all],
      ['SELECT c.* FROM cpu c', all],
      ["SELECT COLUMNS('us.*') FROM cpu", all],
      ['SELECT max(COLUMNS(*)) FROM cpu', all],
      ['SELECT * EXCLUDE (procs) FROM cpu', all],
      // The table's name as a column is its whole row.
      ['SELECT cpu FROM cpu', all],
      // A column by position may be any of them.
      ['SELECT #2 FROM cpu', all],
      ['SELECT count(*) FROM cpu', ['time']],
      ['SELECT HOST, max(Usage) FROM cpu GROUP BY ALL', ['time', 'host', 'usage']],
      ['SELECT cpu.procs FROM metrics.cpu WHERE host = $$h1$$', ['time', 'host', 'procs']],
      ['SELECT x FROM (SELECT procs * 2 AS x FROM cpu) s', ['time', 'procs']],
    ];
    for (const [sql, expected] of cases) {
      const { status, body } = await session({ sql, database: 'metrics' });
      expect(status, `${sql}: ${JSON.stringify(body)}`).toBe(200);
      expect(body.tables[0]!.read_columns, sql).toEqual(expected);
      // No time predicate: every file, unbounded.
      expect(body.tables[0]!.time_range, sql).toEqual({ from: null, to: null });
      expect(body.tables[0]!.files, sql).toHaveLength(CPU_HOURS);
    }
  });

  it('answers each reference of a join with its own placeholder, files and columns', async () => {
    const sql = `SELECT c.host, avg(m.used) FROM cpu c JOIN mem m USING (host)
      WHERE c.time BETWEEN '${hourIso(1)}' AND '${hourIso(1)}'::TIMESTAMP + INTERVAL 59 MINUTE GROUP BY c.host`;
    const { status, body } = await session({ sql, database: 'metrics' });
    expect(status, JSON.stringify(body)).toBe(200);
    const [cpu, mem] = body.tables;
    expect([cpu!.table, mem!.table]).toEqual(['cpu', 'mem']);
    expect(cpu!.name).not.toBe(mem!.name);
    for (const t of body.tables) expect(body.sql).toContain(t.name);
    expect(cpu!.files.map((f) => f.partition)).toEqual(['date=2026-03-01/hour=01']);
    expect(cpu!.time_range).toEqual({ from: hourUs(1), to: hourUs(1) + 59 * 60_000_000 });
    // The mem reference has no predicate of its own: all its files.
    expect(mem!.files).toHaveLength(2);
    expect(mem!.time_range).toEqual({ from: null, to: null });
    expect(cpu!.read_columns).toEqual(['time', 'host']);
    expect(mem!.read_columns).toEqual(['time', 'host', 'used']);
    for (const f of cpu!.files) expect(f.url).toContain('/metrics/cpu/');
    for (const f of mem!.files) expect(f.url).toContain('/metrics/mem/');
  });
});

describe('POST /api/v1/browser/session with tables', () => {
  it('answers every file and column of each table, without a statement', async () => {
    const { status, body } = await session({ tables: ['cpu', 'metrics.mem', 'CPU'], database: 'metrics' });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.sql).toBeUndefined();
    expect(body.tables.map((t) => `${t.database}.${t.table}`)).toEqual(['metrics.cpu', 'metrics.mem']);
    const [cpu, mem] = body.tables;
    expect(cpu!.name).toBeUndefined();
    expect(cpu!.read_columns).toEqual(['time', 'host', 'usage', 'procs']);
    expect(mem!.read_columns).toEqual(['time', 'host', 'used']);
    expect(cpu!.time_range).toEqual({ from: null, to: null });
    expect(cpu!.files).toHaveLength(CPU_HOURS);
    expect(cpu!.table_files).toBe(CPU_HOURS);
    expect(mem!.files).toHaveLength(2);
  });

  it('takes bare names from x-arc-database, else default', async () => {
    const res = await call(fixture.url, '/api/v1/browser/session', fixture.tokens.acme, {
      method: 'POST',
      headers: { 'x-arc-database': 'ops' },
      body: JSON.stringify({ tables: ['deploys'] }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { tables: { database: string }[] }).tables[0]!.database).toBe('ops');
    const none = await session({ tables: ['deploys'] });
    expect(none.status).toBe(404);
    expect(none.body).toMatchObject({
      code: 'TABLE_NOT_FOUND',
      error: expect.stringContaining('default.deploys'),
    });
  });

  it('a session for one table holds no URL of another', async () => {
    const { body } = await session({ tables: ['metrics.mem'] });
    const urls = body.tables.flatMap((t) => t.files.map((f) => f.url));
    expect(urls).toHaveLength(2);
    for (const url of urls) expect(url).toMatch(/^\/files\/tenants\/acme\/data\/metrics\/mem\//);
  });
});

describe('tenancy and token scope', () => {
  it('answers only the caller tenant’s files; another tenant’s table is not found', async () => {
    const theirs = await session({ tables: ['metrics.cpu'] }, fixture.tokens.other);
    expect(theirs.status).toBe(200);
    const urls = theirs.body.tables[0]!.files.map((f) => f.url);
    expect(urls).toHaveLength(2);
    for (const url of urls) expect(url).toMatch(/^\/files\/tenants\/other\//);
    // Same file names, other bytes: the URL reads other's object.
    const key = new URL(urls[0]!, fixture.url).pathname.slice('/files/'.length);
    const res = await fetchUrl(urls[0]!);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(await fixture.store.get(key)))).toBe(true);

    for (const body of [
      { tables: ['ops.deploys'] },
      { tables: ['metrics.mem'] },
      { sql: 'SELECT * FROM ops.deploys' },
      { sql: 'SELECT * FROM metrics.cpu JOIN metrics.mem USING (host)' },
    ]) {
      const answer = await session(body, fixture.tokens.other);
      expect(answer.status, JSON.stringify(body)).toBe(404);
      expect(answer.body).toMatchObject({ success: false, code: 'TABLE_NOT_FOUND' });
      expect(JSON.stringify(answer.body)).not.toContain('/files/');
    }
    // A tenant's name in the request changes nothing: names are `db.table` of the token's tenant.
    const named = await session({ tables: ['acme.metrics.cpu'] }, fixture.tokens.other);
    expect(named.status).toBe(400);
    expect(named.body.code).toBe('INVALID_NAME');
  });

  it('needs a read token allowed every database the session reads', async () => {
    const scoped = fixture.tokens.opsReader;
    expect((await session({ tables: ['ops.deploys'] }, scoped)).status).toBe(200);
    for (const body of [
      { tables: ['metrics.cpu'] },
      { tables: ['ops.deploys', 'metrics.mem'] },
      { sql: 'SELECT * FROM ops.deploys d JOIN metrics.cpu c USING (host)' },
    ]) {
      const answer = await session(body, scoped);
      expect(answer.status, JSON.stringify(body)).toBe(403);
      expect(answer.body.code).toBe('FORBIDDEN');
      expect(JSON.stringify(answer.body)).not.toContain('/files/');
    }
    expect((await session({ tables: ['metrics.cpu'] }, fixture.tokens.writer)).status).toBe(403);
    expect((await postSession(fixture.url, { tables: ['metrics.cpu'] }, undefined)).status).toBe(401);
  });

  it('never hands out URLs that outlive the token that asked for them', async () => {
    const { token } = await fixture.auth.create('acme', {
      name: 'brief',
      permissions: ['read'],
      expiresInSeconds: 120,
    });
    const tokenExpiry = unixSeconds() + 120;
    const answer = await session({ tables: ['metrics.cpu'], ttl_seconds: 3600 }, token);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const expiresAt = Date.parse(answer.body.expires_at) / 1000;
    expect(expiresAt).toBeLessThanOrEqual(tokenExpiry);
    expect(expiresAt).toBeGreaterThanOrEqual(tokenExpiry - 5);
    for (const file of answer.body.tables[0]!.files)
      expect(new URL(file.url, fixture.url).searchParams.get('exp')).toBe(String(expiresAt));
    expect((await session({ tables: ['metrics.cpu'] }, 'weir_not-a-token')).status).toBe(401);
  });

  it('refuses with 401 a token that expires in the second it asks: no URL could be used', async () => {
    const now = 1_800_000_000;
    const sessions = new BrowserSessions({
      query: fixture.query,
      signer: fixture.signer,
      ttl: TTL,
      now: () => now * 1000 + 400,
    });
    const ask = (notAfter: number) =>
      sessions.create({ tenant: 'acme', database: 'metrics', tables: ['cpu'], notAfter });
    await expect(ask(now)).rejects.toMatchObject({ code: 'TOKEN_EXPIRING', httpStatus: 401 });
    expect((await ask(now + 1)).expiresAt).toBe(now + 1);
  });
});

describe('bad requests', () => {
  it('answers a named 4xx for each', async () => {
    const cases: [unknown, number, string, RegExp?][] = [
      [
        { tables: ['cpu'], sql: 'SELECT 1', database: 'metrics' },
        400,
        'VALIDATION_ERROR',
        /exactly one of tables and sql/,
      ],
      [{ database: 'metrics' }, 400, 'VALIDATION_ERROR', /exactly one of tables and sql/],
      [{ tables: [] }, 400, 'VALIDATION_ERROR', /tables/],
      [{ tables: ['metrics.cpu'], ttl_seconds: 3601 }, 400, 'VALIDATION_ERROR', /ttl_seconds/],
      [{ tables: ['metrics.cpu'], ttl_seconds: 0 }, 400, 'VALIDATION_ERROR', /ttl_seconds/],
      [{ tables: ['metrics.cpu'], ttl_seconds: 1.5 }, 400, 'VALIDATION_ERROR', /ttl_seconds/],
      [{ tables: ['metrics.cpu'], tll_seconds: 60 }, 400, 'VALIDATION_ERROR', /tll_seconds/],
      [{ sql: '' }, 400, 'VALIDATION_ERROR', /sql/],
      [{ tables: ['metrics.nope'] }, 404, 'TABLE_NOT_FOUND', /metrics\.nope/],
      [{ sql: 'SELECT * FROM metrics.nope' }, 404, 'TABLE_NOT_FOUND', /metrics\.nope/],
      [{ tables: ['metrics.cpu;drop'] }, 400, 'INVALID_NAME'],
      [{ tables: ['a.b.c'] }, 400, 'INVALID_NAME'],
      [{ sql: "SELECT * FROM read_csv('/etc/passwd')" }, 400, 'QUERY_REFUSED', /read_csv/],
      [{ sql: 'DELETE FROM metrics.cpu' }, 400, 'QUERY_REFUSED'],
      [{ sql: 'SELECT FROM WHERE' }, 400, 'INVALID_SQL'],
      [{ sql: 'SHOW TABLES', database: 'metrics' }, 400, 'UNSUPPORTED_STATEMENT', /POST \/api\/v1\/query/],
      [{ sql: 'SHOW TABLES FROM nope' }, 404, 'DATABASE_NOT_FOUND'],
      [{ tables: ['metrics.cpu'], as_of: { version: 100_000 } }, 404, 'VERSION_NOT_FOUND'],
      [{ tables: ['metrics.cpu'], as_of: { timestamp: 'yesterday-ish' } }, 400, 'INVALID_TIMESTAMP'],
      [{ tables: ['metrics.cpu'], as_of: { version: -1 } }, 400, 'VALIDATION_ERROR', /as_of/],
      [{ tables: ['metrics.cpu'], database: 'bad name' }, 400, 'INVALID_NAME'],
    ];
    for (const [body, status, code, message] of cases) {
      const answer = await session(body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body, JSON.stringify(body)).toMatchObject({
        success: false,
        code,
        error: expect.any(String),
      });
      if (message) expect(answer.body.error, JSON.stringify(body)).toMatch(message);
    }
    const notJson = await call(fixture.url, '/api/v1/browser/session', fixture.tokens.acme, {
      method: 'POST',
      body: '{"tables": [',
    });
    expect(notJson.status).toBe(400);
  });
});

describe('time travel and lifetimes', () => {
  it('as_of answers the files of the older version', async () => {
    const before = await headVersion();
    await writeDataFiles({
      store: fixture.store,
      catalog: fixture.catalogs.forTenant('acme'),
      database: 'metrics',
      table: 'disk',
      files: [{ fileId: 'h1', rows: [{ time: hourUs(1), host: 'h1', free: 2 }] }],
    });
    const now = await session({ tables: ['metrics.disk'] });
    expect(now.body.version).toBeGreaterThan(before);
    expect(now.body.tables[0]!.files.map((f) => f.partition)).toEqual([
      'date=2026-03-01/hour=00',
      'date=2026-03-01/hour=01',
    ]);
    for (const asOf of [{ version: before }, { timestamp: new Date().toISOString() }]) {
      const old = await session({ tables: ['metrics.disk'], as_of: asOf });
      expect(old.status, JSON.stringify(old.body)).toBe(200);
      if ('version' in asOf) {
        expect(old.body.version).toBe(before);
        expect(old.body.tables[0]!.files.map((f) => f.partition)).toEqual(['date=2026-03-01/hour=00']);
        expect(old.body.tables[0]!.table_files).toBe(1);
      } else expect(old.body.version).toBe(now.body.version);
    }
    const sql = await session({ sql: 'SELECT free FROM metrics.disk', as_of: { version: before } });
    expect(sql.body.tables[0]!.files).toHaveLength(1);
  });

  it('honours ttl_seconds: every URL expires when the session says', async () => {
    const before = unixSeconds();
    const { body } = await session({ tables: ['metrics.cpu', 'metrics.mem'], ttl_seconds: 60 });
    const expiresAt = Date.parse(body.expires_at) / 1000;
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60);
    expect(expiresAt).toBeLessThanOrEqual(unixSeconds() + 60);
    const urls = body.tables.flatMap((t) => t.files.map((f) => f.url));
    expect(urls).toHaveLength(CPU_HOURS + 2);
    for (const url of urls) expect(new URL(url, fixture.url).searchParams.get('exp')).toBe(String(expiresAt));
    const res = await fetchUrl(urls[0]!);
    expect(res.headers.get('cache-control')).toMatch(/^public, max-age=(5\d|60), immutable$/);
    const longest = await session({ tables: ['metrics.cpu'], ttl_seconds: 3600 });
    expect(Date.parse(longest.body.expires_at) / 1000).toBeGreaterThanOrEqual(before + 3600);
  });
});

describe('GET /api/v1/catalog/versions', () => {
  it('answers the tenant’s commits newest first', async () => {
    const head = await headVersion();
    const res = await call(fixture.url, '/api/v1/catalog/versions?limit=3', fixture.tokens.acme);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: true; versions: Record<string, unknown>[] };
    expect(body.success).toBe(true);
    expect(body.versions.map((v) => v.version)).toEqual([head, head - 1, head - 2]);
    for (const v of body.versions) {
      expect(v).toEqual({
        version: expect.any(Number),
        committed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        operation: null,
        author: null,
        run_id: null,
        action_count: expect.any(Number),
      });
      expect(v.action_count).toBeGreaterThan(0);
    }
    const times = body.versions.map((v) => Date.parse(String(v.committed_at)));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const all = (await (
      await call(fixture.url, '/api/v1/catalog/versions', fixture.tokens.acme)
    ).json()) as typeof body;
    expect(all.versions.map((v) => v.version)).toEqual(Array.from({ length: head }, (_, i) => head - i));

    // Another tenant has its own history.
    const theirs = (await (
      await call(fixture.url, '/api/v1/catalog/versions', fixture.tokens.other)
    ).json()) as typeof body;
    expect(theirs.versions[0]!.version).toBe(await headVersion('other'));
    expect(theirs.versions).toHaveLength(await headVersion('other'));

    for (const query of ['?limit=0', '?limit=1001', '?limit=x']) {
      const bad = await call(fixture.url, `/api/v1/catalog/versions${query}`, fixture.tokens.acme);
      expect(bad.status, query).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
    expect((await call(fixture.url, '/api/v1/catalog/versions', undefined)).status).toBe(401);
    expect((await call(fixture.url, '/api/v1/catalog/versions', fixture.tokens.writer)).status).toBe(403);
    // The history spans every database: a token limited to some of them may not list it.
    const scoped = await call(fixture.url, '/api/v1/catalog/versions', fixture.tokens.opsReader);
    expect(scoped.status).toBe(403);
    expect(await scoped.json()).toMatchObject({
      code: 'FORBIDDEN',
      error: expect.stringContaining('reads only ops'),
    });
  });

  it('records who made a commit and why when the commit says', async () => {
    const catalog = fixture.catalogs.forTenant('acme');
    await catalog.commit([{ op: 'createDatabase', database: 'scratch' }], {
      author: 'tok_test',
      runId: 'run-1',
      operation: 'ddl',
    });
    const res = await call(fixture.url, '/api/v1/catalog/versions?limit=1', fixture.tokens.acme);
    const [latest] = ((await res.json()) as { versions: Record<string, unknown>[] }).versions;
    expect(latest).toMatchObject({
      version: await headVersion(),
      operation: 'ddl',
      author: 'tok_test',
      run_id: 'run-1',
      action_count: 1,
    });
  });
});

describe('the OpenAPI document', () => {
  it('lists the browser routes', async () => {
    const doc = (await (await fetch(`${fixture.url}/docs/json`)).json()) as { paths: Record<string, object> };
    expect(Object.keys(doc.paths['/api/v1/browser/session']!)).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/v1/catalog/versions']!)).toEqual(['get']);
    expect(Object.keys(doc.paths['/files/{*}'] ?? doc.paths['/files/*'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'head']),
    );
  });
});

describe('the SDK', () => {
  it('browserSession and catalogVersions answer what the API does', async () => {
    const client = new WeirClient({ url: fixture.url, token: fixture.tokens.acme, database: 'metrics' });
    const sql = `SELECT count(*) FROM cpu WHERE time >= '${hourIso(4)}'`;
    const answer = await client.browserSession({ sql, ttlSeconds: 120 });
    expect(answer.tables[0]!.files.map((f) => f.partition)).toEqual([
      'date=2026-03-01/hour=04',
      'date=2026-03-01/hour=05',
    ]);
    expect(answer.tables[0]!.read_columns).toEqual(['time']);
    expect(answer.sql).toContain(answer.tables[0]!.name);
    const { body } = await session({ sql, database: 'metrics' });
    expect(answer.version).toBe(body.version);

    const tables = await client.browserSession({ tables: ['cpu'], asOf: { version: 2 } });
    expect(tables.version).toBe(2);
    const versions = await client.catalogVersions({ limit: 2 });
    expect(versions.map((v) => v.version)).toEqual([await headVersion(), (await headVersion()) - 1]);
    await expect(client.browserSession({ tables: ['nope'] })).rejects.toMatchObject({ status: 404 });
  });
});

describe('on S3', () => {
  let bucket: S3StoreConfig | undefined;
  let s3: S3ObjectStore | undefined;
  let api: string;

  beforeAll(async () => {
    bucket = await createTestBucket(s3EndpointForTests());
    s3 = new S3ObjectStore({ ...bucket, prefix: 'lake' });
    // The same catalogs and data files, on S3 (under a key prefix).
    for await (const object of fixture.store.listAll('tenants/'))
      await s3.put(object.key, await fixture.store.get(object.key));
    api = await fixture.openApi({
      store: s3 as ObjectStore,
      signer: new S3UrlSigner(s3),
      cacheDir: join(fixture.dir, 's3-cache'),
    });
  }, 120_000);

  afterAll(async () => {
    await s3?.close();
    if (bucket) await removeTestBucket(bucket);
  });

  it('answers presigned GetObject URLs of the store’s endpoint that Node fetches', async () => {
    const sql = `SELECT avg(usage) FROM cpu WHERE time >= '${hourIso(3)}' AND time < '${hourIso(4)}'`;
    const before = unixSeconds();
    const { status, body } = await postSession(
      api,
      { sql, database: 'metrics', ttl_seconds: 90 },
      fixture.tokens.acme,
    );
    expect(status, JSON.stringify(body)).toBe(200);
    const [file] = body.tables[0]!.files;
    expect(body.tables[0]!.files).toHaveLength(1);
    const url = new URL(file!.url);
    expect(url.origin).toBe(new URL(bucket!.endpoint!).origin);
    expect(decodeURIComponent(url.pathname)).toBe(
      `/${bucket!.bucket}/lake/tenants/acme/data/metrics/cpu/date=2026-03-01/hour=03/h3.parquet`,
    );
    expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    // Signed at the session's clock for its TTL: the URL expires when the session says.
    const signedAt =
      Date.parse(
        url.searchParams
          .get('X-Amz-Date')!
          .replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'),
      ) / 1000;
    const expiresAt = Date.parse(body.expires_at) / 1000;
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(90);
    expect(signedAt + 90).toBe(expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 90);

    const res = await fetch(file!.url);
    expect(res.status).toBe(200);
    const fetched = Buffer.from(await res.arrayBuffer());
    const key = 'tenants/acme/data/metrics/cpu/date=2026-03-01/hour=03/h3.parquet';
    expect(fetched.equals(Buffer.from(await fixture.store.get(key)))).toBe(true);
    expect(fetched.length).toBe(file!.bytes);
    // Ranges work against the bucket as well (the console reads footers and column chunks).
    const tail = await fetch(file!.url, { headers: { range: 'bytes=-8' } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(fetched.subarray(-8))).toBe(true);

    // The S3 API serves no /files: the bucket does.
    expect((await fetch(`${api}/files/${key}?exp=1&sig=x`)).status).toBe(404);
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(body.tables[0]!.table_files).toBe(state.tables.get(tableKey('metrics', 'cpu'))!.fileCount);
  });

  it('a bucket deleted while the server runs answers 503 naming the bucket, not an empty lake', async () => {
    await removeTestBucket(bucket!);
    const gone = bucket!;
    bucket = undefined;
    const sql = `SELECT avg(usage) FROM cpu WHERE time >= '${hourIso(5)}' AND time < '${hourIso(6)}'`;
    for (const answer of [
      await postSession(api, { sql, database: 'metrics' }, fixture.tokens.acme),
      await postSession(api, { tables: ['cpu'], database: 'metrics' }, fixture.tokens.acme),
    ]) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(503);
      expect(answer.body).toEqual({
        success: false,
        code: 'STORE_UNREACHABLE',
        error: `S3 bucket "${gone.bucket}" does not exist`,
      });
    }
  });
});
