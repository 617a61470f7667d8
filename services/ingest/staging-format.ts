/**
 * Staging batches (DESIGN.md §3, §5; ADR 0014): a sealed buffer's Arrow tables as one Arrow IPC
 * stream over the union of their columns, with `weir.*` schema metadata saying whose rows they
 * are, so a batch found after a crash can be flushed without anything else.
 */
import {
  Bool,
  type Data,
  type DataType,
  type Field,
  Float64,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  Utf8,
} from 'apache-arrow';

/** A column of `length` nulls (a column a chunk does not have). */
function nullData(type: DataType, length: number): Data {
  const nullBitmap = new Uint8Array((length + 7) >> 3);
  if (type instanceof Utf8) {
    return makeData({
      type,
      length,
      nullCount: length,
      nullBitmap,
      valueOffsets: new Int32Array(length + 1),
      data: new Uint8Array(0),
    });
  }
  const data =
    type instanceof Float64
      ? new Float64Array(length)
      : type instanceof Bool
        ? new Uint8Array((length + 7) >> 3)
        : new BigInt64Array(length);
  return makeData({ type, length, nullCount: length, nullBitmap, data } as Parameters<typeof makeData>[0]);
}

/** Metadata a staging batch carries about itself (schema metadata `weir.*`). */
export interface StagingMeta {
  tenant: string;
  database: string;
  table: string;
  batchId: string;
  /** When the buffer was sealed, ms since the epoch (the flush run's logical time). */
  sealedAt: number;
  /** The version that created the table; absent in batches staged before it was recorded. */
  tableVersion?: number;
}

/**
 * One Arrow IPC stream of the chunks: the schema is the union of their columns (first
 * appearance order), a chunk lacking a column has nulls there. Same-named columns must agree
 * on type (schema reconciliation guarantees it). The stream comes in the writer's pieces, most
 * of them the chunks' own buffers: joining a generation's megabytes into one fresh copy cost
 * more than writing them (page faults on the new allocation).
 */
export async function encodeStagingBatch(chunks: readonly Table[], meta: StagingMeta): Promise<Uint8Array[]> {
  const fields = new Map<string, Field>();
  for (const chunk of chunks) {
    for (const field of chunk.schema.fields) {
      const seen = fields.get(field.name);
      if (!seen) fields.set(field.name, field);
      else if (String(seen.type) !== String(field.type))
        throw new Error(`staging batch ${meta.batchId}: column ${field.name} changes type between chunks`);
    }
  }
  const metadata = new Map(
    Object.entries(meta)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`weir.${k}`, String(v)]),
  );
  const schema = new Schema([...fields.values()], metadata);
  const batches: RecordBatch[] = [];
  for (const chunk of chunks) {
    for (const batch of chunk.batches) {
      const children = schema.fields.map((field) => {
        const child = batch.getChild(field.name);
        return child ? child.data[0]! : nullData(field.type, batch.numRows);
      });
      batches.push(
        new RecordBatch(
          schema,
          makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }),
        ),
      );
    }
  }
  const parts: Uint8Array[] = [];
  for await (const part of RecordBatchStreamWriter.writeAll(new Table(schema, batches))) parts.push(part);
  return parts;
}

/** Reads a staging batch's metadata and row count (throws on a malformed batch). */
export function readStagingBatch(bytes: Uint8Array): { meta: StagingMeta; table: Table } {
  const table = tableFromIPC(bytes);
  const get = (key: string) => {
    const value = table.schema.metadata.get(`weir.${key}`);
    if (value === undefined) throw new Error(`staging batch lacks weir.${key}`);
    return value;
  };
  const meta: StagingMeta = {
    tenant: get('tenant'),
    database: get('database'),
    table: get('table'),
    batchId: get('batchId'),
    sealedAt: Number(get('sealedAt')),
  };
  const tableVersion = table.schema.metadata.get('weir.tableVersion');
  if (tableVersion !== undefined) meta.tableVersion = Number(tableVersion);
  return { meta, table };
}
