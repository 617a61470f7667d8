/**
 * Arrow vectors of one chunk's column, built from the column's memory as typed arrays (copied,
 * since the chunk's memory is DuckDB's) with the validity bitmap copied as it is.
 *
 * Mapping: BOOLEAN → Bool; [U]TINYINT…[U]BIGINT → [Ui|I]nt8…64; FLOAT → Float32; DOUBLE → Float64;
 * DECIMAL → Float64 (nearest double: Arrow JS has no usable decimal); HUGEINT/UHUGEINT → Utf8
 * decimal text (exact, which no Arrow JS integer holds); VARCHAR/UUID/ENUM → Utf8; BLOB → Binary;
 * DATE → DateDay; TIME → TimeMicrosecond; TIMESTAMP of any unit → TimestampMicrosecond (ns
 * rounded toward the past); TIMESTAMPTZ → TimestampMicrosecond('UTC'); INTERVAL → Utf8 of
 * DuckDB's interval text; LIST/ARRAY/STRUCT/MAP → Utf8 of their JSON text; other types → Utf8 of
 * their text. DuckDB's ±infinity timestamps and dates keep their stored integers.
 */
import { type DuckDBDataChunk, type DuckDBType, DuckDBTypeId } from '@duckdb/node-api';
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  makeData,
  TimeMicrosecond,
  TimestampMicrosecond,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from 'apache-arrow';
import { decimalNumber } from '../../../lib/decimal/index.js';
import { columnReader } from './values.js';
import { columnValidity, decimalValues, isValid, rawColumn, StringValues } from './vectors.js';

export interface ArrowColumn {
  readonly type: DataType;
  data(chunk: DuckDBDataChunk, column: number): Data;
}

/** DuckDB's ±infinity for timestamps (±(2⁶³ − 1)), which scaling must leave alone. */
const TIMESTAMP_INFINITY = 0x7fffffffffffffffn;

const BIT_COUNTS = Uint8Array.from({ length: 256 }, (_, byte) => {
  let bits = 0;
  for (let b = byte; b !== 0; b >>= 1) bits += b & 1;
  return bits;
});

/** Arrow's nullBitmap and nullCount from DuckDB's validity (the same bit order). */
function nullsOf(validity: Uint8Array | null, rows: number): { nullBitmap?: Uint8Array; nullCount: number } {
  if (validity === null) return { nullCount: 0 };
  const bitmap = validity.slice(0, (rows + 7) >> 3);
  const spare = bitmap.length * 8 - rows;
  if (spare > 0) bitmap[bitmap.length - 1]! &= 0xff >> spare;
  let present = 0;
  for (const byte of bitmap) present += BIT_COUNTS[byte]!;
  return present === rows ? { nullCount: 0 } : { nullBitmap: bitmap, nullCount: rows - present };
}

interface TypedArrayType {
  new (buffer: ArrayBuffer): ArrayBufferView;
  readonly BYTES_PER_ELEMENT: number;
}

/** Numbers whose DuckDB and Arrow layouts agree: a straight copy. */
function copied(type: DataType, ArrayType: TypedArrayType): ArrowColumn {
  return {
    type,
    data(chunk, column) {
      const raw = rawColumn(chunk, column, ArrayType.BYTES_PER_ELEMENT);
      // makeData picks the buffers' layout from the type at run time; one props shape serves all.
      const props = { type, length: raw.rows, data: new ArrayType(raw.data.slice().buffer) };
      return makeData({ ...props, ...nullsOf(raw.validity, raw.rows) });
    },
  };
}

function booleans(): ArrowColumn {
  const type = new Bool();
  return {
    type,
    data(chunk, column) {
      const raw = rawColumn(chunk, column, 1);
      const bits = new Uint8Array((raw.rows + 7) >> 3);
      for (let row = 0; row < raw.rows; row++) if (raw.data[row]) bits[row >> 3]! |= 1 << (row & 7);
      return makeData({ type, length: raw.rows, data: bits, ...nullsOf(raw.validity, raw.rows) });
    },
  };
}

/** Seconds and milliseconds scale up to microseconds, nanoseconds down (floored). */
function scaledTimestamps(scale: (value: bigint) => bigint): ArrowColumn {
  const type = new TimestampMicrosecond();
  return {
    type,
    data(chunk, column) {
      const raw = rawColumn(chunk, column, 8);
      const stored = new BigInt64Array(raw.data.buffer, raw.data.byteOffset, raw.rows);
      const micros = new BigInt64Array(raw.rows);
      for (let row = 0; row < raw.rows; row++) {
        const value = stored[row]!;
        micros[row] = value === TIMESTAMP_INFINITY || value === -TIMESTAMP_INFINITY ? value : scale(value);
      }
      return makeData({ type, length: raw.rows, data: micros, ...nullsOf(raw.validity, raw.rows) });
    },
  };
}

