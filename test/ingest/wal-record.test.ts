import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableOfBatch } from '../../services/ingest/arrow.js';
import type { TableBatch } from '../../services/ingest/batch.js';
import { readSegment, WriteAheadLog } from '../../services/ingest/wal.js';
import { decodeWalBatch, encodeWalBatch } from '../../services/ingest/wal-record.js';
import { keyed } from './wal-files.js';

const utf8 = new TextEncoder();

/** Strings laid out the way decoders leave them: offsets need not start at 0, buffers may be longer than the rows. */
function stringColumn(values: (string | null)[], lead = 0) {
  const bytes = values.map((v) => utf8.encode(v ?? ''));
  const offsets = new Int32Array(values.length + 5);
  const data = new Uint8Array(lead + bytes.reduce((n, b) => n + b.byteLength, 0) + 16);
  let at = lead;
  offsets[0] = at;
  bytes.forEach((b, i) => {
    data.set(b, at);
    at += b.byteLength;
    offsets[i + 1] = at;
  });
  const valid = Uint8Array.from(values, (v) => (v === null ? 0 : 1));
  return { offsets, data, valid };
}

function sampleBatch(): TableBatch {
  const rows = 4;
  const host = stringColumn(['α-host', 'b', 'ccc', 'd'], 3);
  const note = stringColumn(['x', null, '', 'emoji 🚀']);
  return {
    database: 'metrics',
    table: 'cpu',
    rows,
    // Capacity past `rows`, as builders leave it.
    time: BigInt64Array.from([1n, -2n, 1_772_323_200_000_001n, 9_007_199_254_740_993n, 0n, 0n]),
    columns: [
      {
        name: 'host',
        role: 'tag',
        roleDeclared: true,
        type: 'string',
        offsets: host.offsets,
        data: host.data,
      },
      { name: 'note', role: 'field', roleDeclared: false, type: 'string', ...note },
      {
        name: 'usage',
        role: 'field',
        roleDeclared: true,
        type: 'float64',
        values: Float64Array.from([0.1, Number.NaN, -0, 1e308, 7]),
        valid: Uint8Array.from([1, 1, 1, 0, 1]),
      },
      {
        name: 'count',
        role: 'field',
        roleDeclared: true,
        type: 'int64',
        values: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, 42n]),
      },
      {
        name: 'up',
        role: 'field',
        roleDeclared: true,
        type: 'bool',
        values: Uint8Array.from([1, 0, 1, 1]),
        valid: Uint8Array.from([1, 1, 0, 1]),
      },
    ],
  };
}

/** Rows as plain values (bigints kept exact), what a buffer's Arrow table holds. */
const rowsOf = (batch: TableBatch) =>
  tableOfBatch(batch)
    .toArray()
    .map((row) => JSON.parse(JSON.stringify(row.toJSON(), (_, v) => (typeof v === 'bigint' ? `${v}n` : v))));

describe('WAL record rows', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'weir-wal-record-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('every type, null and string layout comes back through a segment as the buffer held it', async () => {
    const batch = sampleBatch();
    const wal = await WriteAheadLog.open(dir);
    const segment = wal.create({
      tenant: 't',
      database: 'metrics',
      table: 'cpu',
      batchId: '01WALRECORD0000000000000000',
      createdAt: 1,
    });
    wal.append([{ segment, parts: encodeWalBatch(batch) }], keyed('req-1'));
    wal.append([{ segment, parts: encodeWalBatch({ ...batch, rows: 1 }) }]);
    await wal.sync([segment]);
    wal.close(segment);

    const read = await readSegment(segment.path);
    expect(read?.records.map((r) => r.idempotencyKey)).toEqual(['req-1', undefined]);
    const [whole, first] = read!.records.map((r) => decodeWalBatch(r.payload));
    expect(rowsOf(whole!)).toEqual(rowsOf(batch));
    expect(rowsOf(whole!)[0]).toMatchObject({
      host: 'α-host',
      note: 'x',
      usage: 0.1,
      count: `${-(2n ** 63n)}n`,
      up: true,
    });
    expect(rowsOf(whole!)[3]).toMatchObject({ usage: null, note: 'emoji 🚀', up: true });
    // Times exact to the microsecond (Arrow's row view rounds them to float milliseconds).
    expect([...whole!.time]).toEqual([...batch.time.subarray(0, batch.rows)]);
    expect(whole!.columns.map((c) => [c.name, c.type, c.role, c.roleDeclared])).toEqual(
      batch.columns.map((c) => [c.name, c.type, c.role, c.roleDeclared]),
    );
    expect(rowsOf(first!)).toEqual(rowsOf(batch).slice(0, 1));
  });

  it('a payload that does not match its description is refused, not read as rows', () => {
    const parts = encodeWalBatch(sampleBatch());
    const payload = Buffer.concat(parts);
    expect(() => decodeWalBatch(payload.subarray(0, payload.byteLength - 1))).toThrow(
      /shorter than its description/,
    );
    expect(() => decodeWalBatch(Buffer.concat([payload, Buffer.from([0])]))).toThrow(
      /longer than its description/,
    );
  });
});
