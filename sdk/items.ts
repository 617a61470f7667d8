/**
 * The MessagePack write items (ARC-COMPAT.md "MessagePack"): a columnar item `{m, columns, tags?}`
 * and a row item `{m, t?, tags?, fields}`, built from the SDK's inputs and packed without msgpackr
 * records (Arc's format is plain maps). Items are packed one by one and joined into a body, so the
 * buffered writer can pack each as it is written (its bytes no longer depend on the caller's arrays
 * and objects) and send one body, unchanged, on every attempt.
 */
import { Packr } from 'msgpackr/pack';

/** Epoch number (unit inferred by magnitude: s, ms, µs or ns), bigint (exact ns), or a Date. */
export type TimeValue = number | bigint | Date;

export interface ColumnarInput {
  /** Table (Arc measurement) to write. */
  table: string;
  /** Equal-length columns by name; `time` holds TimeValues (missing: now). */
  columns: Record<string, ArrayLike<unknown>>;
  /** Which string columns are tags (else every string column is a tag). */
  tags?: readonly string[];
}

export interface RowInput {
  table: string;
  /** Missing: now. */
  time?: TimeValue;
  tags?: Record<string, string>;
  fields: Record<string, unknown>;
}

export type Item = Record<string, unknown>;

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** A Date as epoch milliseconds: the server infers the unit from the magnitude. */
const timeOf = (value: unknown): unknown => (value instanceof Date ? value.getTime() : value);

/**
 * A field value as it goes on the wire. msgpackr writes a whole number beyond 32 bits as a
 * float64, which the server keeps as a float (ADR 0015 addendum): a counter passing 2^32 would
 * turn an int64 column's writes into type conflicts. As a bigint it goes as an integer.
 */
const wireValue = (value: unknown): unknown =>
  typeof value === 'number' && Number.isSafeInteger(value) && (value > 0xffff_ffff || value < -0x8000_0000)
    ? BigInt(value)
    : value;
const isWideInteger = (value: unknown) => wireValue(value) !== value;

/** Rows of a columnar input: the length of its first column. */
export function columnarRows(input: ColumnarInput): number {
  for (const values of Object.values(input.columns)) return values.length;
  return 0;
}

/** Rows `start` to `end` of a columnar input (the buffered writer cuts inputs at batch boundaries). */
export function sliceColumnar(input: ColumnarInput, start: number, end: number): ColumnarInput {
  const columns: Record<string, ArrayLike<unknown>> = {};
  for (const [name, values] of Object.entries(input.columns)) {
    columns[name] = Array.prototype.slice.call(values, start, end);
  }
  return { ...input, columns };
}

export function columnarItem(input: ColumnarInput): Item {
  const columns: Record<string, unknown[]> = {};
  for (const [name, values] of Object.entries(input.columns)) {
    // Typed arrays would pack as msgpackr extensions, which Arc's format does not know: plain arrays.
    const list = Array.isArray(values) ? values : Array.from(values);
    if (name === 'time') columns[name] = list.some((v) => v instanceof Date) ? list.map(timeOf) : list;
    else columns[name] = list.some(isWideInteger) ? list.map(wireValue) : list;
  }
  return { m: input.table, columns, ...(input.tags ? { tags: [...input.tags] } : {}) };
}

export function rowItem(input: RowInput): Item {
  return {
    m: input.table,
    ...(input.time !== undefined ? { t: timeOf(input.time) } : {}),
    ...(input.tags ? { tags: input.tags } : {}),
    fields: Object.values(input.fields).some(isWideInteger)
      ? Object.fromEntries(Object.entries(input.fields).map(([name, value]) => [name, wireValue(value)]))
      : input.fields,
  };
}

/** One item's MessagePack bytes: a copy of its values, untouched by later changes to the input. */
export function packItem(item: Item): Uint8Array {
  return packr.pack(item);
}

/** A request body of packed items: a lone item as itself, more as a MessagePack array of them. */
export function joinPacked(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const header = arrayHeader(parts.length);
  let size = header.length;
  for (const part of parts) size += part.byteLength;
  const body = new Uint8Array(size);
  body.set(header);
  let offset = header.length;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}

export function packItems(items: readonly Item[]): Uint8Array {
  return joinPacked(items.map(packItem));
}

/** MessagePack's array header for `length` elements: fixarray, array 16 or array 32. */
function arrayHeader(length: number): number[] {
  if (length < 16) return [0x90 | length];
  if (length < 0x10000) return [0xdc, length >> 8, length & 0xff];
  return [0xdd, length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
}
