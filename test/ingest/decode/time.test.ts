import { describe, expect, it } from 'vitest';
import { WeirError } from '../../../catalog/index.js';
import {
  inferUnit,
  MAX_MICROS,
  rfc3339ToMicros,
  TimeUnitCheck,
  toMicros,
} from '../../../services/ingest/decode/time.js';

describe('time units', () => {
  it('infers the unit from the magnitude of each value', () => {
    expect(inferUnit(1_700_000_000)).toBe('s');
    expect(inferUnit(1_700_000_000_000)).toBe('ms');
    expect(inferUnit(1_700_000_000_000_000)).toBe('us');
    expect(inferUnit(1_700_000_000_000_000_000n)).toBe('ns');
    expect(inferUnit(9_999_999_999)).toBe('s');
    expect(inferUnit(10_000_000_000)).toBe('ms');
    expect(inferUnit(10n ** 16n - 1n)).toBe('us');
    expect(inferUnit(10n ** 16n)).toBe('ns');
  });

  it('converts to microseconds exactly, past 2^53 included', () => {
    expect(toMicros(1_700_000_000, 's')).toBe(1_700_000_000_000_000);
    expect(toMicros(1_700_000_000_123, 'ms')).toBe(1_700_000_000_123_000);
    expect(toMicros(1_700_000_000_123_456n, 'us')).toBe(1_700_000_000_123_456);
    // 1.7e18 ns exceeds 2^53; the sub-microsecond digits are dropped (floor).
    expect(toMicros(1_700_000_000_123_456_789n, 'ns')).toBe(1_700_000_000_123_456);
    expect(toMicros(2, 'h')).toBe(7_200_000_000);
    expect(toMicros(3, 'm')).toBe(180_000_000);
    // Fractional seconds and milliseconds round to the nearest microsecond.
    expect(toMicros(1_700_000_000.000001, 's')).toBe(1_700_000_000_000_001);
    expect(toMicros(1.0005, 'ms')).toBe(1001);
    expect(toMicros(1.9, 'us')).toBe(1);
  });

  it('accepts the last representable instant and refuses the next', () => {
    expect(toMicros(9_223_372_036_854_775_807n, 'ns')).toBe(MAX_MICROS);
    expect(toMicros(MAX_MICROS, 'us')).toBe(MAX_MICROS);
    expect(() => toMicros(MAX_MICROS + 1n, 'us')).toThrow(/after 2262-04-11/);
    expect(() => toMicros(9_223_372_037, 's')).toThrow(/after 2262-04-11/);
  });

  it('refuses non-finite and negative values', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, -1, -1n]) {
      const error = (() => {
        try {
          toMicros(value, 's');
        } catch (e) {
          return e as WeirError;
        }
        throw new Error('no error');
      })();
      expect(error.code).toBe('INVALID_TIME');
      expect(error.httpStatus).toBe(400);
    }
  });

  it('refuses a second unit and names both values', () => {
    const check = new TimeUnitCheck('cpu');
    check.check('ms', 1_700_000_000_000, () => 'row 1');
    check.check('ms', 1_700_000_000_001, () => 'row 2');
    expect(() => check.check('s', 1_700_000_000, () => 'row 3')).toThrow(
      /time of table cpu mixes units: 1700000000 \(seconds\) here but row 1 is 1700000000000 \(milliseconds\)/,
    );
  });

  it('parses RFC 3339 times with zones, to the microsecond', () => {
    expect(rfc3339ToMicros('2023-11-14T22:13:20Z')).toBe(1_700_000_000_000_000);
    expect(rfc3339ToMicros('2023-11-14T22:13:20.123456789Z')).toBe(1_700_000_000_123_456);
    expect(rfc3339ToMicros('2023-11-15T00:13:20.5+02:00')).toBe(1_700_000_000_500_000);
    expect(rfc3339ToMicros('2262-04-11T23:47:16.854775Z')).toBe(MAX_MICROS);
    for (const bad of ['2023-11-14', '2023-11-14T22:13:20', '2023-02-30T00:00:00Z', '1969-12-31T23:59:59Z']) {
      expect(() => rfc3339ToMicros(bad), bad).toThrow(WeirError);
    }
    expect(() => rfc3339ToMicros('2262-04-11T23:47:16.854776Z')).toThrow(/after 2262/);
  });
});
