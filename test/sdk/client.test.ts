/**
 * The SDK's writes and queries against a real `weir serve`: every write form (columnar, rows, line
 * protocol, Arrow) with each compression lands the rows it was given; every query form (JSON,
 * Arrow table, CSV and Arrow streams, estimate, as_of) answers what the server holds.
 */

import { gunzipSync } from 'node:zlib';
import { tableFromArrays, tableFromIPC } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compress } from '../../sdk/compression.js';
import { type Compression, toRecords, type WeirClient } from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import { type SdkServer, startSdkServer } from './server.js';

let server: SdkServer;
let client: WeirClient;
const T0 = Date.UTC(2026, 2, 1); // 2026-03-01T00:00:00Z

beforeAll(async () => {
  server = await startSdkServer();
  client = server.client({ database: 'sdk' });
});
afterAll(async () => {
  await server?.stop();
});

/** Rows of `sql` once the server answers `rows` of them (writes become queryable after a flush). */
async function rowsOnce(sql: string, rows: number): Promise<Record<string, unknown>[]> {
  return waitFor(
    async () => {
      const answer = await client.query(sql).catch(() => undefined);
      return answer && answer.row_count === rows ? toRecords(answer) : undefined;
    },
    30_000,
    100,
  );
}

describe('writes', () => {
  it.each<Compression>(['none', 'gzip', 'zstd'])(
    'writeColumnar lands every row (%s body)',
    async (compression) => {
      const table = `columnar_${compression}`;
      await client.writeColumnar(
        {
          table,
          columns: {
            time: [new Date(T0), T0 + 1000, new Date(T0 + 2000)],
            host: ['a', 'b', 'a'],
            region: ['eu', 'eu', 'us'],
            usage: [0.5, 1.25, 2],
            count: [1, 2, 3],
            note: ['x', 'y', 'z'],
          },
          tags: ['host', 'region'],
        },
        { compression },
      );
      const rows = await rowsOnce(`SELECT * FROM ${table} ORDER BY time`, 3);
      expect(rows).toEqual([
        { time: '2026-03-01T00:00:00.000000Z', host: 'a', region: 'eu', usage: 0.5, count: 1, note: 'x' },
        { time: '2026-03-01T00:00:01.000000Z', host: 'b', region: 'eu', usage: 1.25, count: 2, note: 'y' },
        { time: '2026-03-01T00:00:02.000000Z', host: 'a', region: 'us', usage: 2, count: 3, note: 'z' },
      ]);
      // The tag list reached the server: the string column left out of it is a field.
      expect(await server.columnRoles('sdk', table)).toMatchObject({
        host: 'tag',
        region: 'tag',
        note: 'field',
      });
    },
  );

  it('compresses bodies as asked: gzip and zstd frames that decode to the body', async () => {
    const body = new TextEncoder().encode('cpu,host=a usage=0.5\n'.repeat(2000));
    const gzip = await compress(body, 'gzip');
    expect(gzip.encoding).toBe('gzip');
    expect([...gzip.body.subarray(0, 2)]).toEqual([0x1f, 0x8b]);
    expect(gunzipSync(gzip.body)).toEqual(Buffer.from(body));
    const zstd = await compress(body, 'zstd');
    expect(zstd.encoding).toBe('zstd');
    expect([...zstd.body.subarray(0, 4)]).toEqual([0x28, 0xb5, 0x2f, 0xfd]);
    expect(zstdDecompress(zstd.body)).toEqual(body);
    expect(zstd.body.byteLength).toBeLessThan(body.byteLength / 10);
    expect(await compress(body, 'none')).toEqual({ body });
  });

  it('writeRows lands each row with its time, tags and fields', async () => {
    await client.writeRows([
      {
        table: 'rows',
        time: new Date(T0),
        tags: { host: 'h1' },
        fields: { temp: 20.5, ok: true, note: 'x' },
      },
      { table: 'rows', time: T0 + 60_000, tags: { host: 'h2' }, fields: { temp: 21, ok: false, note: 'y' } },
    ]);
    expect(await rowsOnce('SELECT time, host, temp, ok, note FROM rows ORDER BY time', 2)).toEqual([
      { time: '2026-03-01T00:00:00.000000Z', host: 'h1', temp: 20.5, ok: true, note: 'x' },
      { time: '2026-03-01T00:01:00.000000Z', host: 'h2', temp: 21, ok: false, note: 'y' },
    ]);
  });

  it('writeLineProtocol honours the precision, into the database asked for', async () => {
    await client.writeLineProtocol(
      [`lp,host=a usage=0.5,count=3i ${T0 / 1000}`, `lp,host=b usage=0.75,count=4i ${T0 / 1000 + 1}`],
      { precision: 's', database: 'other' },
    );
    const answer = await waitFor(async () => {
      const a = await client
        .query('SELECT * FROM lp ORDER BY time', { database: 'other' })
        .catch(() => undefined);
      return a?.row_count === 2 ? a : undefined;
    });
    expect(toRecords(answer)).toEqual([
      { time: '2026-03-01T00:00:00.000000Z', host: 'a', usage: 0.5, count: 3 },
      { time: '2026-03-01T00:00:01.000000Z', host: 'b', usage: 0.75, count: 4 },
    ]);
  });

  it('writeArrow sends an Arrow table and answers the rows taken', async () => {
    const data = tableFromArrays({
      time: BigInt64Array.from([0n, 1n, 2n], (i) => BigInt(T0) * 1000n + i * 1_000_000n),
      host: ['x', 'y', 'z'],
      value: new Float64Array([1.5, 2.5, 3.5]),
      label: ['l1', 'l2', 'l3'],
    });
    expect(
      await client.writeArrow({ table: 'arrow_in', data, tags: ['host'] }, { compression: 'zstd' }),
    ).toEqual({
      rows: 3,
    });
    expect(await rowsOnce('SELECT time, host, value, label FROM arrow_in ORDER BY time', 3)).toEqual([
      { time: '2026-03-01T00:00:00.000000Z', host: 'x', value: 1.5, label: 'l1' },
      { time: '2026-03-01T00:00:01.000000Z', host: 'y', value: 2.5, label: 'l2' },
      { time: '2026-03-01T00:00:02.000000Z', host: 'z', value: 3.5, label: 'l3' },
    ]);
    expect(await server.columnRoles('sdk', 'arrow_in')).toMatchObject({ host: 'tag', label: 'field' });
  });
});