function floorDivide(value: bigint, divisor: bigint): bigint {
  const quotient = value / divisor;
  return quotient * divisor > value ? quotient - 1n : quotient;
}

/** VARCHAR → Utf8 and BLOB → Binary: the bytes as DuckDB holds them, never decoded. */
function strings(type: Utf8 | Binary): ArrowColumn {
  return {
    type,
    data(chunk, column) {
      const raw = rawColumn(chunk, column, 16);
      const values = new StringValues(raw);
      const offsets = new Int32Array(raw.rows + 1);
      for (let row = 0; row < raw.rows; row++) {
        offsets[row + 1] = offsets[row]! + (isValid(raw.validity, row) ? values.byteLength(row) : 0);
      }
      const bytes = new Uint8Array(offsets[raw.rows]!);
      for (let row = 0; row < raw.rows; row++) {
        if (isValid(raw.validity, row)) values.copyTo(row, bytes, offsets[row]!);
      }
      const props = { type, length: raw.rows, valueOffsets: offsets, data: bytes };
      return makeData({ ...props, ...nullsOf(raw.validity, raw.rows) });
    },
  };
}

function decimals(width: number, scale: number): ArrowColumn {
  const type = new Float64();
  return {
    type,
    data(chunk, column) {
      const values = decimalValues(chunk, column, width);
      const validity = columnValidity(chunk, column);
      const doubles = new Float64Array(chunk.rowCount);
      for (let row = 0; row < doubles.length; row++) {
        if (isValid(validity, row)) doubles[row] = decimalNumber(values.at(row), scale);
      }
      return makeData({ type, length: doubles.length, data: doubles, ...nullsOf(validity, doubles.length) });
    },
  };
}

/** Any other type as Utf8 of its text (see values.ts). */
function texts(duckType: DuckDBType): ArrowColumn {
  const type = new Utf8();
  const reader = columnReader(duckType);
  return {
    type,
    data(chunk, column) {
      const validity = columnValidity(chunk, column);
      const rows = reader.open(chunk, column);
      const values = new Array<string>(chunk.rowCount);
      const offsets = new Int32Array(values.length + 1);
      for (let row = 0; row < values.length; row++) {
        values[row] = isValid(validity, row) ? rows.text(row) : '';
        offsets[row + 1] = offsets[row]! + Buffer.byteLength(values[row]!);
      }
      const bytes = Buffer.from(values.join(''), 'utf8');
      const nulls = nullsOf(validity, values.length);
      return makeData({ type, length: values.length, valueOffsets: offsets, data: bytes, ...nulls });
    },
  };
}

export function arrowColumn(type: DuckDBType): ArrowColumn {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return booleans();
    case DuckDBTypeId.TINYINT:
      return copied(new Int8(), Int8Array);
    case DuckDBTypeId.SMALLINT:
      return copied(new Int16(), Int16Array);
    case DuckDBTypeId.INTEGER:
      return copied(new Int32(), Int32Array);
    case DuckDBTypeId.BIGINT:
      return copied(new Int64(), BigInt64Array);
    case DuckDBTypeId.UTINYINT:
      return copied(new Uint8(), Uint8Array);
    case DuckDBTypeId.USMALLINT:
      return copied(new Uint16(), Uint16Array);
    case DuckDBTypeId.UINTEGER:
      return copied(new Uint32(), Uint32Array);
    case DuckDBTypeId.UBIGINT:
      return copied(new Uint64(), BigUint64Array);
    case DuckDBTypeId.FLOAT:
      return copied(new Float32(), Float32Array);
    case DuckDBTypeId.DOUBLE:
      return copied(new Float64(), Float64Array);
    case DuckDBTypeId.DECIMAL:
      return decimals(type.width, type.scale);
    case DuckDBTypeId.DATE:
      return copied(new DateDay(), Int32Array);
    case DuckDBTypeId.TIME:
      return copied(new TimeMicrosecond(), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP:
      return copied(new TimestampMicrosecond(), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return copied(new TimestampMicrosecond('UTC'), BigInt64Array);
    case DuckDBTypeId.TIMESTAMP_S:
      return scaledTimestamps((seconds) => seconds * 1_000_000n);
    case DuckDBTypeId.TIMESTAMP_MS:
      return scaledTimestamps((millis) => millis * 1000n);
    case DuckDBTypeId.TIMESTAMP_NS:
      return scaledTimestamps((nanos) => floorDivide(nanos, 1000n));
    case DuckDBTypeId.VARCHAR:
      return strings(new Utf8());
    case DuckDBTypeId.BLOB:
      return strings(new Binary());
    default:
      return texts(type);
  }
}
