/**
 * The shapes an import works with: its options, the schema a validated file turned out to have (what
 * `--dry-run` prints and what is checked against the server's tables), and the batches it sends.
 */
import type { Table } from 'apache-arrow';
import type { Precision } from './time.js';

const FILE_FORMATS = ['csv', 'lp', 'parquet', 'arrow'] as const;
export type FileFormat = (typeof FILE_FORMATS)[number];

export type ColumnType = 'int64' | 'float64' | 'bool' | 'string';
export type Role = 'tag' | 'field';

export interface ImportOptions {
  /** Table of a CSV, Parquet or Arrow file (line protocol names its own). */
  table: string;
  /** Column of the file holding the time (stored as `time`). */
  timeColumn: string;
  /** Tag columns; undefined: string columns are tags (the server's rule). */
  tags: readonly string[] | undefined;
  /** Types given with --types, instead of inferred ones. */
  types: ReadonlyMap<string, ColumnType>;
  /** Unit of epoch times; undefined: inferred from their size. */
  precision: Precision | undefined;
  /** Rows per request. */
  batchSize: number;
}

export interface FileColumn {
  name: string;
  type: ColumnType;
  role: Role;
  /** An int64 column holding values float64 cannot hold exactly (it cannot go into a float64 column). */
  unsafeInt?: boolean;
}

export interface FileTable {
  table: string;
  columns: FileColumn[];
  rows: number;
}

export interface FileSummary {
  tables: FileTable[];
  rows: number;
  /** What the time column held, e.g. "RFC 3339 times". */
  time: string;
  /** Earliest and latest time, in µs. */
  minTime?: bigint;
  maxTime?: bigint;
  /** Notes for the operator (columns left out…). */
  notes: string[];
}

/** One request: an Arrow table for one table, or a chunk of line protocol. */
export type Outgoing =
  | { kind: 'arrow'; table: string; data: Table; tags: readonly string[] | undefined; rows: number }
  | { kind: 'lp'; text: string; rows: number };

/** A validated file: what it holds, and its batches, read from the file again. */
export interface PreparedFile {
  summary: FileSummary;
  batches(): AsyncGenerator<Outgoing>;
}

/** The earliest and latest of the times seen. */
export class TimeRange {
  min: bigint | undefined;
  max: bigint | undefined;

  add(micros: bigint): void {
    if (this.min === undefined || micros < this.min) this.min = micros;
    if (this.max === undefined || micros > this.max) this.max = micros;
  }
}
