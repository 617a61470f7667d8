/**
 * Times on the wire → microseconds since the epoch (DESIGN.md §3). Epoch numbers without a unit get
 * one from their magnitude (ARC-COMPAT: < 1e10 s, < 1e13 ms, < 1e16 µs, else ns); unlike Arc, every
 * value is checked and a column that mixes units is refused rather than silently shifted by 1000×.
 *
 * Valid times run from 1970-01-01 to 2262-04-11T23:47:16.854775Z (the int64 nanosecond range every
 * engine downstream can hold). Rounding: sub-microsecond digits are dropped (floor, so a nanosecond
 * time and its microsecond form agree); fractional seconds and milliseconds, which a binary float
 * cannot hold exactly, round to the nearest microsecond.
 */
import { parseRfc3339 } from '../../../lib/rfc3339/index.js';
import { IngestError, show } from '../errors.js';

/** Units of epoch numbers; `m` and `h` exist only as line protocol precisions. */
export type TimeUnit = 's' | 'ms' | 'us' | 'ns' | 'm' | 'h';

export const UNIT_NAMES: Record<TimeUnit, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  m: 'minutes',
  h: 'hours',
};

/** Latest valid time: int64 nanoseconds' maximum, in microseconds. */
export const MAX_MICROS = 9_223_372_036_854_775n;

const MICROS_PER: Record<Exclude<TimeUnit, 'ns'>, number> = { s: 1e6, ms: 1e3, us: 1, m: 6e7, h: 3.6e9 };
const MICROS_PER_BIG: Record<Exclude<TimeUnit, 'ns'>, bigint> = {
  s: 1_000_000n,
  ms: 1_000n,
  us: 1n,
  m: 60_000_000n,
  h: 3_600_000_000n,
};

function invalid(value: unknown, why: string): IngestError {
  return new IngestError('INVALID_TIME', `invalid time ${show(value)}: ${why}`);
}

const TOO_LATE = 'after 2262-04-11T23:47:16.854775Z, the latest time Weir stores';

/**
 * The unit of an epoch number by its magnitude; throws INVALID_TIME for values that are no time at all
 * (not finite, negative).
 */
export function inferUnit(value: number | bigint): TimeUnit {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(value, 'not a finite number');
    if (value < 0) throw invalid(value, 'before 1970-01-01');
    return value < 1e10 ? 's' : value < 1e13 ? 'ms' : value < 1e16 ? 'us' : 'ns';
  }
  if (value < 0n) throw invalid(value, 'before 1970-01-01');
  return value < 10_000_000_000n
    ? 's'
    : value < 10_000_000_000_000n
      ? 'ms'
      : value < 10n ** 16n
        ? 'us'
        : 'ns';
}

/**
 * Epoch `value` in `unit` as microseconds, exactly: a number when it is a safe integer, else a bigint.
 * Throws INVALID_TIME outside the valid range.
 */
export function toMicros(value: number | bigint, unit: TimeUnit): number | bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw invalid(value, 'before 1970-01-01');
    const micros = unit === 'ns' ? value / 1000n : value * MICROS_PER_BIG[unit];
    if (micros > MAX_MICROS) throw invalid(value, TOO_LATE);
    return micros <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(micros) : micros;
  }
  if (!Number.isFinite(value)) throw invalid(value, 'not a finite number');
  if (value < 0) throw invalid(value, 'before 1970-01-01');
  if (unit === 'ns') {
    // Above 2^53, where every nanosecond time lies, dividing as a double would round; divide exactly.
    return toMicros(BigInt(Math.floor(value)), 'ns');
  }
  const scaled = value * MICROS_PER[unit];
  const micros = Number.isInteger(value) ? scaled : unit === 'us' ? Math.floor(scaled) : Math.round(scaled);
  if (micros <= Number.MAX_SAFE_INTEGER) return micros;
  if (micros > 1e19) throw invalid(value, TOO_LATE);
  // Past 2^53 the double product may be off by a few microseconds: redo it exactly where it can be.
  if (Number.isInteger(value)) return toMicros(BigInt(value), unit);
  const exact = BigInt(micros);
  if (exact > MAX_MICROS) throw invalid(value, TOO_LATE);
  return exact;
}

/**
 * Remembers the unit of the first epoch number of a table's time column in one request, and refuses a
 * later value of another unit, naming both.
 */
export class TimeUnitCheck {
  private first = '';
  private current: TimeUnit | undefined;

  constructor(private readonly table: string) {}

  /** The unit of the first value, once there was one. */
  get unit(): TimeUnit | undefined {
    return this.current;
  }

  /** Call with each value's unit; cheap when it matches. `where` names the first value and runs once. */
  check(unit: TimeUnit, value: number | bigint, where: () => string): void {
    if (unit === this.current) return;
    if (this.current === undefined) {
      this.current = unit;
      this.first = `${where()} is ${show(value)} (${UNIT_NAMES[unit]})`;
      return;
    }
    throw new IngestError(
      'MIXED_TIME_UNITS',
      `time of table ${this.table} mixes units: ${show(value)} (${UNIT_NAMES[unit]}) here but ${this.first}; ` +
        'send one unit per table and request (< 1e10 seconds, < 1e13 milliseconds, < 1e16 microseconds, else nanoseconds)',
      400,
      { table: this.table },
    );
  }
}

/** An RFC 3339 time with a zone (`2024-05-01T12:00:00.123456Z`, `...+02:00`) as microseconds. */
export function rfc3339ToMicros(text: string): number | bigint {
  const time = parseRfc3339(text);
  if (time === 'format')
    throw invalid(text, 'not an RFC 3339 time with a zone, such as 2024-05-01T12:00:00.123Z');
  if (time === 'calendar') throw invalid(text, 'no such date or time of day');
  const micros = time.epochMs * 1000 + time.micros;
  if (micros < 0) throw invalid(text, 'before 1970-01-01');
  if (micros > Number.MAX_SAFE_INTEGER) {
    const exact = BigInt(time.epochMs) * 1000n + BigInt(time.micros);
    if (exact > MAX_MICROS) throw invalid(text, TOO_LATE);
    return exact;
  }
  return micros;
}
