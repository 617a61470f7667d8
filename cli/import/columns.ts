/**
 * Arrow columns built from text values, straight into typed arrays: apache-arrow's generic builders
 * are far slower for a million strings. Tags become dictionaries (they repeat), string fields plain
 * UTF-8, time a Timestamp(µs) the server takes without guessing a unit.
 */
import {
  Bool,
  type Data,
  Dictionary,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  Table,
  TimestampMicrosecond,
  Utf8,
  Vector,
} from 'apache-arrow';
import type { ColumnType, Role } from './plan.js';

/** Collects one column of a batch; `add` takes non-empty text already checked to fit the type. */
export interface ColumnBuilder {
  add(text: string, row: number): void;
  finish(rows: number): Data;
}

export function columnBuilder(type: ColumnType, role: Role, capacity: number): ColumnBuilder {
  if (type === 'string') return role === 'tag' ? new TagBuilder(capacity) : new StringBuilder(capacity);
  if (type === 'int64') return new Int64Builder(capacity);
  if (type === 'float64') return new Float64Builder(capacity);
  return new BoolBuilder(capacity);
}

/** Validity bits, one per row: set for rows that have a value. */
class Validity {
  readonly bits: Uint8Array;
  count = 0;

  constructor(capacity: number) {
    this.bits = new Uint8Array((capacity + 7) >> 3);
  }

  set(row: number): void {
    this.bits[row >> 3]! |= 1 << (row & 7);
    this.count++;
  }

  /** makeData's null fields for `rows` rows. */
  nulls(rows: number): { nullCount: number; nullBitmap?: Uint8Array } {
    const nullCount = rows - this.count;
    return nullCount === 0
      ? { nullCount }
      : { nullCount, nullBitmap: this.bits.subarray(0, (rows + 7) >> 3) };
  }
}

class Int64Builder implements ColumnBuilder {
  private readonly values: BigInt64Array;
  private readonly valid: Validity;

  constructor(capacity: number) {
    this.values = new BigInt64Array(capacity);
    this.valid = new Validity(capacity);
  }

  add(text: string, row: number): void {
    this.values[row] = text.length < 16 ? BigInt(Number(text)) : BigInt(text);
    this.valid.set(row);
  }

  finish(rows: number): Data {
    return makeData({
      type: new Int64(),
      length: rows,
      data: this.values.subarray(0, rows),
      ...this.valid.nulls(rows),
    });
  }
}

const INFINITY = /^([+-]?)inf(?:inity)?$/i;

class Float64Builder implements ColumnBuilder {
  private readonly values: Float64Array;
  private readonly valid: Validity;

  constructor(capacity: number) {
    this.values = new Float64Array(capacity);
    this.valid = new Validity(capacity);
  }

  add(text: string, row: number): void {
    let value = Number(text);
    // Number() reads "Infinity" but not "inf", which other tools write.
    if (Number.isNaN(value)) {
      const inf = INFINITY.exec(text);
      if (inf) value = inf[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    this.values[row] = value;
    this.valid.set(row);
  }

  finish(rows: number): Data {
    return makeData({
      type: new Float64(),
      length: rows,
      data: this.values.subarray(0, rows),
      ...this.valid.nulls(rows),
    });
  }
}

class BoolBuilder implements ColumnBuilder {
  private readonly values: Validity;
  private readonly valid: Validity;

  constructor(capacity: number) {
    this.values = new Validity(capacity);
    this.valid = new Validity(capacity);
  }

  add(text: string, row: number): void {
    if (text.length === 4) this.values.set(row);
    this.valid.set(row);
  }

  finish(rows: number): Data {
    const data = this.values.bits.subarray(0, (rows + 7) >> 3);
    return makeData({ type: new Bool(), length: rows, data, ...this.valid.nulls(rows) });
  }
}

class TagBuilder implements ColumnBuilder {
  private readonly indices: Int32Array;
  private readonly valid: Validity;
  private readonly codes = new Map<string, number>();
  private readonly distinct: string[] = [];

  constructor(capacity: number) {
    this.indices = new Int32Array(capacity);
    this.valid = new Validity(capacity);
  }

  add(text: string, row: number): void {
    let code = this.codes.get(text);
    if (code === undefined) {
      code = this.distinct.length;
      this.codes.set(text, code);
      this.distinct.push(text);
    }
    this.indices[row] = code;
    this.valid.set(row);
  }

  finish(rows: number): Data {
    return makeData({
      type: new Dictionary(new Utf8(), new Int32()),
      length: rows,
      data: this.indices.subarray(0, rows),
      dictionary: makeVector(makeData(utf8(this.distinct, this.distinct.length))),
      ...this.valid.nulls(rows),
    });
  }
}

class StringBuilder implements ColumnBuilder {
  private readonly values: string[];
  private readonly valid: Validity;

  constructor(capacity: number) {
    this.values = new Array<string>(capacity).fill('');
    this.valid = new Validity(capacity);
  }

  add(text: string, row: number): void {
    this.values[row] = text;
    this.valid.set(row);
  }

  finish(rows: number): Data {
    return makeData({ ...utf8(this.values, rows), ...this.valid.nulls(rows) });
  }
}

/** The first `rows` strings as one UTF-8 buffer and its offsets (missing values are empty). */
function utf8(values: readonly string[], rows: number) {
  const joined = rows === values.length ? values.join('') : values.slice(0, rows).join('');
  const bytes = Buffer.from(joined, 'utf8');
  const valueOffsets = new Int32Array(rows + 1);
  const ascii = bytes.length === joined.length;
  let at = 0;
  for (let i = 0; i < rows; i++) {
    at += ascii ? values[i]!.length : Buffer.byteLength(values[i]!);
    valueOffsets[i + 1] = at;
  }
  return { type: new Utf8(), length: rows, valueOffsets, data: bytes, nullCount: 0 };
}

/** Microseconds since the epoch as Arrow's Timestamp(µs). */
export function timeData(micros: BigInt64Array, rows: number): Data {
  return makeData({ type: new TimestampMicrosecond(), length: rows, data: micros.subarray(0, rows) });
}

/** A table with `time` first and the other columns in order. */
export function arrowTable(time: Data | Vector, columns: readonly { name: string; data: Data | Vector }[]) {
  const vectors: Record<string, Vector> = { time: vectorOf(time) };
  for (const column of columns) vectors[column.name] = vectorOf(column.data);
  return new Table(vectors);
}

function vectorOf(data: Data | Vector): Vector {
  return data instanceof Vector ? data : makeVector(data);
}
