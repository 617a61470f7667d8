import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack } from '../../../services/ingest/decode/index.js';
import {
  columnOf,
  context,
  expectError,
  float32,
  float64,
  NOW_MICROS,
  packWire,
  tableOf,
  valuesOf,
} from './helpers.js';

describe('MessagePack columnar', () => {
  it('decodes columns into typed arrays with inferred types, roles and time in µs', () => {
    const body = pack({
      m: 'cpu',
      columns: {
        time: [1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_002],
        host: ['a', 'b', null],
        usage: [1.5, 2, null],
        procs: [1, 2, 3],
        big: [2n ** 62n, -(2n ** 62n), 7],
        up: [true, false, true],
      },
    });
    const [batch, ...rest] = decodeMsgpack(body, context());
    expect(rest).toHaveLength(0);
    expect(batch!).toMatchObject({ database: 'db', table: 'cpu', rows: 3 });
    expect([...batch!.time]).toEqual([
      1_700_000_000_000_000n,
      1_700_000_000_001_000n,
      1_700_000_000_002_000n,
    ]);
    expect(columnOf(batch!, 'host')).toMatchObject({ type: 'string', role: 'tag', roleDeclared: false });
    expect(valuesOf(batch!, 'host')).toEqual(['a', 'b', null]);
    expect(columnOf(batch!, 'usage')).toMatchObject({ type: 'float64', role: 'field', roleDeclared: true });
    expect(valuesOf(batch!, 'usage')).toEqual([1.5, 2, null]);
    expect(columnOf(batch!, 'procs').type).toBe('int64');
    expect(valuesOf(batch!, 'procs')).toEqual([1n, 2n, 3n]);
    expect(valuesOf(batch!, 'big')).toEqual([2n ** 62n, -(2n ** 62n), 7n]);
    expect(valuesOf(batch!, 'up')).toEqual([true, false, true]);
    expect(columnOf(batch!, 'procs')).not.toHaveProperty('valid', expect.anything());
  });

  it('types whole numbers past 2^53 as floats (integers that large arrive as bigints)', () => {
    const batch = decodeMsgpack(
      pack({ m: 'cpu', columns: { v: [1e20, 1], w: [2n ** 60n, 1] } }),
      context(),
    )[0]!;
    expect(columnOf(batch, 'v').type).toBe('float64');
    expect(valuesOf(batch, 'v')).toEqual([1e20, 1]);
    expect(valuesOf(batch, 'w')).toEqual([2n ** 60n, 1n]);
  });

  it('keeps empty strings', () => {
    const batch = decodeMsgpack(pack({ m: 'cpu', columns: { s: ['', 'a'] }, tags: [] }), context())[0]!;
    expect(valuesOf(batch, 's')).toEqual(['', 'a']);
  });

  it('keeps nanosecond times beyond 2^53 exact', () => {
    const body = pack({ m: 'cpu', columns: { time: [1_700_000_000_123_456_789n], v: [1] } });
    expect([...decodeMsgpack(body, context())[0]!.time]).toEqual([1_700_000_000_123_456n]);
  });

  it('uses "now" for every row without a time column', () => {
    const body = pack({ m: 'cpu', columns: { v: [1, 2] } });
    expect([...decodeMsgpack(body, context())[0]!.time]).toEqual([NOW_MICROS, NOW_MICROS]);
  });

  it('with a tags list, the listed columns are tags and other strings are fields, all declared', () => {
    const body = pack({
      m: 'logs',
      columns: { time: [1, 2], host: ['a', 'b'], message: ['x', 'y'] },
      tags: ['host'],
    });
    const batch = decodeMsgpack(body, context())[0]!;
    expect(columnOf(batch, 'host')).toMatchObject({ role: 'tag', roleDeclared: true });
    expect(columnOf(batch, 'message')).toMatchObject({ role: 'field', roleDeclared: true, type: 'string' });
  });

  it('merges items of one table: union of columns, missing cells invalid, numbers widened per request', () => {
    const body = pack([
      { m: 'cpu', columns: { time: [1, 2], a: [1, 2] } },
      { m: 'cpu', columns: { time: [3], a: [2.5], b: ['x'] } },
      { m: 'mem', columns: { time: [4], free: [10] } },
    ]);
    const batches = decodeMsgpack(body, context());
    expect(batches.map((b) => b.table)).toEqual(['cpu', 'mem']);
    const cpu = tableOf(batches, 'cpu');
    expect(cpu.rows).toBe(3);
    expect([...cpu.time]).toEqual([1_000_000n, 2_000_000n, 3_000_000n]);
    expect(columnOf(cpu, 'a').type).toBe('float64');
    expect(valuesOf(cpu, 'a')).toEqual([1, 2, 2.5]);
    expect(valuesOf(cpu, 'b')).toEqual([null, null, 'x']);
    expect(valuesOf(tableOf(batches, 'mem'), 'free')).toEqual([10n]);
  });
});