describe('queries', () => {
  const N = 1000;

  beforeAll(async () => {
    await client.writeColumnar({
      table: 'metrics',
      columns: {
        time: Array.from({ length: N }, (_, i) => T0 + i * 1000),
        host: Array.from({ length: N }, (_, i) => `h${i % 4}`),
        value: Array.from({ length: N }, (_, i) => i),
      },
      tags: ['host'],
    });
    await rowsOnce('SELECT count(*) AS n FROM metrics HAVING count(*) = 1000', 1);
  });

  it('query answers Arc’s JSON with the catalog version read', async () => {
    const answer = await client.query(
      'SELECT host, sum(value) AS total FROM metrics GROUP BY host ORDER BY host',
    );
    expect(answer.columns).toEqual(['host', 'total']);
    expect(answer.row_count).toBe(4);
    expect(answer.data[0]).toEqual(['h0', 124_500]);
    expect(answer.catalog_version).toBeGreaterThan(0);
    expect(typeof answer.execution_time_ms).toBe('number');
  });

  it('queryArrow answers an Arrow table with exact types', async () => {
    const table = await client.queryArrow('SELECT time, host, value FROM metrics ORDER BY time');
    expect(table.numRows).toBe(N);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['time', 'host', 'value']);
    expect(table.getChild('value')!.get(N - 1)).toBe(BigInt(N - 1));
    expect(table.getChild('host')!.get(5)).toBe('h1');
  });

  it('streamCsv yields every record across chunks, keeping quotes, commas, NULL and empty strings apart', async () => {
    let count = 0;
    let sum = 0;
    let first: Record<string, string | null> | undefined;
    for await (const record of client.streamCsv(
      `SELECT i, 'a,"b"' || chr(10) || i AS s, NULL AS n, '' AS e FROM range(50000) t(i) ORDER BY i`,
    )) {
      first ??= record;
      count++;
      sum += Number(record.i);
    }
    expect(count).toBe(50_000);
    expect(sum).toBe((50_000 * 49_999) / 2);
    expect(first).toEqual({ i: '0', s: 'a,"b"\n0', n: null, e: '' });
  });

  it('streamArrow yields record batches as they come', async () => {
    let batches = 0;
    let rows = 0;
    let sum = 0n;
    for await (const batch of client.streamArrow('SELECT i FROM range(300000) t(i)')) {
      batches++;
      rows += batch.numRows;
      for (const value of batch.getChild('i')!) sum += value as bigint;
    }
    expect(batches).toBeGreaterThan(1);
    expect(rows).toBe(300_000);
    expect(sum).toBe(BigInt((300_000 * 299_999) / 2));
  });

  it('streamArrowIpc yields the Arrow answer as bytes that decode to the same table', async () => {
    const sql = 'SELECT i, i * 2 AS twice FROM range(300000) t(i)';
    const chunks: Uint8Array[] = [];
    for await (const chunk of client.streamArrowIpc(sql)) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(1);
    const streamed = tableFromIPC(Buffer.concat(chunks));
    const whole = await client.queryArrow(sql);
    expect(streamed.numRows).toBe(300_000);
    expect(streamed.schema.fields.map(String)).toEqual(whole.schema.fields.map(String));
    expect(streamed.getChild('twice')!.get(299_999)).toBe(599_998n);
  });

  it('leaving a stream early stops it without an error, and the client keeps working', async () => {
    let seen = 0;
    for await (const _ of client.streamCsv('SELECT i FROM range(5000000) t(i)')) {
      if (++seen === 10) break;
    }
    expect(seen).toBe(10);
    expect((await client.query('SELECT count(*) AS n FROM metrics')).data).toEqual([[N]]);
  });

  it('estimate reports the files and rows a query would read', async () => {
    const estimate = await client.estimate('SELECT * FROM metrics');
    expect(estimate).toMatchObject({ estimated_rows: N, warning_level: 'none' });
    expect(estimate.files).toBeGreaterThanOrEqual(1);
    expect(estimate.bytes).toBeGreaterThan(0);
  });

  it('asOf reads an earlier catalog version, by version and by timestamp', async () => {
    const before = await client.query('SELECT count(*) AS n FROM metrics');
    const at = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await client.writeColumnar({
      table: 'metrics',
      columns: { time: [T0 - 1000], host: ['h9'], value: [-1] },
    });
    await rowsOnce('SELECT count(*) AS n FROM metrics HAVING count(*) = 1001', 1);
    const sql = 'SELECT count(*) AS n FROM metrics';
    expect((await client.query(sql, { asOf: { version: before.catalog_version } })).data).toEqual([[N]]);
    expect((await client.query(sql, { asOf: { timestamp: at } })).data).toEqual([[N]]);
    expect(
      (await client.queryArrow(sql, { asOf: { version: before.catalog_version } })).getChild('n')!.get(0),
    ).toBe(BigInt(N));
    expect((await client.query(sql)).data).toEqual([[N + 1]]);
  });
});
