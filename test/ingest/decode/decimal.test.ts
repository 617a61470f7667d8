import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDecimal } from '../../../services/ingest/decode/decimal.js';

/** readDecimal over a whole string's bytes; undefined means "left to Number()". */
const parse = (text: string) => {
  const bytes = Buffer.from(text, 'latin1');
  const out = { value: 0, end: 0 };
  return readDecimal(bytes, 0, bytes.length, out) && out.end === bytes.length ? out.value : undefined;
};

/** Every answer readDecimal gives must be Number()'s, bit for bit (-0 included). */
function expectLikeNumber(text: string): boolean {
  const value = parse(text);
  if (value !== undefined)
    expect(Object.is(value, Number(text)), `${text}: ${value} vs ${Number(text)}`).toBe(true);
  return value !== undefined;
}

describe('readDecimal', () => {
  it('stops at the first byte that cannot continue the number and says where', () => {
    const read = (text: string, start = 0) => {
      const out = { value: 0, end: 0 };
      return readDecimal(Buffer.from(text), start, text.length, out) ? out : undefined;
    };
    expect(read('v=12.5,w=1', 2)).toEqual({ value: 12.5, end: 6 });
    expect(read('107i')).toEqual({ value: 107, end: 3 });
    expect(read('1.2.3')).toEqual({ value: 1.2, end: 3 });
    expect(read('-0.30000000000000004 9')).toEqual({ value: -0.30000000000000004, end: 20 });
    expect(read('true')).toBeUndefined();
  });

  it('answers the shortest text of random doubles exactly as Number() does, almost always itself', () => {
    let answered = 0;
    let total = 0;
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), (x) => {
        const text = String(x);
        if (/e/i.test(text)) return;
        total++;
        if (expectLikeNumber(text)) answered++;
      }),
      { numRuns: 20_000, seed: 7 },
    );
    // The fast path must carry the common case, or the line protocol decoder gains nothing.
    expect(answered / total).toBeGreaterThan(0.99);
  });

  it('rounds 16 to 19 significant digits at every scale as Number() does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 19 }),
        fc.integer({ min: 0, max: 22 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 19, maxLength: 19 }),
        fc.boolean(),
        (length, scale, digitList, negative) => {
          const digits = `${1 + (digitList[0]! % 9)}${digitList.slice(1, length).join('')}`;
          const text =
            scale === 0
              ? digits
              : scale < length
                ? `${digits.slice(0, length - scale)}.${digits.slice(length - scale)}`
                : `0.${'0'.repeat(scale - length)}${digits}`;
          expectLikeNumber(negative ? `-${text}` : text);
        },
      ),
      { numRuns: 50_000, seed: 11 },
    );
  });

  it('leaves exact ties and powers of two to Number(), and gets their neighbours right', () => {
    // Integers of 17-19 digits next to 2^54…2^63: ties between two doubles (round half to even)
    // and powers of two, where the spacing of doubles changes.
    let leftToNumber = 0;
    for (let e = 54n; e <= 63n; e++) {
      for (let d = -600n; d <= 600n; d++) {
        const text = (2n ** e + d).toString();
        if (!expectLikeNumber(text)) leftToNumber++;
        expectLikeNumber(`${text.slice(0, 9)}.${text.slice(9)}`);
      }
    }
    expect(parse('9007199254740993')).toBeUndefined(); // 2^53 + 1: exactly between two doubles
    expect(parse('18014398509481984')).toBeUndefined(); // 2^54
    expect(leftToNumber).toBeGreaterThan(0);
  });

  it('reads short forms and signs, and declines what it does not handle', () => {
    for (const text of [
      '0',
      '-0',
      '-0.0',
      '2.',
      '.5',
      '007.50',
      '0.1',
      '123456789012345',
      '1.7976931348623157',
    ])
      expect(expectLikeNumber(text), text).toBe(true);
    expect(Object.is(parse('-0.0'), -0)).toBe(true);
    for (const text of [
      '',
      '-',
      '.',
      '1e5',
      '1.2.3',
      '12a',
      '+1',
      ' 1',
      '12345678901234567890',
      '1.00000000000000000000000',
    ])
      expect(parse(text), text).toBeUndefined();
  });
});
