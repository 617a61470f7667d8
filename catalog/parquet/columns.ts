/**
 * Small typed builders and readers for the Arrow columns of catalog and event Parquet files.
 * Readers go through the raw typed arrays: Arrow's `get()` on timestamps answers float
 * milliseconds, which would lose microseconds.
 */
import {
  Bool,
  Field,
  Int32,
  Int64,
  List,
  makeData,
  makeVector,
  type Table,
  TimestampMicrosecond,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';

function validityBitmap(values: readonly unknown[]): { nullBitmap?: Uint8Array; nullCount: number } {
  let nullCount = 0;
  for (const v of values) if (v === null || v === undefined) nullCount++;
  if (nullCount === 0) return { nullCount };
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null && v !== undefined) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  return { nullBitmap, nullCount };
}

function bigintData(values: readonly (number | null)[]): BigInt64Array {
  const data = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    if (v !== null && v !== undefined) data[i] = BigInt(v);
  });
  return data;
}

export const column = {
  int64: (values: readonly (number | null)[]): Vector =>
    makeVector(makeData({ type: new Int64(), length: values.length, data: bigintData(values), ...validityBitmap(values) })),
  /** Microseconds since the epoch, UTC; DuckDB reads it as TIMESTAMP. */
  timestampMicros: (values: readonly (number | null)[]): Vector =>
    makeVector(
      makeData({ type: new TimestampMicrosecond(), length: values.length, data: bigintData(values), ...validityBitmap(values) }),
    ),
  int32: (values: readonly number[]): Vector => makeVector(Int32Array.from(values)),
  bool: (values: readonly (boolean | null)[]): Vector => vectorFromArray(values, new Bool()),
  utf8: (values: readonly (string | null)[]): Vector => vectorFromArray(values, new Utf8()),
  utf8List: (values: readonly (readonly string[])[]): Vector =>
    vectorFromArray(values as string[][], new List(new Field('item', new Utf8(), true))),
};

function child(table: Table, name: string): Vector {
  const vector = table.getChild(name);
  if (!vector) throw new Error(`column ${name} is missing`);
  return vector;
}

/** Numbers from an Int64 or timestamp column; null where the value is null. */
export function readBigintColumn(table: Table, name: string): (number | null)[] {
  const vector = child(table, name);
  const raw = vector.toArray() as BigInt64Array;
  const out = new Array<number | null>(raw.length);
  const hasNulls = vector.nullCount > 0;
  for (let i = 0; i < raw.length; i++) out[i] = hasNulls && !vector.isValid(i) ? null : Number(raw[i]);
  return out;
}

export function readNonNullBigintColumn(table: Table, name: string): number[] {
  const values = readBigintColumn(table, name);
  if (values.includes(null)) throw new Error(`column ${name} holds a null`);
  return values as number[];
}

export function readStringColumn(table: Table, name: string): (string | null)[] {
  return Array.from(child(table, name).toArray() as ArrayLike<string | null>);
}

export function readNonNullStringColumn(table: Table, name: string): string[] {
  const values = readStringColumn(table, name);
  if (values.includes(null)) throw new Error(`column ${name} holds a null`);
  return values as string[];
}

export function readInt32Column(table: Table, name: string): number[] {
  return Array.from(child(table, name).toArray() as Int32Array);
}

export function readStringListColumn(table: Table, name: string): string[][] {
  const vector = child(table, name);
  const out: string[][] = [];
  for (let i = 0; i < vector.length; i++) {
    const item = vector.get(i) as Vector | null;
    out.push(item ? (Array.from(item.toArray()) as string[]) : []);
  }
  return out;
}
