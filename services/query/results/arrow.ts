/**
 * The Arrow IPC stream answer: the schema message, one record batch per DuckDB chunk, then the
 * end-of-stream marker. The schema travels with the first batch, so an error from the query or a
 * limit passed in the first chunk comes before any byte does. Bytes counted are the encoded ones.
 */
import type { DuckDBResult } from '@duckdb/node-api';
import {
  AsyncByteQueue,
  Field,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
} from 'apache-arrow';
import { arrowColumn } from './arrow-columns.js';
import { ResultBudget, type ResultLimits } from './limits.js';
import { chunksOf } from './vectors.js';

export function arrowStream(result: DuckDBResult, limits: ResultLimits): AsyncIterable<Uint8Array> {
  return arrowPieces(result, limits);
}

async function* arrowPieces(result: DuckDBResult, limits: ResultLimits): AsyncGenerator<Uint8Array> {
  const names = result.columnNames();
  const columns = result.columnTypes().map(arrowColumn);
  const schema = new Schema(names.map((name, i) => new Field(name, columns[i]!.type, true)));
  const rowType = new Struct(schema.fields);
  const budget = new ResultBudget(limits);
  const sink = new PieceSink();
  const writer = new RecordBatchStreamWriter();
  writer.reset(sink, schema);
  for await (const chunk of chunksOf(result)) {
    const rows = chunk.rowCount;
    budget.addRows(rows);
    const children = columns.map((column, i) => column.data(chunk, i));
    const data = makeData({ type: rowType, length: rows, nullCount: 0, children });
    writer.write(new RecordBatch(schema, data));
    yield budgeted(budget, sink);
  }
  writer.finish();
  yield budgeted(budget, sink);
}

function budgeted(budget: ResultBudget, sink: PieceSink): Uint8Array {
  const piece = sink.take();
  budget.addBytes(piece.byteLength);
  return piece;
}

/** Collects what the writer writes (synchronously, message by message) until taken. */
class PieceSink extends AsyncByteQueue<Uint8Array> {
  private pieces: Uint8Array[] = [];

  override write(piece: Uint8Array): void {
    this.pieces.push(piece);
  }

  take(): Uint8Array {
    const joined = Buffer.concat(this.pieces);
    this.pieces = [];
    return joined;
  }
}
