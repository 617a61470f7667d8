/**
 * The write API end to end: HTTP request → decoder → schema commit → buffer + WAL → staging
 * batch → flush run on real BullMQ workers → Parquet files read back by DuckDB.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  Field,
  Float64,
  List,
  makeData,
  makeVector,
  Table,
  TimestampMicrosecond,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { pack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, paths } from '../../catalog/index.js';
import { type IngestTestApp, startIngestApp } from '../helpers/ingest.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';
import { float64, packWire } from './decode/helpers.js';

const T0 = 1_772_323_200_000_000n; // 2026-03-01T00:00:00Z in µs
const ISO = (us: bigint) => {
  const ms = us / 1000n;
  const frac = String(us % 1_000_000n).padStart(6, '0');
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${frac}Z`;
};

/** What every round trip writes: µs times (one second and one hour apart), tags, all field types, a missing value. */
const ROWS = [
  { t: T0 + 1n, host: 'a', region: 'eu', usage: 0.5, count: 7n, ok: true, note: 'x y,z' },
  { t: T0 + 1_000_002n, host: 'b', region: 'us', usage: -1.25, count: -3n, ok: false, note: 'é "q"' },
  {
    t: T0 + 3_600_000_003n,
    host: 'a',
    region: 'eu',
    usage: 1e-3,
    count: 9_007_199_254_740_993n,
    ok: true,
    note: null,
  },
];

function lineOf(r: (typeof ROWS)[number], table: string): string {
  const note = r.note === null ? '' : `,note="${r.note.replaceAll('"', '\\"')}"`;
  return `${table},host=${r.host},region=${r.region} usage=${r.usage},count=${r.count}i,ok=${r.ok}${note} ${r.t * 1000n}`;
}

function arrowBody(): Uint8Array {
  const table = new Table({
    time: makeVector(
      makeData({
        type: new TimestampMicrosecond(),
        length: ROWS.length,
        data: BigInt64Array.from(ROWS.map((r) => r.t)),
      }),
    ),
    host: vectorFromArray(ROWS.map((r) => r.host)),
    region: vectorFromArray(ROWS.map((r) => r.region)),
    usage: vectorFromArray(ROWS.map((r) => r.usage)),
    count: makeVector(BigInt64Array.from(ROWS.map((r) => r.count))),
    ok: vectorFromArray(ROWS.map((r) => r.ok)),
    note: vectorFromArray(ROWS.map((r) => r.note)),
  });
  return tableToIPC(table, 'stream');
}

const zstdFixture = readFileSync(new URL('./decode/fixtures/lines.txt.zst', import.meta.url));
const zstdLines = readFileSync(new URL('./decode/fixtures/lines.txt', import.meta.url), 'utf8');

interface WriteCase {
  name: string;
  url: string;
  body: Buffer | Uint8Array | string;
  headers?: Record<string, string>;
  /** 204, or 200 for Arrow. */
  status: number;
}

const msgpackColumnar = (table: string) => ({
  m: table,
  tags: ['host', 'region'],
  columns: {
    time: ROWS.map((r) => r.t),
    host: ROWS.map((r) => r.host),
    region: ROWS.map((r) => r.region),
    usage: ROWS.map((r) => r.usage),
    count: ROWS.map((r) => r.count),
    ok: ROWS.map((r) => r.ok),
    note: ROWS.map((r) => r.note),
  },
});
const msgpackRows = (table: string) =>
  ROWS.map((r) => ({
    m: table,
    t: r.t,
    tags: { host: r.host, region: r.region },
    fields: { usage: r.usage, count: r.count, ok: r.ok, ...(r.note === null ? {} : { note: r.note }) },
  }));
const jsonRows = (table: string) =>
  JSON.stringify(
    ROWS.map((r) => ({
      m: table,
      t: ISO(r.t),
      tags: { host: r.host, region: r.region },
      // JSON numbers lose int64 precision past 2^53: the count column goes as float-safe values.
      fields: {
        usage: r.usage,
        count: Number(r.count % 1_000_000n),
        ok: r.ok,
        ...(r.note === null ? {} : { note: r.note }),
      },
    })),
  );

