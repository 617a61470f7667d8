/**
 * Per-table write buffers (DESIGN.md §5). A buffer generation collects a table's rows until it
 * passes its row, byte or age threshold; then it is sealed and handed over to become a staging
 * batch, and the next rows start a new generation. In `wal` mode each generation has its own WAL
 * segment, with the same id as the staging batch it becomes.
 */
import type { Table } from 'apache-arrow';
import { ulid } from 'ulid';
import type { WalSegment } from './wal.js';

export interface BufferThresholds {
  maxRows: number;
  maxBytes: number;
  maxAgeMs: number;
}

export interface TableBufferKey {
  tenant: string;
  database: string;
  table: string;
  /** The version that created the table (`ReconciledBatch.tableVersion`). */
  tableVersion: number;
}

/** One generation of one table's buffer. */
export interface BufferGeneration extends TableBufferKey {
  /** Also the staging batch id and the WAL segment name. */
  readonly batchId: string;
  readonly createdAt: number;
  readonly chunks: Table[];
  /** Type of each column in the chunks, by name (Arrow's type as text). */
  readonly types: Map<string, string>;
  rows: number;
  bytes: number;
  segment?: WalSegment;
}

const keyOf = (k: TableBufferKey) => `${k.tenant}\u0000${k.database}\u0000${k.table}`;

export class TableBuffers {
  private readonly open = new Map<string, BufferGeneration>();
  /** Bytes in open generations (sealed ones are counted by whoever holds them). */
  openBytes = 0;

  constructor(
    private readonly thresholds: BufferThresholds,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The open generation of the table to add `chunk` to, started (with `start`, e.g. to open its WAL
   * segment) when there is none. An open one of another table of that name (dropped and re-created
   * since), or holding a same-named column of another type, is sealed first and handed back as
   * `sealed`, so a generation, and the staging batch it becomes, belongs to one table and has one
   * type per column.
   */
  generation(
    key: TableBufferKey,
    chunk: Table,
    start: (generation: BufferGeneration) => void,
  ): { generation: BufferGeneration; sealed?: BufferGeneration } {
    const k = keyOf(key);
    const open = this.open.get(k);
    if (
      open &&
      open.tableVersion === key.tableVersion &&
      chunk.schema.fields.every((f) => (open.types.get(f.name) ?? String(f.type)) === String(f.type))
    )
      return { generation: open };
    const generation: BufferGeneration = {
      tenant: key.tenant,
      database: key.database,
      table: key.table,
      tableVersion: key.tableVersion,
      batchId: ulid(this.now()),
      createdAt: this.now(),
      chunks: [],
      types: new Map(),
      rows: 0,
      bytes: 0,
    };
    // Started before the open one is sealed: when `start` fails, nothing changed.
    start(generation);
    const sealed = open && this.seal(open);
    this.open.set(k, generation);
    return { generation, ...(sealed ? { sealed } : {}) };
  }

  add(generation: BufferGeneration, chunk: Table, bytes: number): void {
    generation.chunks.push(chunk);
    for (const field of chunk.schema.fields) {
      if (!generation.types.has(field.name)) generation.types.set(field.name, String(field.type));
    }
    generation.rows += chunk.numRows;
    generation.bytes += bytes;
    this.openBytes += bytes;
  }

  /** Seals the generation if it passed its row or byte threshold. */
  sealIfFull(generation: BufferGeneration): BufferGeneration | undefined {
    const { maxRows, maxBytes } = this.thresholds;
    if (generation.rows < maxRows && generation.bytes < maxBytes) return undefined;
    return this.seal(generation);
  }

  /** Generations older than the age threshold (or all of them, on shutdown), sealed. */
  sealExpired(all = false): BufferGeneration[] {
    const cutoff = this.now() - this.thresholds.maxAgeMs;
    return [...this.open.values()].filter((g) => all || g.createdAt <= cutoff).map((g) => this.seal(g));
  }

  private seal(generation: BufferGeneration): BufferGeneration {
    const k = keyOf(generation);
    if (this.open.get(k) === generation) {
      this.open.delete(k);
      this.openBytes -= generation.bytes;
    }
    return generation;
  }

  get size(): number {
    return this.open.size;
  }
}
