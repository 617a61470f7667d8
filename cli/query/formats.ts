/**
 * The answer of `weir query` in each output format. Table and JSON read Arc's JSON answer (values as
 * the server renders them; int64 beyond 2^53 as strings); CSV streams the server's CSV line by
 * line; Arrow passes the server's IPC stream on as it arrives (exact types, timestamps as µs).
 */
import { type QueryOptions, toRecords, type WeirClient } from '../../sdk/index.js';
import { Chunked, cell, formatCount, renderTable, write } from '../output.js';
import { csvLine } from './csv.js';

export const FORMATS = ['table', 'csv', 'json', 'arrow'] as const;
export type Format = (typeof FORMATS)[number];

export interface QueryRequest {
  client: WeirClient;
  sql: string;
  options: QueryOptions;
  out: NodeJS.WritableStream;
}

export async function writeAnswer(format: Format, request: QueryRequest): Promise<void> {
  switch (format) {
    case 'table':
      return writeTable(request);
    case 'json':
      return writeJson(request);
    case 'csv':
      return writeCsv(request);
    case 'arrow':
      return writeArrow(request);
  }
}

async function writeTable({ client, sql, options, out }: QueryRequest): Promise<void> {
  const answer = await client.query(sql, options);
  const rows = answer.data.map((row) => row.map(cell));
  await write(renderTable(answer.columns, rows), out);
  const plural = answer.row_count === 1 ? 'row' : 'rows';
  await write(`(${formatCount(answer.row_count)} ${plural}, ${answer.execution_time_ms} ms)\n`, out);
}

/** A JSON array of objects, one per line, so large answers stay readable and `jq` takes them as is. */
async function writeJson({ client, sql, options, out }: QueryRequest): Promise<void> {
  const records = toRecords(await client.query(sql, options));
  if (records.length === 0) return write('[]\n', out);
  const chunks = new Chunked(out);
  await chunks.push('[\n');
  for (let i = 0; i < records.length; i++) {
    await chunks.push(`${JSON.stringify(records[i])}${i + 1 < records.length ? ',' : ''}\n`);
  }
  await chunks.push(']\n');
  await chunks.flush();
}

/** The server's CSV, line by line as parsed: the header as sent, so no column is lost whatever its name. */
async function writeCsv({ client, sql, options, out }: QueryRequest): Promise<void> {
  const chunks = new Chunked(out);
  for await (const row of client.streamCsvRows(sql, options)) await chunks.push(csvLine(row));
  await chunks.flush();
}

/** The server's bytes as they arrive, so an answer larger than memory passes through. */
async function writeArrow({ client, sql, options, out }: QueryRequest): Promise<void> {
  for await (const chunk of client.streamArrowIpc(sql, options)) await write(chunk, out);
}