const ROUND_TRIPS: WriteCase[] = [
  {
    name: 'msgpack columnar',
    url: '/api/v1/write/msgpack',
    body: pack(msgpackColumnar('rt_mp_col')),
    status: 204,
  },
  { name: 'msgpack rows', url: '/api/v1/write/msgpack', body: pack(msgpackRows('rt_mp_row')), status: 204 },
  {
    name: 'msgpack batch, gzip',
    url: '/api/v1/write/msgpack',
    body: gzipSync(pack({ batch: [msgpackColumnar('rt_mp_gz')] })),
    status: 204,
  },
  {
    name: 'line protocol v1',
    url: '/write?db=rt',
    body: ROWS.map((r) => lineOf(r, 'rt_lp1')).join('\n'),
    status: 204,
  },
  {
    name: 'line protocol v2, gzip',
    url: '/api/v2/write?bucket=rt&org=ignored&precision=ns',
    body: gzipSync(ROWS.map((r) => lineOf(r, 'rt_lp2')).join('\n')),
    status: 204,
  },
  {
    name: 'line protocol (Arc endpoint, µs precision)',
    url: '/api/v1/write/line-protocol?precision=us',
    body: ROWS.map((r) =>
      lineOf(r, 'rt_lp3').replace(/ (\d+)$/, (_, ns: string) => ` ${BigInt(ns) / 1000n}`),
    ).join('\n'),
    status: 204,
  },
  {
    name: 'Arrow IPC',
    url: '/api/v1/write/arrow?table=rt_arrow',
    body: arrowBody(),
    headers: { 'content-type': 'application/vnd.apache.arrow.stream', 'x-weir-tags': 'host,region' },
    status: 200,
  },
  {
    name: 'JSON rows',
    url: '/api/v1/write/json',
    body: jsonRows('rt_json'),
    headers: { 'content-type': 'application/json' },
    status: 204,
  },
];

function databaseOf(c: WriteCase): string {
  return c.url.startsWith('/write') || c.url.startsWith('/api/v2') ? 'rt' : 'default';
}
function tableOf(c: WriteCase): string {
  if (c.url.includes('arrow')) return 'rt_arrow';
  const text = typeof c.body === 'string' ? c.body : '';
  return (
    /^(rt_\w+)/.exec(text)?.[1] ??
    {
      'msgpack columnar': 'rt_mp_col',
      'msgpack rows': 'rt_mp_row',
      'msgpack batch, gzip': 'rt_mp_gz',
      'line protocol v2, gzip': 'rt_lp2',
      'JSON rows': 'rt_json',
    }[c.name]!
  );
}

