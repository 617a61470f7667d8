/**
 * Arrow forms of ingested rows: each request's batch becomes one Arrow table with the catalog's
 * types (what the WAL records and buffers hold), and a buffer's tables become one staging batch
 * (an Arrow IPC stream over the union of their columns, DESIGN.md §3). Vectors are built from the
 * batch's typed arrays and UTF-8 buffers as they are (booleans are packed into bits).
 */
import {
  Bool,
  type Data,
  type DataType,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimestampMicrosecond,
  Utf8,
} from 'apache-arrow';
import type { ColumnType } from '../../catalog/index.js';
import type { BatchColumn, TableBatch } from './batch.js';

const ARROW_TYPES: Record<ColumnType, () => DataType> = {
  timestamp: () => new TimestampMicrosecond(),
  string: () => new Utf8(),
  float64: () => new Float64(),
  int64: () => new Int64(),
  bool: () => new Bool(),
};

export function arrowTypeOf(type: ColumnType): DataType {
  return ARROW_TYPES[type]();
}

/** Arrow validity bitmap from a 0/1 byte mask (undefined when every row is present). */
function bitmapOf(
  valid: Uint8Array | undefined,
  length: number,
): { nullBitmap?: Uint8Array; nullCount: number } {
  if (!valid) return { nullCount: 0 };
  const bitmap = new Uint8Array((length + 7) >> 3);
  let present = 0;
  for (let i = 0; i < length; i++) {
    if (valid[i]) {
      bitmap[i >> 3]! |= 1 << (i & 7);
      present++;
    }
  }
  return present === length ? { nullCount: 0 } : { nullBitmap: bitmap, nullCount: length - present };
}

function packBits(values: Uint8Array): Uint8Array {
  const bits = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) if (values[i]) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

function columnData(column: BatchColumn, length: number): Data {
  switch (column.type) {
    case 'string':
      return makeData({
        type: new Utf8(),
        length,
        valueOffsets: column.offsets,
        data: column.data,
        ...bitmapOf(column.valid, length),
      });
    case 'float64':
      return makeData({
        type: new Float64(),
        length,
        data: column.values,
        ...bitmapOf(column.valid, length),
      });
    case 'int64':
      return makeData({ type: new Int64(), length, data: column.values, ...bitmapOf(column.valid, length) });
    case 'bool':
      return makeData({
        type: new Bool(),
        length,
        data: packBits(column.values),
        ...bitmapOf(column.valid, length),
      });
  }
}

/** The batch as one Arrow table: `time` first, then its columns in order. */
export function tableOfBatch(batch: TableBatch): Table {
  const fields = [
    new Field('time', new TimestampMicrosecond(), false),
    ...batch.columns.map((c) => new Field(c.name, arrowTypeOf(c.type), true)),
  ];
  const children = [
    makeData({ type: new TimestampMicrosecond(), length: batch.rows, data: batch.time }),
    ...batch.columns.map((c) => columnData(c, batch.rows)),
  ];
  return tableOfChildren(new Schema(fields), batch.rows, children);
}

function tableOfChildren(schema: Schema, length: number, children: Data[]): Table {
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new Table([new RecordBatch(schema, data)]);
}

/** Bytes the table's buffers hold (what a buffer counts against its byte thresholds). */
export function tableBytes(table: Table): number {
  let bytes = 0;
  for (const batch of table.batches) {
    for (const child of batch.data.children) {
      bytes += child.byteLength;
    }
  }
  return bytes;
}
