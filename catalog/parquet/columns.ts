/**
 * Small typed builders and readers for the Arrow columns of catalog and event Parquet files.
 * Readers go through the raw typed arrays: Arrow's `get()` on timestamps answers float
 * milliseconds, which would lose microseconds.
 */
import {
  Bool,
  type Data,
  Field,
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
    makeVector(
      makeData({
        type: new Int64(),
        length: values.length,
        data: bigintData(values),
        ...validityBitmap(values),
      }),
    ),
  /** Microseconds since the epoch, UTC; DuckDB reads it as TIMESTAMP. */
  timestampMicros: (values: readonly (number | null)[]): Vector =>
    makeVector(
      makeData({
        type: new TimestampMicrosecond(),
        length: values.length,
        data: bigintData(values),
        ...validityBitmap(values),
      }),
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

/** A validity test for one chunk; reads the bitmap directly (Arrow's getters cost per call). */
function validity(data: Data): (i: number) => boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return () => true;
  const offset = data.offset;
  return (i) => (bitmap[(offset + i) >> 3]! & (1 << ((offset + i) & 7))) !== 0;
}

/** Numbers from an Int64 or timestamp column; null where the value is null. */
export function readBigintColumn(table: Table, name: string): (number | null)[] {
  const out: (number | null)[] = [];
  for (const data of child(table, name).data) {
    const values = data.values as BigInt64Array;
    const isValid = validity(data);
    for (let i = 0; i < data.length; i++) out.push(isValid(i) ? Number(values[i]) : null);
  }
  return out;
}

export function readNonNullBigintColumn(table: Table, name: string): number[] {
  const values = readBigintColumn(table, name);
  if (values.includes(null)) throw new Error(`column ${name} holds a null`);
  return values as number[];
}

/**
 * Strings of a Utf8 column. Decodes each chunk's bytes once and slices by offsets when the
 * chunk is ASCII (the usual case for catalog keys), which is several times faster than
 * decoding value by value on 100K-row checkpoints.
 */
export function readStringColumn(table: Table, name: string): (string | null)[] {
  const out: (string | null)[] = [];
  for (const data of child(table, name).data) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = Buffer.from(data.values.buffer, data.values.byteOffset, data.values.byteLength);
    const start = offsets[0] ?? 0;
    const end = offsets[data.length] ?? start;
    const text = bytes.toString('utf8', start, end);
    const ascii = text.length === end - start;
    const isValid = validity(data);
    for (let i = 0; i < data.length; i++) {
      if (!isValid(i)) out.push(null);
      else if (ascii) out.push(text.slice(offsets[i]! - start, offsets[i + 1]! - start));
      else out.push(bytes.toString('utf8', offsets[i]!, offsets[i + 1]!));
    }
  }
  return out;
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
