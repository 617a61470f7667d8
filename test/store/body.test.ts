import { describe, expect, it } from 'vitest';
import { bodyBytes, partsAfter } from '../../catalog/index.js';

const bytes = (...values: number[]) => Uint8Array.from(values);
const plain = (parts: Uint8Array[]) => parts.map((p) => [...p]);

describe('object bodies in parts', () => {
  it('partsAfter drops what a short write wrote, cutting into a part where it stopped', () => {
    const parts = [bytes(1, 2), bytes(3, 4, 5), bytes(6)];
    expect(plain(partsAfter(parts, 0))).toEqual([[1, 2], [3, 4, 5], [6]]);
    expect(plain(partsAfter(parts, 2))).toEqual([[3, 4, 5], [6]]);
    expect(plain(partsAfter(parts, 3))).toEqual([[4, 5], [6]]);
    expect(plain(partsAfter(parts, 5))).toEqual([[6]]);
    expect(plain(partsAfter(parts, 6))).toEqual([]);
  });

  it('bodyBytes joins parts and passes one buffer through as it is', () => {
    const one = bytes(9, 8);
    expect(bodyBytes(one)).toBe(one);
    expect([...bodyBytes([bytes(1), bytes(), bytes(2, 3)])]).toEqual([1, 2, 3]);
  });
});
