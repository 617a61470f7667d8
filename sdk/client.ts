/**
 * WeirClient: one object for writes, queries and management, over one token. Its parts are small
 * classes sharing one Transport; this file only wires them and holds the defaults.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import { Browser, type BrowserSession, type BrowserSessionRequest, type CatalogVersion } from './browser.js';
import { BufferedWriter, type BufferedWriterOptions } from './buffered-writer.js';
import type { Compression } from './compression.js';
import type { CsvRecord, CsvRow } from './csv.js';
import { Transport } from './http.js';
import type { ColumnarInput, RowInput } from './items.js';
import { ContinuousQueries } from './management/continuous-queries.js';
import { Databases, Tables } from './management/databases.js';
import { Deletes } from './management/deletes.js';
import { Retention } from './management/retention.js';
import { type LineageGraph, type LineageRequest, lineage, Runs } from './management/runs.js';
import { Tenants, Tokens } from './management/tokens.js';
import { type Estimate, Queries, type QueryAnswer, type QueryOptions } from './queries.js';
import { type ArrowWriteInput, type Precision, type WriteOptions, Writes } from './writes.js';

export interface WeirClientOptions {
  /** Base URL of the Weir API, e.g. `http://localhost:8000`. */
  url: string;
  token: string;
  /** Database of writes and bare table names in queries (default `default`). */
  database?: string;
  /** Milliseconds a call may take; for streamed answers, until the answer starts (default 60000). */
  timeout?: number;
  /** Compression of write bodies (default `gzip`). */
  compression?: Compression;
}

export interface Health {
  status: 'ok';
  time: string;
  uptime: string;
  uptime_sec: number;
}

export class WeirClient {
  readonly database: string;
  readonly databases: Databases;
  readonly tables: Tables;
  readonly tokens: Tokens;
  readonly tenants: Tenants;
  readonly retention: Retention;
  readonly continuousQueries: ContinuousQueries;
  readonly deletes: Deletes;
  readonly runs: Runs;
  private readonly transport: Transport;
  private readonly writes: Writes;
  private readonly queries: Queries;
  private readonly browser: Browser;

  constructor(options: WeirClientOptions) {
    this.database = options.database ?? 'default';
    this.transport = new Transport({
      url: options.url,
      token: options.token,
      timeout: options.timeout ?? 60_000,
    });
    this.writes = new Writes(this.transport, {
      database: this.database,
      compression: options.compression ?? 'gzip',
    });
    this.queries = new Queries(this.transport, this.database);
    this.browser = new Browser(this.transport, this.database);
    this.databases = new Databases(this.transport);
    this.tables = new Tables(this.transport);
    this.tokens = new Tokens(this.transport);
    this.tenants = new Tenants(this.transport);
    this.retention = new Retention(this.transport);
    this.continuousQueries = new ContinuousQueries(this.transport);
    this.deletes = new Deletes(this.transport);
    this.runs = new Runs(this.transport);
  }

  /** Liveness of the server (needs no token). */
  health(): Promise<Health> {
    return this.transport.json('GET', '/health');
  }

  writeColumnar(input: ColumnarInput, options?: WriteOptions): Promise<void> {
    return this.writes.writeColumnar(input, options);
  }

  writeRows(rows: readonly RowInput[], options?: WriteOptions): Promise<void> {
    return this.writes.writeRows(rows, options);
  }

  writeLineProtocol(
    lines: string | readonly string[],
    options?: WriteOptions & { precision?: Precision },
  ): Promise<void> {
    return this.writes.writeLineProtocol(lines, options);
  }

  writeArrow(input: ArrowWriteInput, options?: WriteOptions): Promise<{ rows: number }> {
    return this.writes.writeArrow(input, options);
  }

  /** A writer that batches rows, retries safely and honours backpressure; close it when done. */
  bufferedWriter(options?: BufferedWriterOptions): BufferedWriter {
    return new BufferedWriter(this.writes, options);
  }

  query(sql: string, options?: QueryOptions): Promise<QueryAnswer> {
    return this.queries.query(sql, options);
  }

  queryArrow(sql: string, options?: QueryOptions): Promise<Table> {
    return this.queries.queryArrow(sql, options);
  }

  /** The CSV answer record by record (a repeated column name keeps its last value: see streamCsvRows). */
  streamCsv(sql: string, options?: QueryOptions): AsyncGenerator<CsvRecord> {
    return this.queries.streamCsv(sql, options);
  }

  /** The CSV answer as arrays of fields, the column names first: every column, whatever its name. */
  streamCsvRows(sql: string, options?: QueryOptions): AsyncGenerator<CsvRow> {
    return this.queries.streamCsvRows(sql, options);
  }

  streamArrow(sql: string, options?: QueryOptions): AsyncGenerator<RecordBatch> {
    return this.queries.streamArrow(sql, options);
  }

  /** The Arrow answer's IPC stream bytes as they arrive (to save it without decoding). */
  streamArrowIpc(sql: string, options?: QueryOptions): AsyncGenerator<Uint8Array> {
    return this.queries.streamArrowIpc(sql, options);
  }

  estimate(sql: string, options?: QueryOptions): Promise<Estimate> {
    return this.queries.estimate(sql, options);
  }

  /**
   * A browser session: the pinned catalog version, and each table's schema and pruned files with
   * signed URLs (for `sql`, the statement to run with its references renamed).
   */
  browserSession(request: BrowserSessionRequest): Promise<BrowserSession> {
    return this.browser.session(request);
  }

  /** The tenant's catalog commits, newest first (default 100, at most 1000). */
  catalogVersions(options?: { limit?: number; signal?: AbortSignal }): Promise<CatalogVersion[]> {
    return this.browser.versions(options);
  }

  /** Upstream or downstream of a table, a partition or a file. */
  lineage(request: LineageRequest): Promise<LineageGraph> {
    return lineage(this.transport, request);
  }
}
