/**
 * A file's time column → microseconds since the epoch, as Weir stores time. Values are RFC 3339
 * times with a zone, or epoch numbers in `--precision`; without it the unit comes from the first
 * value's size (< 1e10 s, < 1e13 ms, < 1e16 µs, else ns, as the server infers it) and every later
 * value must have the same, so a file cannot silently mix seconds and milliseconds. Weir stores
 * 1970-01-01 to 2262-04-11; anything outside is refused.
 */

import { parseRfc3339, type Rfc3339Time } from '../../lib/rfc3339/index.js';

export const PRECISIONS = ['s', 'ms', 'us', 'ns'] as const;
export type Precision = (typeof PRECISIONS)[number];

const UNIT_NAMES: Record<Precision, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
};

const MAX_MICROS = 9_223_372_036_854_775n;
const MICROS_PER: Record<Exclude<Precision, 'ns'>, number> = { s: 1e6, ms: 1e3, us: 1 };

const EPOCH = /^\d+(?:\.\d+)?$/;

/** A time value that cannot be stored; the message says why (the caller says where). */
export class TimeError extends Error {}

function unitOf(value: number): Precision {
  return value < 1e10 ? 's' : value < 1e13 ? 'ms' : value < 1e16 ? 'us' : 'ns';
}

/** The first value of a kind, to name in messages about later ones. */
interface First {
  where: string;
  value: string;
}

export class TimeReader {
  private format: 'rfc3339' | 'epoch' | undefined;
  private unit: Precision | undefined;
  private first: First | undefined;
  private readonly utc = new UtcMinutes();

  constructor(private readonly precision: Precision | undefined) {
    this.unit = precision;
  }

  /** What the column turned out to hold, for summaries. */
  describe(): string {
    if (this.format === 'rfc3339') return 'RFC 3339 times';
    if (!this.unit) return 'no values';
    return `epoch ${UNIT_NAMES[this.unit]}${this.precision ? '' : ' (by their size; --precision sets it)'}`;
  }

  /** A time written as text (CSV, or a string column of an Arrow file). */
  text(value: string, where: string): bigint {
    const fast = this.format === 'rfc3339' ? this.utc.micros(value) : undefined;
    if (fast !== undefined) return BigInt(fast);
    const time = parseRfc3339(value);
    const format = time !== 'format' ? 'rfc3339' : EPOCH.test(value) ? 'epoch' : undefined;
    if (!format && EPOCH.test(value.slice(1)) && value[0] === '-') checkRange(-1n, value);
    if (!format) {
      throw new TimeError(
        `${show(value)} is not a time: use RFC 3339 with a zone (2026-03-01T12:00:00Z) or an epoch number`,
      );
    }
    if (!this.format) {
      this.format = format;
      this.first = { where, value };
    } else if (format !== this.format) {
      const held = this.format === 'rfc3339' ? 'RFC 3339 times' : 'epoch numbers';
      throw new TimeError(
        `${show(value)} breaks the column's format: it holds ${held} (${this.firstShown()})`,
      );
    }
    return time !== 'format' ? rfc3339Micros(time, value) : this.epochText(value, where);
  }

  /** An integer epoch (an integer column of an Arrow file). */
  integer(value: bigint, where: string): bigint {
    if (value < 0n) return checkRange(-1n, value);
    const unit = this.unitFor(Number(value), String(value), where);
    return checkRange(unit === 'ns' ? value / 1000n : value * BigInt(MICROS_PER[unit]), value);
  }

  private epochText(text: string, where: string): bigint {
    const number = Number(text);
    const unit = this.unitFor(number, text, where);
    const whole = !text.includes('.');
    if (unit === 'ns') {
      if (!whole) throw new TimeError(`${show(text)} has a fraction of a nanosecond`);
      return checkRange(BigInt(text) / 1000n, text);
    }
    if (whole && number <= Number.MAX_SAFE_INTEGER)
      return checkRange(BigInt(number) * BigInt(MICROS_PER[unit]), text);
    // A fraction (or a huge number) rounds to the nearest microsecond, as the server rounds.
    return checkRange(BigInt(Math.round(number * MICROS_PER[unit])), text);
  }

