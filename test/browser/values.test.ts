/**
 * The console's text of values (web/engine/values.ts, web/ui/format.ts): exact to the
 * microsecond, DuckDB's own forms for intervals, and names quoted for SQL. The browser test
 * (console.test.ts) compares whole answers with the server's; these pin the edge cases.
 */
import { describe, expect, it } from 'vitest';
import { dateText, intervalText, timestampText } from '../../web/engine/values.js';
import { formatTime, quotedName } from '../../web/ui/format.js';

const MICROSECOND = 2;
const NANOSECOND = 3;

describe('console values', () => {
  it('writes timestamps from their integers, before 1970 and past the millisecond', () => {
    expect(timestampText(-1n, MICROSECOND)).toBe('1969-12-31T23:59:59.999999Z');
    expect(timestampText(1_772_323_200_123_456n, MICROSECOND)).toBe('2026-03-01T00:00:00.123456Z');
    // Nanoseconds round toward the past, as DuckDB casts them.
    expect(timestampText(-1n, NANOSECOND)).toBe('1969-12-31T23:59:59.999999Z');
    expect(timestampText(0x7fffffffffffffffn, MICROSECOND)).toBe('infinity');
    expect(timestampText(-0x7fffffffffffffffn, MICROSECOND)).toBe('-infinity');
    expect(dateText(-1)).toBe('1969-12-31');
    expect(dateText(3_000_000)).toBe('+010183-09-21');
  });

  it('writes intervals as DuckDB does', () => {
    expect(intervalText(14, 3, 14_706_789_000n)).toBe('1 year 2 months 3 days 04:05:06.789');
    expect(intervalText(0, 0, 876_543n)).toBe('00:00:00.876543');
    expect(intervalText(0, 0, 0n)).toBe('00:00:00');
    expect(intervalText(1, -1, -1_500_000n)).toBe('1 month -1 day -00:00:01.5');
  });

  it('shows UTC times with all their digits, and quotes SQL names', () => {
    expect(formatTime('2026-03-01T00:00:00.123456Z')).toBe('2026-03-01 00:00:00.123456');
    expect(formatTime('2026-03-01T00:00:00.000000Z')).toBe('2026-03-01 00:00:00');
    expect(quotedName('default')).toBe('"default"');
    expect(quotedName('web-logs "x"')).toBe('"web-logs ""x"""');
  });
});