describe('MessagePack rows', () => {
  it('decodes row items with h, tags, fields or f, and merges them with columnar items', () => {
    const body = pack({
      batch: [
        {
          m: 'cpu',
          t: 1_700_000_000_000n,
          h: 'server1',
          tags: { region: 'eu' },
          fields: { usage: 1.5, n: 3 },
        },
        { m: 'cpu', t: 1_700_000_000_001n, tags: { region: 'us' }, f: { usage: 2.5, ok: true } },
        { m: 'cpu', columns: { time: [1_700_000_000_002], usage: [3.5] } },
        { m: 'disk', fields: { free: 'lots' } },
      ],
    });
    const batches = decodeMsgpack(body, context());
    const cpu = tableOf(batches, 'cpu');
    expect(cpu.rows).toBe(3);
    expect([...cpu.time]).toEqual([1_700_000_000_000_000n, 1_700_000_000_001_000n, 1_700_000_000_002_000n]);
    expect(columnOf(cpu, 'host')).toMatchObject({ role: 'tag', roleDeclared: true });
    expect(valuesOf(cpu, 'host')).toEqual(['server1', null, null]);
    expect(valuesOf(cpu, 'region')).toEqual(['eu', 'us', null]);
    expect(valuesOf(cpu, 'usage')).toEqual([1.5, 2.5, 3.5]);
    expect(valuesOf(cpu, 'n')).toEqual([3n, null, null]);
    expect(valuesOf(cpu, 'ok')).toEqual([null, true, null]);
    const disk = tableOf(batches, 'disk');
    expect([...disk.time]).toEqual([NOW_MICROS]);
    expect(columnOf(disk, 'free')).toMatchObject({ type: 'string', role: 'field' });
  });

  it('accepts a single row map at the top level', () => {
    const body = pack({ m: 'cpu', t: 1_700_000_000, fields: { v: 1 } });
    const batch = decodeMsgpack(body, context())[0]!;
    expect([...batch.time]).toEqual([1_700_000_000_000_000n]);
  });
});

describe('MessagePack numbers keep their wire type', () => {
  const typeOf = (body: Buffer, name: string) => columnOf(decodeMsgpack(body, context())[0]!, name).type;

  it('a whole float (0xcb, 0xca) is float64 in a row, as Python and Go send 100.0', () => {
    const body = packWire({
      m: 'cpu',
      t: 1_700_000_000,
      fields: { usage_idle: float64(100), load: float32(2), procs: 3 },
    });
    const batch = decodeMsgpack(body, context())[0]!;
    expect(columnOf(batch, 'usage_idle').type).toBe('float64');
    expect(valuesOf(batch, 'usage_idle')).toEqual([100]);
    expect(columnOf(batch, 'load').type).toBe('float64');
    expect(valuesOf(batch, 'load')).toEqual([2]);
    expect(columnOf(batch, 'procs').type).toBe('int64');
  });

  it('a columnar array of whole floats is float64; integers are int64; a mix widens to float64', () => {
    const body = packWire({
      m: 'cpu',
      columns: {
        time: [1_700_000_000, 1_700_000_001],
        floats: [float64(1), float64(-0)],
        ints: [1, 2],
        mixed: [1, float64(2)],
        halves: [float32(0.5), 7],
        sparse: [null, float64(3)],
      },
    });
    const batch = decodeMsgpack(body, context())[0]!;
    expect(batch.columns.map((c) => `${c.name}:${c.type}`)).toEqual([
      'floats:float64',
      'ints:int64',
      'mixed:float64',
      'halves:float64',
      'sparse:float64',
    ]);
    expect(valuesOf(batch, 'floats')).toEqual([1, -0]);
    expect(valuesOf(batch, 'mixed')).toEqual([1, 2]);
    expect(valuesOf(batch, 'halves')).toEqual([0.5, 7]);
    expect(valuesOf(batch, 'sparse')).toEqual([null, 3]);
  });

  it('rows of one request that mix an integer and a whole float make one float64 column', () => {
    const body = packWire([
      { m: 'cpu', t: 1_700_000_000, fields: { v: 1 } },
      { m: 'cpu', t: 1_700_000_001, fields: { v: float64(2) } },
    ]);
    expect(typeOf(body, 'v')).toBe('float64');
  });

  it('whole floats are times like any epoch number', () => {
    const body = packWire({ m: 'cpu', t: float64(1_700_000_000_000), fields: { v: 1 } });
    expect([...decodeMsgpack(body, context())[0]!.time]).toEqual([1_700_000_000_000_000n]);
  });

  it('a whole float is no map', () => {
    expectError(() => decodeMsgpack(packWire({ m: 'cpu', fields: float64(1) }), context()), {
      status: 400,
      code: 'INVALID_MSGPACK',
      names: ['"fields" is not a map but 1'],
    });
  });

  it('a whole float where a string is needed is named with its value', () => {
    expectError(
      () => decodeMsgpack(packWire({ m: 'cpu', tags: { dc: float64(3) }, fields: { v: 1 } }), context()),
      {
        status: 400,
        code: 'INVALID_VALUE',
        names: ['tag dc', 'value 3 is not a string'],
      },
    );
  });
});

