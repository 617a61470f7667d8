import { describe, expect, it } from 'vitest';
import { decodeJson } from '../../../services/ingest/decode/index.js';
import { columnOf, context, NOW_MICROS, tableOf, valuesOf } from './helpers.js';

const json = (text: string) => decodeJson(Buffer.from(text), context());

describe('JSON', () => {
  it('decodes the MessagePack shapes, with RFC 3339 or epoch times', () => {
    const batches = json(
      JSON.stringify({
        batch: [
          {
            m: 'cpu',
            columns: {
              time: ['2023-11-14T22:13:20.123456Z', '2023-11-15T00:13:20+02:00'],
              host: ['a', 'b'],
              usage: [1, 2.5],
            },
            tags: ['host'],
          },
          { m: 'cpu', t: '2023-11-14T22:13:21Z', h: 'c', fields: { usage: 3 } },
          { m: 'mem', t: 1_700_000_000_000, fields: { free: 7 } },
          { m: 'disk', fields: { ok: true } },
        ],
      }),
    );
    const cpu = tableOf(batches, 'cpu');
    expect([...cpu.time]).toEqual([1_700_000_000_123_456n, 1_700_000_000_000_000n, 1_700_000_001_000_000n]);
    expect(columnOf(cpu, 'host')).toMatchObject({ role: 'tag', roleDeclared: true });
    expect(valuesOf(cpu, 'host')).toEqual(['a', 'b', 'c']);
    expect(valuesOf(cpu, 'usage')).toEqual([1, 2.5, 3]);
    expect([...tableOf(batches, 'mem').time]).toEqual([1_700_000_000_000_000n]);
    expect(valuesOf(tableOf(batches, 'mem'), 'free')).toEqual([7n]);
    expect([...tableOf(batches, 'disk').time]).toEqual([NOW_MICROS]);
  });

  it('reads integers beyond 2^53 exactly: nanosecond times and int64 fields', () => {
    const text =
      '{"m":"cpu","columns":{"time":[1700000000123456789,1700000000123457999],' +
      '"big":[9223372036854775807,-9223372036854775808],"s":["1234567890123456789","x"]}}';
    const batch = json(text)[0]!;
    expect([...batch.time]).toEqual([1_700_000_000_123_456n, 1_700_000_000_123_457n]);
    expect(valuesOf(batch, 'big')).toEqual([9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n]);
    expect(valuesOf(batch, 's')).toEqual(['1234567890123456789', 'x']);
  });

  it('accepts a UTF-8 byte order mark', () => {
    expect(json('\ufeff{"m":"cpu","fields":{"v":1}}')[0]!.rows).toBe(1);
  });
});
