/**
 * The query calls: Arc's JSON answer, an Arrow table, async iteration over the streamed CSV and
 * Arrow answers (also as raw IPC bytes), and estimates. Every call may name a database and read an
 * earlier catalog version (`asOf`). Leaving a stream early cancels its body, which stops the query
 * on the server.
 */
import { type RecordBatch, RecordBatchReader, type Table, tableFromIPC } from 'apache-arrow';
import { type CsvRecord, type CsvRow, csvRecords, csvRows } from './csv.js';
import { decodeJson, failure, invalidAnswer, type Transport } from './http.js';

const ARROW_STREAM = 'application/vnd.apache.arrow.stream';

export type AsOf = { version: number } | { timestamp: string | number };

export interface QueryOptions {
  /** Database of bare table names (default: the client's). */
  database?: string;
  /** Read the catalog as it was at a version, or at a point in time. */
  asOf?: AsOf;
  signal?: AbortSignal;
}

/** Arc's JSON answer, plus the catalog version it read (from `x-weir-catalog-version`). */
export interface QueryAnswer {
  columns: string[];
  data: unknown[][];
  row_count: number;
  execution_time_ms: number;
  timestamp: string;
  catalog_version: number;
}

export interface Estimate {
  estimated_rows: number;
  files: number;
  bytes: number;
  warning_level: 'none' | 'low' | 'medium' | 'high';
  execution_time_ms: number;
}

/** The rows of a JSON answer as objects keyed by column name. */
export function toRecords(answer: Pick<QueryAnswer, 'columns' | 'data'>): Record<string, unknown>[] {
  return answer.data.map((row) => Object.fromEntries(answer.columns.map((name, i) => [name, row[i]])));
}

export class Queries {
  constructor(
    private readonly transport: Transport,
    private readonly database: string,
  ) {}

  async query(sql: string, options: QueryOptions = {}): Promise<QueryAnswer> {
    const answer = await this.transport.call('POST', '/api/v1/query', this.request(sql, options));
    const body = decodeJson(answer) as Omit<QueryAnswer, 'catalog_version'> | null;
    if (!Array.isArray(body?.columns) || !Array.isArray(body.data)) {
      throw invalidAnswer(answer, "Arc's query answer");
    }
    return { ...body, catalog_version: Number(answer.headers.get('x-weir-catalog-version')) };
  }

  /** The whole answer as an Arrow table (timestamps as µs, int64 exact). */
  async queryArrow(sql: string, options: QueryOptions = {}): Promise<Table> {
    const answer = await this.transport.call('POST', '/api/v1/query/arrow', this.request(sql, options));
    try {
      return tableFromIPC(answer.bytes);
    } catch (error) {
      throw invalidAnswer(answer, 'an Arrow IPC stream', error);
    }
  }

  /** The CSV answer, record by record, as it arrives (NULL as null). */
  streamCsv(sql: string, options: QueryOptions = {}): AsyncGenerator<CsvRecord> {
    return csvRecords(this.streamCsvRows(sql, options));
  }

  /**
   * The CSV answer as arrays of fields, as it arrives: the column names first, then each row in
   * their order (NULL as null). Unlike records, it keeps every column whatever its name.
   */
  async *streamCsvRows(sql: string, options: QueryOptions = {}): AsyncGenerator<CsvRow> {
    const response = await this.transport.stream(
      'POST',
      '/api/v1/query/stream',
      'text/csv',
      this.request(sql, options),
    );
    const chunks = bodyChunks(response, '/api/v1/query/stream', options.signal);
    try {
      yield* csvRows(chunks);
    } finally {
      await chunks.return(undefined);
    }
  }

  /** The Arrow answer, record batch by record batch, as it arrives. */
  async *streamArrow(sql: string, options: QueryOptions = {}): AsyncGenerator<RecordBatch> {
    const chunks = this.streamArrowIpc(sql, options);
    try {
      const reader = await RecordBatchReader.from(chunks);
      for await (const batch of reader) yield batch;
    } finally {
      await chunks.return(undefined);
    }
  }

  /** The Arrow answer's IPC stream bytes as they arrive: to save or pass on without decoding. */
  async *streamArrowIpc(sql: string, options: QueryOptions = {}): AsyncGenerator<Uint8Array> {
    const response = await this.transport.stream(
      'POST',
      '/api/v1/query/arrow',
      ARROW_STREAM,
      this.request(sql, options),
    );
    yield* bodyChunks(response, '/api/v1/query/arrow', options.signal);
  }

  /** Files, bytes and rows the query would read after pruning, without running it. */
  estimate(sql: string, options: QueryOptions = {}): Promise<Estimate> {
    return this.transport.json('POST', '/api/v1/query/estimate', this.request(sql, options));
  }

  private request(sql: string, options: QueryOptions) {
    return {
      json: {
        sql,
        database: options.database ?? this.database,
        ...(options.asOf ? { as_of: options.asOf } : {}),
      },
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }
}

/**
 * The body's chunks; a broken connection (the server cuts a stream that passed a limit) becomes a
 * ConnectionError, and stopping early cancels the body.
 */
async function* bodyChunks(
  response: Response,
  where: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  const reader = response.body.getReader();
  let done = false;
  try {
    while (!done) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        done = true;
        throw failure(error, where, signal);
      }
      done = next.done;
      if (next.value) yield next.value;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
  }
}
