/**
 * The write calls: MessagePack (columnar and row items), line protocol and Arrow IPC, each one
 * request, compressed as the client is configured. One attempt each: retries belong to the
 * buffered writer, which owns the idempotency keys that make them safe.
 */
import { type Table, tableToIPC } from 'apache-arrow';
import { type Compression, compress } from './compression.js';
import type { Transport } from './http.js';
import { type ColumnarInput, columnarItem, packItems, type RowInput, rowItem } from './items.js';

export interface WriteOptions {
  /** Database to write to (default: the client's). */
  database?: string;
  /** Sent as `Idempotency-Key`: a repeated request with the same key lands once. */
  idempotencyKey?: string;
  /** Overrides the client's compression for this call. */
  compression?: Compression;
  signal?: AbortSignal;
}

export type Precision = 'ns' | 'us' | 'ms' | 's';

export interface ArrowWriteInput {
  table: string;
  /** An Arrow table with a `time` column (timestamp or integer epoch). */
  data: Table;
  /** Which string columns are tags (else every string column is a tag). */
  tags?: readonly string[];
}

export interface WriteDefaults {
  database: string;
  compression: Compression;
}

export class Writes {
  constructor(
    private readonly transport: Transport,
    private readonly defaults: WriteDefaults,
  ) {}

  /** Columnar MessagePack: `{m, columns, tags?}`. */
  async writeColumnar(input: ColumnarInput, options: WriteOptions = {}): Promise<void> {
    await this.writeMsgpack(packItems([columnarItem(input)]), options);
  }

  /** Row MessagePack: one `{m, t, tags, fields}` item per row. */
  async writeRows(rows: readonly RowInput[], options: WriteOptions = {}): Promise<void> {
    await this.writeMsgpack(packItems(rows.map(rowItem)), options);
  }

  /** A MessagePack body already packed (the buffered writer's batches, the same on every attempt). */
  async writeMsgpack(body: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.send('/api/v1/write/msgpack', body, 'application/msgpack', options);
  }

  /** InfluxDB line protocol; `precision` of the timestamps defaults to ns. */
  async writeLineProtocol(
    lines: string | readonly string[],
    options: WriteOptions & { precision?: Precision } = {},
  ): Promise<void> {
    const text = typeof lines === 'string' ? lines : lines.join('\n');
    await this.send('/api/v1/write/line-protocol', new TextEncoder().encode(text), 'text/plain', options, {
      precision: options.precision,
    });
  }

  /** An Arrow table as an IPC stream; answers the rows the server took. */
  async writeArrow(input: ArrowWriteInput, options: WriteOptions = {}): Promise<{ rows: number }> {
    const headers: Record<string, string> = input.tags ? { 'x-weir-tags': input.tags.join(',') } : {};
    return this.send(
      '/api/v1/write/arrow',
      tableToIPC(input.data, 'stream'),
      'application/vnd.apache.arrow.stream',
      options,
      { table: input.table },
      headers,
    );
  }

  private async send<T>(
    path: string,
    raw: Uint8Array,
    contentType: string,
    options: WriteOptions,
    query: Record<string, string | undefined> = {},
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const { body, encoding } = await compress(raw, options.compression ?? this.defaults.compression);
    const headers: Record<string, string> = {
      'content-type': contentType,
      'x-arc-database': options.database ?? this.defaults.database,
      ...extraHeaders,
    };
    if (encoding) headers['content-encoding'] = encoding;
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    return this.transport.json<T>('POST', path, {
      body,
      headers,
      query,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
}
