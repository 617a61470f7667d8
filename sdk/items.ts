/**
 * The MessagePack write items (ARC-COMPAT.md "MessagePack"): a columnar item `{m, columns, tags?}`
 * and a row item `{m, t?, tags?, fields}`, built from the SDK's inputs and packed without msgpackr
 * records (Arc's format is plain maps).
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
    columns[name] = name === 'time' && list.some((v) => v instanceof Date) ? list.map(timeOf) : list;
  }
  return { m: input.table, columns, ...(input.tags ? { tags: [...input.tags] } : {}) };
}

export function rowItem(input: RowInput): Item {
  return {
    m: input.table,
    ...(input.time !== undefined ? { t: timeOf(input.time) } : {}),
    ...(input.tags ? { tags: input.tags } : {}),
    fields: input.fields,
  };
}

export function packItems(items: readonly Item[]): Uint8Array {
  return packr.pack(items.length === 1 ? items[0] : items);
}
