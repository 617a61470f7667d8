/**
 * A DuckDB-WASM answer's rows, read by column position (names repeat in joins, and Arrow's row
 * proxies answer names like `toString` with their own methods), each value as the server's JSON
 * answer gives it: times as text to the microsecond from their stored integers (Arrow's own
 * getters go through float milliseconds), dates, times of day and intervals as DuckDB writes them,
 * blobs as base64, decimals as the server's JSON gives them (lib/decimal). Other values stay as
 * Arrow gives them.
 */
import { jsonDecimal } from '../../lib/decimal/index.js';

/** What is read of an Arrow table (DuckDB-WASM brings its own apache-arrow, another version). */
interface ArrowType {
  readonly typeId: number;
  readonly unit?: number;
  readonly byteWidth?: number;
  readonly bitWidth?: number;
  readonly scale?: number;
}
interface Data {
  readonly type: ArrowType;
  readonly length: number;
  // biome-ignore lint/suspicious/noExplicitAny: a typed array of the column's storage type
  readonly values: any;
  readonly valueOffsets: unknown;
  getValid(index: number): boolean;
}
interface Table {
  readonly numRows: number;
  readonly schema: { readonly fields: readonly { readonly type: ArrowType }[] };
  getChildAt(index: number): { readonly data: readonly Data[]; get(index: number): unknown } | null;
}

/** Arrow's type ids (the format's own numbering, the same in every apache-arrow version). */
const TYPE = {
  Binary: 4,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  Interval: 11,
  FixedSizeBinary: 15,
} as const;
/** TimeUnit: SECOND 0, MILLISECOND 1, MICROSECOND 2, NANOSECOND 3. DateUnit: DAY 0, MILLISECOND 1. */
const MICROS_PER_UNIT = [1_000_000n, 1000n, 1n] as const;
/** IntervalUnit: YEAR_MONTH 0, DAY_TIME 1, MONTH_DAY_NANO 2. */
const INTERVAL_UNIT = { yearMonth: 0, dayTime: 1, monthDayNano: 2 } as const;

/** DuckDB's ±infinity: ±(2⁶³ − 1) for timestamps, ±(2³¹ − 1) days for dates. */
const TIMESTAMP_INFINITY = 0x7fffffffffffffffn;
const DATE_INFINITY = 0x7fffffff;
const MICROS_PER_DAY = 86_400_000_000n;
/** Days `Date` can place (±10⁸ days from 1970). */
const DATE_RANGE_DAYS = 100_000_000;

type Cell = (data: Data, index: number) => unknown;

export function rowsOf(result: Table): unknown[][] {
  const rows: unknown[][] = Array.from({ length: result.numRows }, () => []);
  result.schema.fields.forEach((field, column) => {
    const vector = result.getChildAt(column)!;
    const cell = cellOf(field.type);
    let row = 0;
    for (const data of vector.data) {
      for (let i = 0; i < data.length; i++, row++) {
        rows[row]!.push(!data.getValid(i) ? null : cell ? cell(data, i) : vector.get(row));
      }
    }
  });
  return rows;
}

/** A reader of the stored value for the types Arrow's getters lose or show badly; else undefined. */
function cellOf(type: ArrowType): Cell | undefined {
  switch (type.typeId) {
    case TYPE.Timestamp: {
      const unit = type.unit!;
      return (data, i) => timestampText(data.values[i] as bigint, unit);
    }
    case TYPE.Date:
      return type.unit === 0
        ? (data, i) => dateText(data.values[i] as number)
        : (data, i) => dateText(Number(floorDiv(BigInt(data.values[i]), 86_400_000n)));
    case TYPE.Time: {
      const unit = type.unit!;
      return (data, i) => timeOfDayText(toMicros(BigInt(data.values[i]), unit));
    }
    case TYPE.Interval:
      return intervalCell(type.unit!);
    case TYPE.Decimal: {
      // Arrow's getter gives the unscaled integer as an object of words. DuckDB-WASM sends every
      // width as 128 bits, and HUGEINT as DECIMAL(38,0).
      const width = type.bitWidth! / 8;
      const scale = type.scale!;
      return (data, i) => jsonDecimal(unscaledAt(data.values, i, width), scale);
    }
    case TYPE.Binary:
    case TYPE.FixedSizeBinary:
      return (data, i) => base64(bytesAt(data, i));
    default:
      return undefined;
  }
}

