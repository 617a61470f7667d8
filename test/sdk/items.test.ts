/** MessagePack bodies joined from items packed one by one (sdk/items.ts) are what msgpackr packs whole. */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { columnarItem, joinPacked, packItem, rowItem } from '../../sdk/items.js';
import { decodeMsgpack } from '../../services/ingest/decode/index.js';
import { columnOf, context, valuesOf } from '../ingest/decode/helpers.js';

const whole = new Packr({ useRecords: false, variableMapSize: true });

describe('joinPacked', () => {
  it('gives the bytes of the items packed as one array, across the array header sizes', () => {
    for (const count of [2, 15, 16, 65_535, 65_536]) {
      const items = Array.from({ length: count }, (_, i) =>
        rowItem({ table: 'r', time: i, fields: { v: i } }),
      );
      expect(Buffer.from(joinPacked(items.map(packItem))).equals(whole.pack(items)), `${count} items`).toBe(
        true,
      );
    }
  });

  it('sends a lone item as itself', () => {
    const item = rowItem({ table: 'r', fields: { v: 1 } });
    expect(Buffer.from(joinPacked([packItem(item)])).equals(whole.pack(item))).toBe(true);
  });
});

describe('whole numbers on the wire', () => {
  it('stay integers beyond 32 bits, which msgpackr alone would send as float64', () => {
    const big = 5_000_000_000;
    const row = decodeMsgpack(
      packItem(rowItem({ table: 'r', time: 1, fields: { n: big, x: 0.5 } })),
      context(),
    )[0]!;
    expect(columnOf(row, 'n').type).toBe('int64');
    expect(columnOf(row, 'x').type).toBe('float64');
    const columnar = decodeMsgpack(
      packItem(columnarItem({ table: 'c', columns: { time: [1, 2], n: [1, -big], f: [1, 2.5] } })),
      context(),
    )[0]!;
    expect(columnOf(columnar, 'n').type).toBe('int64');
    expect(valuesOf(columnar, 'n').map(Number)).toEqual([1, -big]);
    expect(columnOf(columnar, 'f').type).toBe('float64');
  });
});
