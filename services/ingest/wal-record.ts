/**
 * A WAL record's rows (ADR 0013): one request's batch for one table, already in the catalog's
 * types, as its raw column buffers behind a small JSON description. Encoding copies nothing: the
 * parts are the batch's own typed arrays, written with one writev. Arrow IPC was the first form;
 * building it (flatbuffer schema per record, then one joined copy of every buffer) cost more CPU
 * than the rest of the WAL together.
 *
 * Layout: `[u32 description length][description JSON]` then, per column in description order,
 * its validity bytes (when it has any) and its values (strings: i32 offsets, then UTF-8 bytes).
 * Numbers are in the machine's byte order; the WAL never leaves the node that wrote it.
 */
import type { BatchColumn, TableBatch, ValueType } from './batch.js';

interface ColumnDescription {
  name: string;
  type: ValueType;
  role: BatchColumn['role'];
  roleDeclared: boolean;
  valid: boolean;
  /** UTF-8 bytes of a string column. */
  dataBytes?: number;
}

interface RecordDescription {
  database: string;
  table: string;
  rows: number;
  columns: ColumnDescription[];
}

const bytesOf = (view: ArrayBufferView): Uint8Array =>
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

/** The batch as the parts of one WAL record payload (views of its buffers, not copies). */
export function encodeWalBatch(batch: TableBatch): Uint8Array[] {
  const parts: Uint8Array[] = [bytesOf(batch.time.subarray(0, batch.rows))];
  const columns = batch.columns.map((column): ColumnDescription => {
    if (column.valid) parts.push(column.valid.subarray(0, batch.rows));
    const description: ColumnDescription = {
      name: column.name,
      type: column.type,
      role: column.role,
      roleDeclared: column.roleDeclared,
      valid: column.valid !== undefined,
    };
    if (column.type === 'string') {
      const dataBytes = column.offsets[batch.rows]!;
      parts.push(bytesOf(column.offsets.subarray(0, batch.rows + 1)), column.data.subarray(0, dataBytes));
      description.dataBytes = dataBytes;
    } else {
      parts.push(bytesOf(column.values.subarray(0, batch.rows)));
    }
    return description;
  });
  const description: RecordDescription = {
    database: batch.database,
    table: batch.table,
    rows: batch.rows,
    columns,
  };
  const json = Buffer.from(JSON.stringify(description));
  const head = Buffer.allocUnsafe(4 + json.byteLength);
  head.writeUInt32LE(json.byteLength, 0);
  json.copy(head, 4);
  return [head, ...parts];
}

/** Reads a record written by `encodeWalBatch` (its checksum already matched); copies into aligned arrays. */
export function decodeWalBatch(payload: Uint8Array): TableBatch {
  const view = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const jsonBytes = view.readUInt32LE(0);
  const description = JSON.parse(view.toString('utf8', 4, 4 + jsonBytes)) as RecordDescription;
  const { rows } = description;
  let at = 4 + jsonBytes;
  const take = (bytes: number): ArrayBuffer => {
    if (at + bytes > view.byteLength) throw new Error('WAL record is shorter than its description');
    const copy = new ArrayBuffer(bytes);
    new Uint8Array(copy).set(payload.subarray(at, at + bytes));
    at += bytes;
    return copy;
  };
  const time = new BigInt64Array(take(rows * 8));
  const columns = description.columns.map((c): BatchColumn => {
    const base = { name: c.name, role: c.role, roleDeclared: c.roleDeclared };
    const valid = c.valid ? { valid: new Uint8Array(take(rows)) } : {};
    switch (c.type) {
      case 'string': {
        const offsets = new Int32Array(take((rows + 1) * 4));
        return { ...base, type: 'string', offsets, data: new Uint8Array(take(c.dataBytes ?? 0)), ...valid };
      }
      case 'float64':
        return { ...base, type: 'float64', values: new Float64Array(take(rows * 8)), ...valid };
      case 'int64':
        return { ...base, type: 'int64', values: new BigInt64Array(take(rows * 8)), ...valid };
      case 'bool':
        return { ...base, type: 'bool', values: new Uint8Array(take(rows)), ...valid };
      default:
        throw new Error(`WAL record has column ${c.name} of unknown type ${String(c.type)}`);
    }
  });
  if (at !== view.byteLength) throw new Error('WAL record is longer than its description');
  return { database: description.database, table: description.table, rows, time, columns };
}
