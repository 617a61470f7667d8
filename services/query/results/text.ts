/**
 * Text forms of DuckDB scalars shared by the JSON and CSV answers, computed with integer
 * arithmetic from the stored values (never through Date, whose milliseconds would round
 * microseconds away).
 */

/** DuckDB's ±infinity for every timestamp unit: ±(2⁶³ − 1). */
const TIMESTAMP_INFINITY = 0x7fffffffffffffffn;
/** DuckDB's ±infinity for DATE: ±(2³¹ − 1) days. */
const DATE_INFINITY = 0x7fffffff;
const MICROS_PER_DAY = 86_400_000_000;
const MICROS_PER_DAY_BIG = 86_400_000_000n;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

export type TimestampUnit = 's' | 'ms' | 'us' | 'ns';
const MICROS_PER_UNIT = { s: 1_000_000, ms: 1000, us: 1 } as const;

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));

/** JSON form of an integer beyond 32 bits: a number while exact, else its decimal text. */
export function jsonBigInteger(value: bigint): number | string {
  return value >= -MAX_SAFE_BIG && value <= MAX_SAFE_BIG ? Number(value) : value.toString();
}

/** `YYYY-MM-DD`; years outside 0000–9999 in ISO 8601's expanded form (`+012345`, `-000001`). */
export function dateText(days: number): string {
  if (days === DATE_INFINITY) return 'infinity';
  if (days === -DATE_INFINITY) return '-infinity';
  // Howard Hinnant's civil_from_days (proleptic Gregorian, astronomical year numbering).
  const shifted = days + 719468;
  const era = Math.floor(shifted / 146097);
  const dayOfEra = shifted - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return `${yearText(year)}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}`;
}

function yearText(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0');
  return `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
}

const DIGIT_ZERO = 0x30;
/** Length of `HH:MM:SS.ffffff`. */
const TIME_LENGTH = 15;

/** Writes `HH:MM:SS.ffffff` of microseconds since midnight at `at` (DuckDB's TIME allows 24:00:00). */
function writeTime(target: Buffer, at: number, micros: number): void {
  const seconds = Math.floor(micros / 1_000_000);
  let fraction = micros - seconds * 1_000_000;
  writeTwoDigits(target, at, Math.floor(seconds / 3600));
  target[at + 2] = 0x3a;
  writeTwoDigits(target, at + 3, Math.floor(seconds / 60) % 60);
  target[at + 5] = 0x3a;
  writeTwoDigits(target, at + 6, seconds % 60);
  target[at + 8] = 0x2e;
  for (let i = at + 14; i > at + 8; i--) {
    target[i] = DIGIT_ZERO + (fraction % 10);
    fraction = Math.floor(fraction / 10);
  }
}

function writeTwoDigits(target: Buffer, at: number, value: number): void {
  target[at] = DIGIT_ZERO + Math.floor(value / 10);
  target[at + 1] = DIGIT_ZERO + (value % 10);
}

const timeScratch = Buffer.alloc(TIME_LENGTH);

export function timeText(micros: number): string {
  writeTime(timeScratch, 0, micros);
  return timeScratch.toString('latin1', 0, TIME_LENGTH);
}

/**
 * Formats timestamps as RFC 3339 UTC with exactly six fractional digits. Nanosecond values
 * lose their sub-microsecond digits (rounded toward the past, so the digits shown are a prefix
 * of the true ones). Writes into a scratch buffer, keeping the last day's date there: a chunk's
 * timestamps mostly share days, and one flat string per value is far cheaper than concatenation.
 */
export class TimestampFormatter {
  /** Room for the longest date (`-290309-12-22`), `T`, the time and `Z`. */
  private readonly scratch = Buffer.alloc(16 + TIME_LENGTH + 2);
  private lastDay = Number.NaN;
  private timeAt = 0;

  constructor(private readonly unit: TimestampUnit) {}

  /** `value` is in the formatter's unit since the epoch, as a number when safe. */
  text(value: number | bigint): string {
    if (typeof value === 'number' && this.unit !== 'ns') {
      const micros = value * MICROS_PER_UNIT[this.unit];
      if (Number.isSafeInteger(micros)) return this.microsText(micros);
    }
    return this.bigText(BigInt(value));
  }

  private bigText(value: bigint): string {
    if (value === TIMESTAMP_INFINITY) return 'infinity';
    if (value === -TIMESTAMP_INFINITY) return '-infinity';
    let micros: bigint;
    if (this.unit === 'ns') {
      micros = value / 1000n;
      if (micros * 1000n > value) micros -= 1n;
    } else {
      micros = value * BigInt(MICROS_PER_UNIT[this.unit]);
    }
    let days = micros / MICROS_PER_DAY_BIG;
    let ofDay = micros - days * MICROS_PER_DAY_BIG;
    if (ofDay < 0n) {
      days -= 1n;
      ofDay += MICROS_PER_DAY_BIG;
    }
    return this.write(Number(days), Number(ofDay));
  }

  private microsText(micros: number): string {
    let days = Math.floor(micros / MICROS_PER_DAY);
    let ofDay = micros - days * MICROS_PER_DAY;
    // The division can round up across a day boundary for far dates; the remainder is exact.
    if (ofDay < 0) {
      days -= 1;
      ofDay += MICROS_PER_DAY;
    } else if (ofDay >= MICROS_PER_DAY) {
      days += 1;
      ofDay -= MICROS_PER_DAY;
    }
    return this.write(days, ofDay);
  }

  private write(days: number, ofDay: number): string {
    if (days !== this.lastDay) {
      this.lastDay = days;
      const dateLength = this.scratch.write(dateText(days), 0, 'latin1');
      this.scratch[dateLength] = 0x54; // T
      this.timeAt = dateLength + 1;
      this.scratch[this.timeAt + TIME_LENGTH] = 0x5a; // Z
    }
    writeTime(this.scratch, this.timeAt, ofDay);
    return this.scratch.toString('latin1', 0, this.timeAt + TIME_LENGTH + 1);
  }
}

/** The shortest decimal that reads back as the same float32 (what DuckDB prints for FLOAT). */
export function float32Number(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}

/** CSV text of a float: non-finite values as DuckDB writes them. */
export function floatText(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'inf' : '-inf';
}

/** JSON has no NaN or infinities. */
export function jsonFloat(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export function base64Text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * An RFC 4180 field for text that may hold separators. The empty string is quoted so that it
 * stays distinct from NULL, which is the empty field (as DuckDB's COPY writes them).
 */
export function csvField(text: string): string {
  if (text === '') return '""';
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
