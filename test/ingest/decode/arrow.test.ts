import {
  Bool,
  Dictionary,
  Float16,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeUtf8,
  makeData,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint32,
  Uint64,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeArrowIpc } from '../../../services/ingest/decode/index.js';
import { MAX_MICROS } from '../../../services/ingest/decode/time.js';
import { arrowColumn, arrowTimes, columnOf, context, ipc, rawUtf8, valuesOf } from './helpers.js';

const arrow = (body: Uint8Array, tags?: string[]) =>
  decodeArrowIpc(body, { ...context(), table: 'cpu', ...(tags ? { tags } : {}) });

describe('Arrow IPC', () => {
  it('decodes every supported type, nulls included, into the batch', () => {
    const body = ipc([
      arrowTimes(new TimestampNanosecond(), [
        1_700_000_000_123_456_789n,
        1_700_000_000_123_457_001n,
        1_700_000_000_123_458_999n,
      ]),
      arrowColumn('host', ['', 'b', null], new Utf8()),
      arrowColumn('region', ['eu', 'eu', 'us'], new Dictionary(new Utf8(), new Int32())),
      arrowColumn('large', ['x', null, 'z'], new LargeUtf8()),
      arrowColumn('f64', [1.5, null, -2], new Float64()),
      arrowColumn('f32', [0.5, 1, 2], new Float32()),
      arrowColumn('f16', [0.5, -2, 1024], new Float16()),
      arrowColumn('i8', [-1, 2, null], new Int8()),
      arrowColumn('i16', [-300, 300, 0], new Int16()),
      arrowColumn('i32', [-70000, 70000, 0], new Int32()),
      arrowColumn('i64', [-(2n ** 62n), 2n ** 62n, 0n], new Int64()),
      arrowColumn('u32', [4_294_967_295, 0, 1], new Uint32()),
      arrowColumn('u64', [2n ** 63n - 1n, 0n, null], new Uint64()),
      arrowColumn('ok', [true, null, false], new Bool()),
    ]);
    const [batch] = arrow(body);
    expect(batch!).toMatchObject({ database: 'db', table: 'cpu', rows: 3 });
    expect([...batch!.time]).toEqual([
      1_700_000_000_123_456n,
      1_700_000_000_123_457n,
      1_700_000_000_123_458n,
    ]);
    expect(columnOf(batch!, 'host')).toMatchObject({ type: 'string', role: 'tag', roleDeclared: false });
    expect(valuesOf(batch!, 'host')).toEqual(['', 'b', null]);
    expect(valuesOf(batch!, 'region')).toEqual(['eu', 'eu', 'us']);
    expect(valuesOf(batch!, 'large')).toEqual(['x', null, 'z']);
    expect(valuesOf(batch!, 'f64')).toEqual([1.5, null, -2]);
    expect(valuesOf(batch!, 'f32')).toEqual([0.5, 1, 2]);
    expect(valuesOf(batch!, 'f16')).toEqual([0.5, -2, 1024]);
    expect(columnOf(batch!, 'i8')).toMatchObject({ type: 'int64', role: 'field', roleDeclared: true });
    expect(valuesOf(batch!, 'i8')).toEqual([-1n, 2n, null]);
    expect(valuesOf(batch!, 'i16')).toEqual([-300n, 300n, 0n]);
    expect(valuesOf(batch!, 'i32')).toEqual([-70000n, 70000n, 0n]);
    expect(valuesOf(batch!, 'i64')).toEqual([-(2n ** 62n), 2n ** 62n, 0n]);
    expect(valuesOf(batch!, 'u32')).toEqual([4_294_967_295n, 0n, 1n]);
    expect(valuesOf(batch!, 'u64')).toEqual([2n ** 63n - 1n, 0n, null]);
    expect(valuesOf(batch!, 'ok')).toEqual([true, null, false]);
  });

  it('converts every timestamp unit to microseconds', () => {
    const cases = [
      [new TimestampSecond(), 1_700_000_000n, 1_700_000_000_000_000n],
      [new TimestampMillisecond(), 1_700_000_000_123n, 1_700_000_000_123_000n],
      [new TimestampMicrosecond(), 1_700_000_000_123_456n, 1_700_000_000_123_456n],
      [new TimestampNanosecond(), 9_223_372_036_854_775_807n, 9_223_372_036_854_775n],
    ] as const;
    for (const [type, value, micros] of cases) {
      const body = ipc([arrowTimes(type, [value]), arrowColumn('v', [1], new Float64())]);
      expect([...arrow(body)[0]!.time], String(type)).toEqual([micros]);
    }
  });

  it('uses one-chunk columns already in Weir types in place, and still refuses bad microsecond times', () => {
    const body = ipc([
      arrowTimes(new TimestampMicrosecond(), [1_700_000_000_000_001n, MAX_MICROS]),
      arrowColumn('f', [1.5, null], new Float64()),
      arrowColumn('i', [7n, -8n], new Int64()),
      arrowColumn('s', ['a', 'bc'], new Utf8()),
      arrowColumn('f32', [0.5, 1], new Float32()),
    ]);
    const batch = arrow(body)[0]!;
    const bufferOf = (name: string) => {
      const column = columnOf(batch, name);
      return column.type === 'string' ? column.data.buffer : column.values.buffer;
    };
    // Views of the body: nothing copied.
    expect(batch.time.buffer).toBe(body.buffer);
    for (const name of ['f', 'i', 's']) expect(bufferOf(name), name).toBe(body.buffer);
    expect(bufferOf('f32')).not.toBe(body.buffer);
    expect([...batch.time]).toEqual([1_700_000_000_000_001n, MAX_MICROS]);
    expect(valuesOf(batch, 'f')).toEqual([1.5, null]);
    expect(valuesOf(batch, 'i')).toEqual([7n, -8n]);
    expect(valuesOf(batch, 's')).toEqual(['a', 'bc']);

    const times = (values: bigint[]) =>
      ipc([
        arrowTimes(new TimestampMicrosecond(), values),
        arrowColumn(
          'v',
          values.map(() => 1),
          new Float64(),
        ),
      ]);
    expect(() => arrow(times([1n, MAX_MICROS + 1n]))).toThrow(/row 2: invalid time .*after 2262-04-11/);
    expect(() => arrow(times([1n, 2n, -1n]))).toThrow(/row 3: invalid time -1: before 1970/);
  });

  it('infers the unit of an integer epoch time column per value', () => {
    const ns = ipc([
      arrowColumn('time', [1_700_000_000_123_456_789n], new Int64()),
      arrowColumn('v', [1], new Float64()),
    ]);
    expect([...arrow(ns)[0]!.time]).toEqual([1_700_000_000_123_456n]);
    const s = ipc([arrowColumn('time', [1_700_000_000], new Int32()), arrowColumn('v', [1], new Float64())]);
    expect([...arrow(s)[0]!.time]).toEqual([1_700_000_000_000_000n]);
    const ms = ipc([
      arrowColumn('time', [1_700_000_000_123n, 1_700_000_000_124n], new Int64()),
      arrowColumn('v', [1, 2], new Float64()),
    ]);
    expect([...arrow(ms)[0]!.time]).toEqual([1_700_000_000_123_000n, 1_700_000_000_124_000n]);
  });

  it('reads every record batch of the stream, and vectors that were sliced', () => {
    const body = ipc(
      [arrowTimes(new TimestampSecond(), [1n, 2n]), arrowColumn('v', [1.5, null], new Float64())],
      3,
    );
    const batch = arrow(body)[0]!;
    expect(batch.rows).toBe(6);
    expect([...batch.time]).toEqual([1_000_000n, 2_000_000n, 1_000_000n, 2_000_000n, 1_000_000n, 2_000_000n]);
    expect(valuesOf(batch, 'v')).toEqual([1.5, null, 1.5, null, 1.5, null]);

    const time = arrowTimes(new TimestampSecond(), [1n, 2n, 3n, 4n]).vector.data[0]!.slice(1, 2);
    const flags = vectorFromArray([true, false, null, true], new Bool()).slice(1, 3);
    const names = vectorFromArray(['a', 'b', null, 'd'], new Utf8()).slice(1, 3);
    const sliced = ipc([
      { name: 'time', vector: { type: time.type, length: 2, data: [time] } },
      { name: 'ok', vector: flags },
      { name: 'name', vector: names },
    ]);
    const slicedBatch = arrow(sliced)[0]!;
    expect([...slicedBatch.time]).toEqual([2_000_000n, 3_000_000n]);
    expect(valuesOf(slicedBatch, 'ok')).toEqual([false, null]);
    expect(valuesOf(slicedBatch, 'name')).toEqual(['b', null]);
  });

  it('keeps UTF-8 strings exact across record batches, dictionaries and null slots', () => {
    const words = ['grüße', '東京', '', '🙂 ok'];
    const body = ipc(
      [
        arrowTimes(new TimestampSecond(), [1n, 2n, 3n, 4n]),
        arrowColumn('plain', words, new Utf8()),
        arrowColumn('coded', [...words].reverse(), new Dictionary(new Utf8(), new Int32())),
      ],
      2,
    );
    const batch = arrow(body)[0]!;
    expect(valuesOf(batch, 'plain')).toEqual([...words, ...words]);
    expect(valuesOf(batch, 'coded')).toEqual([...[...words].reverse(), ...[...words].reverse()]);
    // A null row may cover bytes that are not text: they are dropped, not refused.
    const nulls = rawUtf8('s', [0, 1, 3, 4], [0x61, 0xff, 0xfe, 0x62], new Uint8Array([0b101]));
    const withNull = arrow(ipc([arrowTimes(new TimestampSecond(), [1n, 2n, 3n]), nulls]))[0]!;
    expect(valuesOf(withNull, 's')).toEqual(['a', null, 'b']);
  });

  it('refuses NaN and infinities only where a row holds a value: a null slot may hold anything', () => {
    // Rows 1 and 3 are null (validity bits 0b010); their slots hold NaN and Infinity.
    const data = makeData({
      type: new Float64(),
      length: 3,
      data: Float64Array.of(Number.NaN, 1.5, Number.POSITIVE_INFINITY),
      nullBitmap: Uint8Array.of(0b010),
    });
    const column = { name: 'v', vector: { type: data.type, length: 3, data: [data] } };
    const [batch] = arrow(ipc([arrowTimes(new TimestampMillisecond(), [1n, 2n, 3n]), column]));
    expect(valuesOf(batch!, 'v')).toEqual([null, 1.5, null]);
  });

  it('takes tag columns from x-weir-tags, declaring every role', () => {
    const body = ipc([
      arrowTimes(new TimestampSecond(), [1n]),
      arrowColumn('host', ['a'], new Utf8()),
      arrowColumn('message', ['hello'], new Utf8()),
    ]);
    const batch = arrow(body, ['host'])[0]!;
    expect(columnOf(batch, 'host')).toMatchObject({ role: 'tag', roleDeclared: true });
    expect(columnOf(batch, 'message')).toMatchObject({ role: 'field', roleDeclared: true });
  });
});