  private unitFor(number: number, text: string, where: string): Precision {
    if (this.precision) return this.precision;
    const unit = unitOf(number);
    if (!this.unit) {
      this.unit = unit;
      this.first ??= { where, value: text };
    } else if (unit !== this.unit) {
      throw new TimeError(
        `${show(text)} looks like ${UNIT_NAMES[unit]} but the column holds ${UNIT_NAMES[this.unit]} ` +
          `(${this.firstShown()}); pass --precision to say which unit the file uses`,
      );
    }
    return unit;
  }

  private firstShown(): string {
    return this.first ? `${this.first.where}: ${show(this.first.value)}` : 'earlier rows';
  }
}

/**
 * The common case of RFC 3339, UTC times (`…T12:34:56.789Z`), without a regex or a Date per value:
 * the rows of a file mostly share their minute, whose epoch is worked out (and checked) once.
 * Anything else answers undefined and takes the general path.
 */
class UtcMinutes {
  private minute = '';
  private minuteMicros = 0;

  micros(text: string): number | undefined {
    const n = text.length;
    if (n < 20 || text.charCodeAt(n - 1) !== 90 || text.charCodeAt(16) !== 58) return undefined;
    if (this.minute === '' || !text.startsWith(this.minute)) {
      const minute = text.slice(0, 16);
      const time = parseRfc3339(`${minute}:00Z`);
      // Anything unusual (no such minute, before 1970) takes the general path, which says why.
      if (typeof time === 'string' || time.epochMs < 0) return undefined;
      this.minuteMicros = time.epochMs * 1000;
      this.minute = minute;
    }
    const tens = text.charCodeAt(17) - 48;
    const ones = text.charCodeAt(18) - 48;
    if (tens < 0 || tens > 5 || ones < 0 || ones > 9) return undefined;
    let fraction = 0;
    if (n > 20) {
      if (text.charCodeAt(19) !== 46 || n > 30) return undefined;
      for (let i = 20, scale = 100_000; i < n - 1; i++, scale /= 10) {
        const digit = text.charCodeAt(i) - 48;
        if (digit < 0 || digit > 9) return undefined;
        if (scale >= 1) fraction += digit * scale;
      }
      if (n === 21) return undefined;
    } else if (text.charCodeAt(19) !== 90) return undefined;
    const micros = this.minuteMicros + (tens * 10 + ones) * 1e6 + fraction;
    return micros <= Number.MAX_SAFE_INTEGER ? micros : undefined;
  }
}

/** A value of an Arrow Timestamp column, whose unit its type says. */
export function timestampMicros(value: bigint, unit: Precision): bigint {
  if (value < 0n) return checkRange(-1n, value);
  return checkRange(unit === 'ns' ? value / 1000n : value * BigInt(MICROS_PER[unit]), value);
}

/** A parsed RFC 3339 time as microseconds within what Weir stores. */
function rfc3339Micros(time: Rfc3339Time | 'calendar', text: string): bigint {
  if (time === 'calendar') throw new TimeError(`${show(text)} is no such date or time of day`);
  return checkRange(BigInt(time.epochMs) * 1000n + BigInt(time.micros), text);
}

/** Microseconds within what Weir stores. */
function checkRange(micros: bigint, value: unknown): bigint {
  if (micros < 0n) throw new TimeError(`${show(value)} is before 1970-01-01, the earliest time Weir stores`);
  if (micros > MAX_MICROS) {
    throw new TimeError(`${show(value)} is after 2262-04-11T23:47:16Z, the latest time Weir stores`);
  }
  return micros;
}

/** A value as messages show it: quoted text, cut to 60 characters. */
export function show(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}