describe('write API', () => {
  let redis: TestRedis;
  let root: string;
  let t: IngestTestApp;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-ingest-'));
    t = await startIngestApp(new LocalObjectStore(root), redis);
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const post = (url: string, body: WriteCase['body'], headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url,
      payload: typeof body === 'string' ? body : Buffer.from(body),
      headers: { 'content-type': 'application/octet-stream', ...t.headers, ...headers },
    });

  it.each(ROUND_TRIPS)('$name: values and types come back from DuckDB unchanged', async (c) => {
    const response = await post(c.url, c.body, c.headers);
    expect(response.statusCode, response.body).toBe(c.status);
    if (c.status === 200) expect(response.json()).toEqual({ rows: 3 });
    await t.service.drain();
    const database = databaseOf(c);
    const table = tableOf(c);
    expect(await t.columnTypes('default', database, table)).toEqual({
      time: 'TIMESTAMP',
      host: 'VARCHAR',
      region: 'VARCHAR',
      usage: 'DOUBLE',
      count: 'BIGINT',
      ok: 'BOOLEAN',
      note: 'VARCHAR',
    });
    const rows = await t.query(
      'default',
      database,
      table,
      (r) => `SELECT epoch_us(time) AS t, host, region, usage, count, ok, note FROM ${r} ORDER BY time`,
    );
    const expected = ROWS.map((row) => ({
      ...row,
      count: c.name === 'JSON rows' ? row.count % 1_000_000n : row.count,
    }));
    expect(rows).toEqual(expected);
    // Committed in hour partitions, by a flush run.
    const state = await t.orchestration.catalogs.forTenant('default').refresh();
    const entry = state.tables.get(`${database}.${table}`)!;
    expect([...entry.partitions.keys()].sort()).toEqual([
      'date=2026-03-01/hour=00',
      'date=2026-03-01/hour=01',
    ]);
    // The run records its success just after the commit that drain waits for.
    await waitFor(async () => {
      const { runs } = await t.orchestration.orchestrator.history.list('default', {
        kind: 'flush',
        limit: 1000,
      });
      return (
        runs.some((run) => run.table === `${database}.${table}` && run.status === 'succeeded') || undefined
      );
    });
  });

  it('zstd bodies are detected by their magic bytes', async () => {
    const response = await post('/api/v1/write/line-protocol?precision=ns', zstdFixture);
    expect(response.statusCode, response.body).toBe(204);
    await t.service.drain();
    const measurement = /^([^,\s]+)/.exec(zstdLines)![1]!;
    const lines = zstdLines.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).length;
    expect(await t.count('default', 'default', measurement)).toBe(lines);
  });

  it('Content-Encoding gzip, zstd, identity or none: the magic bytes decide, whatever the label says', async () => {
    const plain = 'ce v=1 1772323200000000000';
    const cases: [Buffer | string, string | undefined][] = [
      [gzipSync(plain), 'gzip'],
      [gzipSync(plain), 'x-gzip'],
      [gzipSync(plain), undefined],
      [gzipSync(plain), 'identity'],
      [zstdFixture, 'zstd'],
      [plain, 'gzip'],
      [plain, ' GZIP '],
    ];
    for (const [body, encoding] of cases) {
      const response = await post(
        '/api/v1/write/line-protocol',
        body,
        encoding === undefined ? {} : { 'content-encoding': encoding },
      );
      expect(response.statusCode, `${encoding}: ${response.body}`).toBe(204);
    }
  });

  it('counts accepted rows per format in /metrics', async () => {
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const format of ['msgpack', 'line-protocol', 'arrow', 'json']) {
      const value = new RegExp(`^weir_ingest_rows_total\\{format="${format}"\\} (\\d+)$`, 'm').exec(
        metrics,
      )?.[1];
      expect(Number(value), format).toBeGreaterThanOrEqual(3);
    }
    expect(metrics).toMatch(/^weir_ingest_flush_runs_requested_total \d+$/m);
    // This app writes with durability wal: every acknowledged write waited for a grouped fdatasync.
    const count = (name: string) => Number(new RegExp(`^${name}_count (\\d+)$`, 'm').exec(metrics)?.[1]);
    const rounds = count('weir_ingest_wal_sync_seconds');
    expect(rounds).toBeGreaterThan(0);
    expect(count('weir_ingest_wal_sync_group_size')).toBe(rounds);
    const acknowledged = Number(/^weir_ingest_wal_sync_group_size_sum (\d+)$/m.exec(metrics)?.[1]);
    expect(acknowledged).toBeGreaterThanOrEqual(rounds);
  });

  it('new columns extend the table; existing ones keep their type', async () => {
    expect((await post('/api/v1/write/line-protocol', 'evo,host=a v=1')).statusCode).toBe(204);
    expect((await post('/api/v1/write/line-protocol', 'evo,host=b,dc=x v=2,extra="s"')).statusCode).toBe(204);
    await t.service.drain();
    const state = await t.orchestration.catalogs.forTenant('default').refresh();
    const columns = state.tables.get('default.evo')!.columns.map((c) => `${c.name}:${c.type}:${c.role}`);
    expect(columns).toEqual([
      'time:timestamp:time',
      'host:string:tag',
      'v:float64:field',
      'dc:string:tag',
      'extra:string:field',
    ]);
    expect(await t.count('default', 'default', 'evo')).toBe(2);
    // int64 into a float64 column is widened; a string is refused.
    expect((await post('/api/v1/write/line-protocol', 'evo v=3i')).statusCode).toBe(204);
    const refused = await post('/api/v1/write/line-protocol', 'evo v="three"');
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'TYPE_CONFLICT' });
    expect(refused.json().error).toMatch(/column v of default\.evo is a float64/);
  });

  it('MessagePack floats stay float64 when the first ones are whole (Python and Go send 100.0 as 0xcb)', async () => {
    const row = (t: number, usage: number) =>
      packWire({ m: 'mpfloat', t, fields: { usage_idle: float64(usage) } });
    const first = await post('/api/v1/write/msgpack', row(1_772_323_200, 100));
    expect(first.statusCode, first.body).toBe(204);
    const second = await post('/api/v1/write/msgpack', row(1_772_323_201, 99.5));
    expect(second.statusCode, second.body).toBe(204);
    await t.service.drain();
    expect(await t.columnTypes('default', 'default', 'mpfloat')).toEqual({
      time: 'TIMESTAMP',
      usage_idle: 'DOUBLE',
    });
    expect(
      await t.query('default', 'default', 'mpfloat', (r) => `SELECT usage_idle FROM ${r} ORDER BY time`),
    ).toEqual([{ usage_idle: 100 }, { usage_idle: 99.5 }]);
  });

  it('a retried request with the same Idempotency-Key lands once', async () => {
    const body = 'idem,host=a v=1 1772323200000000000\nidem,host=b v=2 1772323200000000001';
    const headers = { 'idempotency-key': 'batch-0001' };
    const first = await post('/api/v1/write/line-protocol', body, headers);
    const second = await post('/api/v1/write/line-protocol', body, headers);
    expect(first.statusCode).toBe(204);
    expect(second.statusCode).toBe(204);
    expect(second.headers['x-weir-idempotent-replay']).toBe('true');
    // Another key is another request.
    expect(
      (await post('/api/v1/write/line-protocol', body, { 'idempotency-key': 'batch-0002' })).statusCode,
    ).toBe(204);
    await t.service.drain();
    expect(await t.count('default', 'default', 'idem')).toBe(4);
    // A key whose request failed may be used again.
    expect(
      (await post('/api/v1/write/line-protocol', 'idem v=', { 'idempotency-key': 'batch-0003' })).statusCode,
    ).toBe(400);
    expect(
      (await post('/api/v1/write/line-protocol', body, { 'idempotency-key': 'batch-0003' })).statusCode,
    ).toBe(204);
    await t.service.drain();
    expect(await t.count('default', 'default', 'idem')).toBe(6);
  });

  it('an Arrow replay answers the rows its first request wrote', async () => {
    const headers = {
      'content-type': 'application/vnd.apache.arrow.stream',
      'idempotency-key': 'arrow-replay',
    };
    // One body for both: arrow-js numbers the dictionaries of each table it builds anew.
    const body = arrowBody();
    const first = await post('/api/v1/write/arrow?table=arrow_replay', body, headers);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ rows: 3 });
    const replay = await post('/api/v1/write/arrow?table=arrow_replay', body, headers);
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.headers['x-weir-idempotent-replay']).toBe('true');
    expect(replay.json()).toEqual({ rows: 3 });
    await t.service.drain();
    expect(await t.count('default', 'default', 'arrow_replay')).toBe(3);
  });

  describe('an Idempotency-Key is bound to its request', () => {
    const catalogVersion = async () =>
      (await t.orchestration.catalogs.forTenant('default').refresh()).version;
    const refusedAsReused = (response: Awaited<ReturnType<typeof post>>, key: string) => {
      expect(response.statusCode, response.body).toBe(422);
      expect(response.headers['x-weir-idempotent-replay']).toBeUndefined();
      expect(response.json()).toMatchObject({ success: false, code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(response.json().error).toContain(`"${key}"`);
    };

    it('the same key with the same request, however compressed or whichever endpoint of its format, is a replay', async () => {
      const body = 'bound_same,host=a v=1 1772323200';
      const headers = { 'idempotency-key': 'bound-same' };
      expect((await post('/api/v2/write?bucket=bound&precision=s', body, headers)).statusCode).toBe(204);
      const retries = [
        await post('/api/v2/write?bucket=bound&precision=s', gzipSync(body), headers),
        await post('/write?db=bound&precision=s', body, headers),
      ];
      for (const retry of retries) {
        expect(retry.statusCode, retry.body).toBe(204);
        expect(retry.headers['x-weir-idempotent-replay']).toBe('true');
      }
      await t.service.drain();
      expect(await t.count('default', 'bound', 'bound_same')).toBe(1);
    });

    it('the same key with other rows is a 422 naming the key, and nothing of the second request is written', async () => {
      const headers = { 'idempotency-key': 'samekey1' };
      expect((await post('/api/v2/write?bucket=w1', 'm v=1', headers)).statusCode).toBe(204);
      await t.service.drain();
      const version = await catalogVersion();
      refusedAsReused(await post('/api/v2/write?bucket=w1', 'm v=999,extra=1', headers), 'samekey1');
      // Nothing buffered, not even the column the refused request would have added.
      expect(t.service.bufferedBytes).toBe(0);
      expect(await catalogVersion()).toBe(version);
      expect(await t.query('default', 'w1', 'm', (r) => `SELECT v FROM ${r}`)).toEqual([{ v: 1 }]);
    });

    it('the same key and rows for another database, or with other parameters, is a 422', async () => {
      const body = 'bound_db v=1 1772323200';
      const headers = { 'idempotency-key': 'bound-db' };
      expect((await post('/api/v2/write?bucket=bound_a&precision=s', body, headers)).statusCode).toBe(204);
      await t.service.drain();
      const version = await catalogVersion();
      refusedAsReused(await post('/api/v2/write?bucket=bound_b&precision=s', body, headers), 'bound-db');
      refusedAsReused(
        await post('/api/v2/write?precision=s', body, { ...headers, 'x-arc-database': 'bound_b' }),
        'bound-db',
      );
      // The same bytes are other rows in another precision.
      refusedAsReused(await post('/api/v2/write?bucket=bound_a&precision=ms', body, headers), 'bound-db');
      expect(t.service.bufferedBytes).toBe(0);
      expect(await catalogVersion()).toBe(version);
      expect(await t.count('default', 'bound_a', 'bound_db')).toBe(1);
      expect(await t.count('default', 'bound_b', 'bound_db')).toBe(0);
    });

    it('the same key in flight twice: one request lands; its twin is told to retry, or refused when it differs', async () => {
      const url = '/api/v1/write/line-protocol';
      const twins = await Promise.all([
        post(url, 'bound_twin v=1', { 'idempotency-key': 'bound-twin' }),
        post(url, 'bound_twin v=1', { 'idempotency-key': 'bound-twin' }),
      ]);
      const outcomes = twins.map((r) =>
        r.statusCode === 204 ? `204${r.headers['x-weir-idempotent-replay'] ? ' replay' : ''}` : r.json().code,
      );
      // The twin found the key pending (409, retry later) or, if the first was done by then, landed.
      expect(outcomes.sort()).toSatisfy(
        (o: string[]) => o[0] === '204' && (o[1] === 'IDEMPOTENCY_KEY_IN_USE' || o[1] === '204 replay'),
      );
      const rivals = await Promise.all([
        post(url, 'bound_rival v=1', { 'idempotency-key': 'bound-rival' }),
        post(url, 'bound_rival v=2', { 'idempotency-key': 'bound-rival' }),
      ]);
      expect(rivals.map((r) => r.statusCode).sort()).toEqual([204, 422]);
      const landed = rivals.findIndex((r) => r.statusCode === 204) + 1;
      await t.service.drain();
      expect(await t.count('default', 'default', 'bound_twin')).toBe(1);
      expect(await t.query('default', 'default', 'bound_rival', (r) => `SELECT v FROM ${r}`)).toEqual([
        { v: landed },
      ]);
    });
  });

  it('the database comes from x-arc-database, then the endpoint parameter, then default', async () => {
    expect((await post('/write?db=fromparam', 'dbsel v=1')).statusCode).toBe(204);
    expect(
      (await post('/write?db=fromparam', 'dbsel v=1', { 'x-arc-database': 'fromheader' })).statusCode,
    ).toBe(204);
    expect((await post('/api/v1/write/line-protocol', 'dbsel v=1')).statusCode).toBe(204);
    await t.service.drain();
    for (const db of ['fromparam', 'fromheader', 'default'])
      expect(await t.count('default', db, 'dbsel')).toBe(1);
  });

  describe('bad input: a 4xx naming the problem, and nothing written', () => {
    const big = 'x'.repeat(5_000);
    const columns = Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`c${i}`, [1]]));
    const nested = new Table({
      time: makeVector(
        makeData({ type: new TimestampMicrosecond(), length: 1, data: BigInt64Array.from([T0]) }),
      ),
      tags: makeVector(
        makeData({
          type: new List(new Field('item', new Float64(), true)),
          length: 1,
          valueOffsets: Int32Array.from([0, 1]),
          child: makeData({ type: new Float64(), length: 1, data: Float64Array.from([1]) }),
        }),
      ),
    });
    const noTime = tableToIPC(new Table({ v: vectorFromArray([1, 2]) }), 'stream');
    const goodArrow = arrowBody();
    const mp = '/api/v1/write/msgpack';
    const lp = '/api/v1/write/line-protocol';
    const ar = '/api/v1/write/arrow?table=bad_arrow';
    const js = '/api/v1/write/json';
    const arrowHeaders = { 'content-type': 'application/vnd.apache.arrow.stream' };
    // [name, url, body, status, code, message fragment, extra headers]
    const CASES: [string, string, WriteCase['body'], number, string, RegExp, Record<string, string>?][] = [
      [
        'truncated MessagePack',
        mp,
        pack(msgpackColumnar('bad')).subarray(0, 40),
        400,
        'INVALID_MSGPACK',
        /MessagePack/i,
      ],
      ['MessagePack that is not a map', mp, pack(42), 400, 'INVALID_MSGPACK', /map/i],
      [
        'an array item that is not a map',
        mp,
        pack([{ m: 'bad', columns: { v: [1] } }, 'oops']),
        400,
        'INVALID_MSGPACK',
        /item 2|map/i,
      ],
      ['a map without m', mp, pack({ columns: { v: [1] } }), 400, 'INVALID_MSGPACK', /\bm\b/],
      [
        'columns that are not a map',
        mp,
        pack({ m: 'bad', columns: [1, 2] }),
        400,
        'INVALID_MSGPACK',
        /columns/,
      ],
      [
        'unequal column lengths',
        mp,
        pack({ m: 'bad', columns: { time: [T0, T0 + 1n], v: [1] } }),
        400,
        'COLUMN_LENGTH_MISMATCH',
        /v|length/,
      ],
      [
        'mixed time units in one column',
        mp,
        pack({ m: 'bad', columns: { time: [1_772_323_200, 1_772_323_200_000], v: [1, 2] } }),
        400,
        'MIXED_TIME_UNITS',
        /row 2/,
      ],
      ['NaN time', mp, pack({ m: 'bad', t: Number.NaN, fields: { v: 1 } }), 400, 'INVALID_TIME', /NaN|time/i],
      [
        'time after 2262 (epoch seconds of 2286)',
        mp,
        pack({ m: 'bad', columns: { time: [9_999_999_999], v: [1] } }),
        400,
        'INVALID_TIME',
        /time/i,
      ],
      [
        'negative time',
        mp,
        pack({ m: 'bad', columns: { time: [-5], v: [1] } }),
        400,
        'INVALID_TIME',
        /time/i,
      ],
      [
        'a table name with a space',
        mp,
        pack({ m: 'cpu load', columns: { v: [1] } }),
        400,
        'INVALID_NAME',
        /cpu load/,
      ],
      [
        'a column name starting with a digit',
        mp,
        pack({ m: 'bad', columns: { '1abc': [1] } }),
        400,
        'INVALID_NAME',
        /1abc/,
      ],
      [
        'a database header with a slash',
        mp,
        pack({ m: 'bad', columns: { v: [1] } }),
        400,
        'INVALID_NAME',
        /\.\.\/x/,
        { 'x-arc-database': '../x' },
      ],
      [
        'a field named time',
        mp,
        pack({ m: 'bad', t: 1_772_323_200, fields: { time: 1 } }),
        400,
        'DUPLICATE_COLUMN',
        /time/,
      ],
      [
        'a column mixing strings and numbers',
        mp,
        pack({ m: 'bad', columns: { v: [1, 'a'] } }),
        400,
        'TYPE_CONFLICT',
        /v/,
      ],
      ['a nested map value', mp, pack({ m: 'bad', columns: { v: [{ a: 1 }] } }), 400, 'INVALID_VALUE', /v/],
      [
        'an integer beyond int64',
        mp,
        pack({ m: 'bad', columns: { v: [2n ** 64n - 1n] } }),
        400,
        'VALUE_OUT_OF_RANGE',
        /v/,
      ],
      [
        'an oversized tag',
        mp,
        pack({ m: 'bad', tags: ['h'], columns: { h: [big] } }),
        400,
        'STRING_TOO_LONG',
        /h/,
      ],
      [
        'an oversized string field',
        mp,
        pack({ m: 'bad', t: 1_772_323_200, fields: { s: 'y'.repeat(1_100_000) } }),
        400,
        'STRING_TOO_LONG',
        /s/,
      ],
      ['too many columns', mp, pack({ m: 'bad', columns }), 400, 'TOO_MANY_COLUMNS', /1000|1,000/],
      [
        'a field changing type against the catalog',
        lp,
        'typed v="str"',
        400,
        'TYPE_CONFLICT',
        /column v of default\.typed is an int64 field in the catalog; this request writes it as a string field \(first at line 1: "str"\)/,
      ],
      [
        'a float into an int64 column',
        mp,
        pack({ m: 'typed', t: 1_772_323_200, fields: { v: 1.5 } }),
        400,
        'TYPE_CONFLICT',
        /column v/,
      ],
      [
        'a declared tag that is a field in the catalog',
        lp,
        'typed,v=x w=1',
        400,
        'TYPE_CONFLICT',
        /column v/,
      ],
      ['a column differing only in case', lp, 'typed V=1', 400, 'COLUMN_NAME_CASE', /V.*v/],
      ['a reserved column name', lp, 'typed file_row_number=1i', 400, 'RESERVED_COLUMN', /file_row_number/],
      [
        'a reserved column name in a new table',
        lp,
        'fresh,__weir_row=x v=1',
        400,
        'RESERVED_COLUMN',
        /__weir_row/,
      ],
      ['an empty body', mp, '', 400, 'EMPTY_BODY', /empty/i],
      ['a JSON array without items', js, '[]', 400, 'EMPTY_BODY', /^the JSON body holds no rows/],
      ['a JSON batch without items', js, '{"batch": []}', 400, 'EMPTY_BODY', /^the JSON body holds no rows/],
      [
        'JSON columns without values',
        js,
        '{"m": "bad", "columns": {"time": [], "v": []}}',
        400,
        'EMPTY_BODY',
        /^the JSON body holds no rows/,
      ],
      [
        'a MessagePack array without items',
        mp,
        pack([]),
        400,
        'EMPTY_BODY',
        /^the MessagePack body holds no rows/,
      ],
      [
        'Content-Encoding deflate',
        lp,
        'cpu v=1',
        415,
        'UNSUPPORTED_ENCODING',
        /^unsupported Content-Encoding "deflate": send gzip, zstd or no encoding$/,
        { 'content-encoding': 'deflate' },
      ],
      [
        'Content-Encoding br on a gzip body',
        js,
        gzipSync(JSON.stringify({ m: 'bad', fields: { v: 1 } })),
        415,
        'UNSUPPORTED_ENCODING',
        /"br"/,
        { 'content-encoding': 'br' },
      ],
      [
        'a gzip bomb',
        lp,
        gzipSync(Buffer.alloc(64 * 1024 * 1024)),
        413,
        'PAYLOAD_TOO_LARGE',
        /decompress|limit/i,
      ],
      [
        'corrupt gzip',
        lp,
        Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(40, 7)]),
        400,
        'INVALID_COMPRESSED_BODY',
        /gzip/i,
      ],
      [
        'corrupt zstd',
        lp,
        Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(40, 7)]),
        400,
        'INVALID_COMPRESSED_BODY',
        /zstd/i,
      ],
      [
        'a body over the size limit',
        lp,
        Buffer.alloc(9 * 1024 * 1024, 0x61),
        413,
        'FST_ERR_CTP_BODY_TOO_LARGE',
        /too large/i,
      ],
      ['a line without fields', lp, 'cpu,host=a 1772323200000000000', 400, 'INVALID_LINE_PROTOCOL', /line 1/],
      ['a field without a value', lp, 'cpu v=', 400, 'INVALID_LINE_PROTOCOL', /line 1/],
      ['an unterminated string field', lp, 'cpu v="abc', 400, 'INVALID_LINE_PROTOCOL', /line 1/],
      ['a bad timestamp', lp, 'cpu v=1 12ab', 400, 'INVALID_LINE_PROTOCOL', /line 1/],
      [
        'one bad line among good ones',
        lp,
        'cpu v=1\ncpu v=2\ncpu v=?\ncpu v=4',
        400,
        'INVALID_LINE_PROTOCOL',
        /line 3/,
      ],
      ['a uint beyond int64', lp, 'cpu v=18446744073709551615u', 400, 'VALUE_OUT_OF_RANGE', /line 1/],
      ['a NaN field', lp, 'cpu v=NaN', 400, 'INVALID_LINE_PROTOCOL', /line 1/],
      ['a field changing type within the body', lp, 'cpu v=1i\ncpu v="s"', 400, 'TYPE_CONFLICT', /line 2/],
      ['an unknown precision', `${lp}?precision=xs`, 'cpu v=1', 400, 'VALIDATION_ERROR', /precision/],
      ['a measurement name with a dot', lp, 'cpu.load v=1', 400, 'INVALID_NAME', /cpu\.load/],
      [
        'Arrow IPC that is garbage',
        ar,
        Buffer.from('definitely not arrow at all'),
        400,
        'INVALID_ARROW',
        /Arrow/i,
        arrowHeaders,
      ],
      [
        'truncated Arrow IPC',
        ar,
        goodArrow.subarray(0, goodArrow.length - 30),
        400,
        'INVALID_ARROW',
        /Arrow/i,
        arrowHeaders,
      ],
      ['Arrow without a time column', ar, noTime, 400, 'MISSING_COLUMN', /time/, arrowHeaders],
      [
        'an Arrow list column',
        ar,
        tableToIPC(nested, 'stream'),
        400,
        'UNSUPPORTED_TYPE',
        /tags/,
        arrowHeaders,
      ],
      [
        'Arrow without a table parameter',
        '/api/v1/write/arrow',
        goodArrow,
        400,
        'VALIDATION_ERROR',
        /table/,
        arrowHeaders,
      ],
      [
        'x-weir-tags naming a number column',
        ar,
        goodArrow,
        400,
        'TYPE_CONFLICT',
        /usage/,
        { ...arrowHeaders, 'x-weir-tags': 'usage' },
      ],
      ['invalid JSON', js, '{"m": "bad", "columns": {', 400, 'INVALID_JSON', /JSON/],
      [
        'a bad RFC 3339 time in JSON',
        js,
        JSON.stringify({ m: 'bad', t: '2026-13-45T99:00:00Z', fields: { v: 1 } }),
        400,
        'INVALID_TIME',
        /2026-13-45/,
      ],
      [
        'an Idempotency-Key with a space',
        lp,
        'cpu v=1',
        400,
        'INVALID_IDEMPOTENCY_KEY',
        /Idempotency-Key/,
        { 'idempotency-key': 'a b' },
      ],
    ];

    beforeAll(async () => {
      // The catalog table the type-conflict cases collide with: v int64, w float64.
      expect((await post(lp, 'typed v=1i,w=2')).statusCode).toBe(204);
      await t.service.drain();
    });

    it('covers at least 40 cases', () => {
      expect(CASES.length).toBeGreaterThanOrEqual(40);
    });

    it.each(CASES)('%s', async (_name, url, body, status, code, message, headers) => {
      const before = await t.orchestration.catalogs.forTenant('default').refresh();
      const buffered = t.service.bufferedBytes;
      const response = await post(url, body, headers);
      expect(response.statusCode, response.body).toBe(status);
      const answer = response.json();
      expect(answer).toMatchObject({ success: false, code });
      expect(answer.error).toMatch(message);
      // Nothing from the request: no catalog change, no buffered rows, no staging batch.
      const after = await t.orchestration.catalogs.forTenant('default').refresh();
      expect(after.version).toBe(before.version);
      expect(t.service.bufferedBytes).toBe(buffered);
      const staged = [];
      for await (const o of t.store.listAll(paths.stagingKeys.prefix('default'))) staged.push(o.key);
      expect(staged).toEqual([]);
    });
  });
});
