/**
 * What every wire-format decoder produces (DESIGN.md §5): one columnar batch per table a request
 * writes, with times already in microseconds and names already checked. Buffers, the WAL and
 * staging batches take it from here, whatever format it arrived in.
 */

/** A field or tag value type (the `time` column is separate). */
export type ValueType = 'string' | 'float64' | 'int64' | 'bool';
export type ColumnRole = 'tag' | 'field';

interface ColumnBase {
  readonly name: string;
  readonly role: ColumnRole;
  /**
   * True when the client said what the role is (line protocol tags, a columnar item's `tags` list,
   * `x-weir-tags`); false when it was inferred (a string column of columnar MessagePack without a
   * `tags` list). An inferred role yields to the role the catalog already has.
   */
  readonly roleDeclared: boolean;
  /**
   * Where the decoder first saw the column ("line 3", "item 1"), for messages about the column
   * as a whole (a type conflict with the catalog); absent when the format has no such place (Arrow).
   */
  readonly origin?: string;
}

/**
 * `valid[i] === 0` marks row i as missing (absent `valid`: all present). Strings are UTF-8 as Arrow
 * lays them out (value i is `data[offsets[i]..offsets[i + 1])`), so an Arrow request's strings pass
 * to the buffers without becoming JS strings, and the other formats encode theirs once.
 */
export type BatchColumn =
  | (ColumnBase & {
      readonly type: 'string';
      readonly offsets: Int32Array;
      readonly data: Uint8Array;
      readonly valid?: Uint8Array;
    })
  | (ColumnBase & { readonly type: 'float64'; readonly values: Float64Array; readonly valid?: Uint8Array })
  | (ColumnBase & { readonly type: 'int64'; readonly values: BigInt64Array; readonly valid?: Uint8Array })
  | (ColumnBase & {
      readonly type: 'bool';
      /** 1 = true, 0 = false. */
      readonly values: Uint8Array;
      readonly valid?: Uint8Array;
    });

export interface TableBatch {
  readonly database: string;
  readonly table: string;
  readonly rows: number;
  /** Microseconds since the Unix epoch, UTC, one per row. */
  readonly time: BigInt64Array;
  /** Every column but `time`, each of length `rows`; names unique. */
  readonly columns: readonly BatchColumn[];
}

/** Limits a decoder enforces while it decodes (each breach is a 4xx naming the limit). */
export interface DecodeLimits {
  /** Longest tag value, in UTF-8 bytes. */
  readonly maxTagBytes: number;
  /** Longest string field value, in UTF-8 bytes. */
  readonly maxStringFieldBytes: number;
  /** Most columns one table of a request may carry (besides time). */
  readonly maxColumns: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxTagBytes: 4 * 1024,
  maxStringFieldBytes: 1024 * 1024,
  maxColumns: 1_000,
};

/** What a decoder needs besides the body. */
export interface DecodeContext {
  /** The database of the request (header, endpoint parameter or `default`). */
  readonly database: string;
  /** "Now" in microseconds, for rows without a time (one value per request, so all such rows agree). */
  readonly nowMicros: bigint;
  readonly limits: DecodeLimits;
}