function bytesAt(data: Data, i: number): Uint8Array {
  const offsets = data.valueOffsets as Int32Array | null | undefined;
  if (offsets) return (data.values as Uint8Array).subarray(offsets[i]!, offsets[i + 1]!);
  const width = data.type.byteWidth!;
  return (data.values as Uint8Array).subarray(i * width, (i + 1) * width);
}

/** The `i`th `width`-byte little-endian two's complement integer of `values`. */
function unscaledAt(values: ArrayBufferView, i: number, width: number): bigint {
  const view = new DataView(values.buffer, values.byteOffset + i * width, width);
  let value = 0n;
  for (let at = width - 4; at >= 0; at -= 4) value = (value << 32n) | BigInt(view.getUint32(at, true));
  return BigInt.asIntN(width * 8, value);
}

function intervalCell(unit: number): Cell {
  if (unit === INTERVAL_UNIT.yearMonth)
    return (data, i) => intervalText((data.values as Int32Array)[i]!, 0, 0n);
  if (unit === INTERVAL_UNIT.dayTime) {
    return (data, i) => {
      const values = data.values as Int32Array;
      return intervalText(0, values[2 * i]!, BigInt(values[2 * i + 1]!) * 1000n);
    };
  }
  // MONTH_DAY_NANO: int32 months, int32 days, int64 nanoseconds, 16 bytes a value.
  return (data, i) => {
    const values = data.values as Int32Array;
    const nanos = (BigInt(values[4 * i + 3]!) << 32n) | BigInt(values[4 * i + 2]! >>> 0);
    return intervalText(values[4 * i]!, values[4 * i + 1]!, floorDiv(nanos, 1000n));
  };
}

/** Floor division, as DuckDB rounds nanoseconds to microseconds (toward the past). */
function floorDiv(value: bigint, by: bigint): bigint {
  const quotient = value / by;
  return quotient * by > value ? quotient - 1n : quotient;
}

function toMicros(value: bigint, unit: number): bigint {
  return unit === 3 ? floorDiv(value, 1000n) : value * MICROS_PER_UNIT[unit as 0 | 1 | 2];
}

/** RFC 3339 UTC with six fractional digits, as the server writes timestamps. */
export function timestampText(value: bigint, unit: number): string {
  if (value === TIMESTAMP_INFINITY) return 'infinity';
  if (value === -TIMESTAMP_INFINITY) return '-infinity';
  const micros = toMicros(value, unit);
  const days = floorDiv(micros, MICROS_PER_DAY);
  return `${dateText(Number(days))}T${timeOfDayText(micros - days * MICROS_PER_DAY)}Z`;
}

/** `YYYY-MM-DD`; years outside 0000–9999 as ISO 8601's expanded years (`+012345`), as the server. */
export function dateText(days: number): string {
  if (days === DATE_INFINITY) return 'infinity';
  if (days === -DATE_INFINITY) return '-infinity';
  if (Math.abs(days) > DATE_RANGE_DAYS) return `${days} days since 1970-01-01`;
  const iso = new Date(days * 86_400_000).toISOString();
  return iso.slice(0, iso.indexOf('T'));
}

const two = (n: bigint) => String(n).padStart(2, '0');

/** `HH:MM:SS.ffffff` of microseconds since midnight. */
function timeOfDayText(micros: bigint): string {
  const seconds = micros / 1_000_000n;
  const fraction = String(micros % 1_000_000n).padStart(6, '0');
  return `${two(seconds / 3600n)}:${two((seconds / 60n) % 60n)}:${two(seconds % 60n)}.${fraction}`;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 || n === -1 ? '' : 's'}`;

/** DuckDB's text of an interval: `1 year 2 months 3 days 04:05:06.789`, `00:00:00` when empty. */
export function intervalText(months: number, days: number, micros: bigint): string {
  const parts: string[] = [];
  const years = Math.trunc(months / 12);
  if (years !== 0) parts.push(plural(years, 'year'));
  if (months % 12 !== 0) parts.push(plural(months % 12, 'month'));
  if (days !== 0) parts.push(plural(days, 'day'));
  if (micros !== 0n || parts.length === 0) {
    const negative = micros < 0n;
    const magnitude = negative ? -micros : micros;
    const seconds = magnitude / 1_000_000n;
    const fraction = magnitude % 1_000_000n;
    const hours = seconds / 3600n;
    let text = `${negative ? '-' : ''}${two(hours)}:${two((seconds / 60n) % 60n)}:${two(seconds % 60n)}`;
    if (fraction !== 0n) text += `.${String(fraction).padStart(6, '0').replace(/0+$/, '')}`;
    parts.push(text);
  }
  return parts.join(' ');
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!);
  return btoa(binary);
}
