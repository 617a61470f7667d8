import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMsgpack } from '../../../services/ingest/decode/index.js';
import { columnOf, context, NOW_MICROS, tableOf, valuesOf } from './helpers.js';

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
