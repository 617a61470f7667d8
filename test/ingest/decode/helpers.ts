/** Shared set-up of the decoder tests: a context, column lookup and an error matcher. */
import {
  type Data,
  type DataType,
  Dictionary,
  Field,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  type TimestampNanosecond,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { pack } from 'msgpackr';
import { expect } from 'vitest';
import { WeirError } from '../../../catalog/index.js';
import {
  type BatchColumn,
  DEFAULT_DECODE_LIMITS,
  type DecodeContext,
  type TableBatch,
} from '../../../services/ingest/batch.js';

export const NOW_MICROS = 1_700_000_123_456_789n;

export function context(overrides: Partial<DecodeContext> = {}): DecodeContext {
  return { database: 'db', nowMicros: NOW_MICROS, limits: DEFAULT_DECODE_LIMITS, ...overrides };
}

export function tableOf(batches: readonly TableBatch[], table: string): TableBatch {
  const batch = batches.find((b) => b.table === table);
  if (!batch) throw new Error(`no batch for table ${table}: ${batches.map((b) => b.table).join(', ')}`);
  return batch;
}

export function columnOf(batch: TableBatch, name: string): BatchColumn {
  const column = batch.columns.find((c) => c.name === name);
  if (!column) throw new Error(`no column ${name}: ${batch.columns.map((c) => c.name).join(', ')}`);
  return column;
}

/** Column values as plain JS, null where invalid. */
export function valuesOf(batch: TableBatch, name: string): unknown[] {
  const column = columnOf(batch, name);
  if (column.type === 'string') {
    const data = Buffer.from(column.data.buffer, column.data.byteOffset, column.data.byteLength);
    return Array.from({ length: batch.rows }, (_, i) =>
      column.valid?.[i] === 0 ? null : data.toString('utf8', column.offsets[i], column.offsets[i + 1]),
    );
  }
  const out: unknown[] = [];
  for (let i = 0; i < batch.rows; i++) {
    if (column.valid && column.valid[i] === 0) out.push(null);
    else if (column.type === 'bool') out.push(column.values[i] === 1);
    else out.push(column.values[i]);
  }
  return out;
}

export interface Expected {
  status: number;
  code: string;
  /** Fragments the message must contain (the culprit: table, column, row, line, value, limit). */
  names: readonly string[];
}

export function expectError(run: () => unknown, expected: Expected): WeirError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected the decoder to throw').toBeInstanceOf(WeirError);
  const error = caught as WeirError;
  expect({ status: error.httpStatus, code: error.code }, error.message).toEqual({
    status: expected.status,
    code: expected.code,
  });
  for (const fragment of expected.names) expect(error.message).toContain(fragment);
  return error;
}

/** An Arrow column for ipc(): a vector, or the chunks of one. */
export interface ArrowColumn {
  name: string;
  vector: { readonly type: DataType; readonly length: number; readonly data: readonly Data[] };
}

/** An Arrow IPC stream of `batches` identical record batches of the columns. */
export function ipc(columns: ArrowColumn[], batches = 1): Uint8Array {
  const fields = columns.map((c) => new Field(c.name, c.vector.type, true));
  const schema = new Schema(fields);
  const length = columns[0]!.vector.length;
  const records = Array.from({ length: batches }, () => {
    const children = columns.map((c) => c.vector.data[0]!);
    return new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children }));
  });
  return tableToIPC(new Table(schema, records), 'stream');
}

export function arrowColumn(name: string, values: unknown[], type: DataType): ArrowColumn {
  return { name, vector: vectorFromArray(values, type as never) };
}

/** A `time` column of exact int64 values (arrow-js builds timestamps from float milliseconds). */
export function arrowTimes(type: DataType, values: bigint[], nullBitmap?: Uint8Array): ArrowColumn {
  const data = makeData({
    type: type as TimestampNanosecond,
    data: BigInt64Array.from(values),
    ...(nullBitmap ? { nullBitmap } : {}),
  });
  return { name: 'time', vector: { type, length: values.length, data: [data] } };
}

/** A Utf8 column from raw offsets and bytes, for streams no well-behaved writer makes. */
export function rawUtf8(
  name: string,
  offsets: number[],
  bytes: number[],
  nullBitmap?: Uint8Array,
): ArrowColumn {
  const data = makeData({
    type: new Utf8(),
    length: offsets.length - 1,
    valueOffsets: Int32Array.from(offsets),
    data: Uint8Array.from(bytes),
    ...(nullBitmap ? { nullBitmap } : {}),
  });
  return { name, vector: { type: data.type, length: data.length, data: [data] } };
}

/** A dictionary-encoded string column with the given dictionary and (unchecked) indices. */
export function dictionaryColumn(name: string, dictionary: string[], indices: number[]): ArrowColumn {
  const type = new Dictionary(new Utf8(), new Int32());
  const data = makeData({
    type,
    length: indices.length,
    data: Int32Array.from(indices),
    dictionary: vectorFromArray(dictionary, new Utf8()),
  });
  return { name, vector: { type, length: data.length, data: [data] } };
}

/** A float as Python's msgpack and Go send one: float64 (0xcb) or float32 (0xca), even when whole. */
export class WireFloat {
  constructor(
    readonly value: number,
    readonly bits: 32 | 64 = 64,
  ) {}
}

export const float64 = (value: number): WireFloat => new WireFloat(value, 64);
export const float32 = (value: number): WireFloat => new WireFloat(value, 32);

function header(count: number, fix: number, tag16: number): Buffer {
  if (count < 16) return Buffer.from([fix | count]);
  const bytes = Buffer.alloc(5);
  if (count < 0x10000) {
    bytes[0] = tag16;
    bytes.writeUInt16BE(count, 1);
    return bytes.subarray(0, 3);
  }
  bytes[0] = tag16 + 1;
  bytes.writeUInt32BE(count, 1);
  return bytes;
}

/**
 * MessagePack of `value` as msgpackr's pack() writes it, except that a WireFloat keeps its float
 * encoding: pack() writes a whole number such as 1.0 as an integer, which no Python or Go client does.
 */
export function packWire(value: unknown): Buffer {
  if (value instanceof WireFloat) {
    const bytes = Buffer.alloc(value.bits === 64 ? 9 : 5);
    bytes[0] = value.bits === 64 ? 0xcb : 0xca;
    if (value.bits === 64) bytes.writeDoubleBE(value.value, 1);
    else bytes.writeFloatBE(value.value, 1);
    return bytes;
  }
  if (Array.isArray(value)) return Buffer.concat([header(value.length, 0x90, 0xdc), ...value.map(packWire)]);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value);
    const parts = entries.flatMap(([key, v]) => [pack(key), packWire(v)]);
    return Buffer.concat([header(entries.length, 0x80, 0xde), ...parts]);
  }
  return pack(value);
}