describe('MessagePack strings come back exact on every path of the reader', () => {
  // Short and long, ASCII and not, repeated and unique, and longer than the reader's 16 KiB window.
  const values = Array.from({ length: 3000 }, (_, i) => {
    const kinds = [
      `host${i % 7}`,
      `req-${i * 7919}`,
      `a longer value number ${i}, past sixteen bytes`,
      `Zürich ${i} ü日本`,
      'é'.repeat(i % 20),
      i % 500 === 5 ? 'x'.repeat(20_000 + i) : '',
    ];
    return kinds[i % kinds.length]!;
  });
  const ctx = context({ limits: { ...context().limits, maxStringFieldBytes: 1 << 20 } });

  it('in columnar items (array elements)', () => {
    const body = pack({
      m: 'cpu',
      columns: { time: values.map((_, i) => 1_700_000_000 + i), s: values },
      tags: [],
    });
    expect(valuesOf(decodeMsgpack(body, ctx)[0]!, 's')).toEqual(values);
  });

  it('in row items (map values), tags included', () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({
      m: 'cpu',
      t: 1_700_000_000 + i,
      tags: { host: i % 2 ? `h${i % 3}` : `hü${i % 3}` },
      fields: Object.fromEntries(
        Array.from({ length: 6 }, (_, k) => [`f${k}`, values[(i * 6 + k) % values.length]!]),
      ),
    }));
    const batch = decodeMsgpack(pack(rows), ctx)[0]!;
    expect(valuesOf(batch, 'host')).toEqual(rows.map((r) => r.tags.host));
    for (let k = 0; k < 6; k++) expect(valuesOf(batch, `f${k}`)).toEqual(rows.map((r) => r.fields[`f${k}`]));
  });
});

describe('MessagePack bodies the reader refuses', () => {
  const refused = (body: Uint8Array, code: string, ...names: string[]) =>
    expectError(() => decodeMsgpack(body, context()), { status: 400, code, names });

  it('bytes after the first value', () => {
    refused(
      Buffer.concat([pack({ m: 'cpu', fields: { v: 1 } }), Buffer.from([0x01])]),
      'INVALID_MSGPACK',
      '1 bytes follow',
    );
  });

  it('a length beyond the body, without allocating it', () => {
    refused(
      Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]),
      'INVALID_MSGPACK',
      'announces 4294967295 entries',
    );
    refused(Buffer.from([0xdb, 0x00, 0x00, 0x10, 0x00, 0x61]), 'INVALID_MSGPACK', 'Unexpected end');
  });

  it('a body nested deeper than any Arc document, without overflowing the stack', () => {
    refused(Buffer.alloc(100_000, 0x91), 'INVALID_MSGPACK', 'nested deeper than 32 levels');
  });

  it('extension types, naming them (msgpackr records, timestamps)', () => {
    refused(
      pack({ m: 'cpu', t: new Date(0), fields: { v: 1 } }),
      'INVALID_MSGPACK',
      'extension type -1',
      'epoch numbers',
    );
    refused(Buffer.from([0xd4, 0x72, 0x40]), 'INVALID_MSGPACK', 'extension type 114', 'useRecords: false');
  });

  it('a map key that is not a string', () => {
    refused(Buffer.from([0x81, 0x01, 0x02]), 'INVALID_MSGPACK', 'map key at byte 1 is not a string');
  });

  it('a string that is not UTF-8, naming where it is', () => {
    // {"m": "cpu", "tags": {"host": <0xc3 0x28>}, "fields": {"v": 1}}
    const bad = Buffer.concat([
      Buffer.from([0x83]),
      pack('m'),
      pack('cpu'),
      pack('tags'),
      Buffer.from([0x81]),
      pack('host'),
      Buffer.from([0xa2, 0xc3, 0x28]),
      pack('fields'),
      pack({ v: 1 }),
    ]);
    refused(bad, 'INVALID_UTF8', 'the string at byte 19 is not valid UTF-8', 'c328');
  });
});
