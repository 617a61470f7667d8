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
}

/** One generation of one table's buffer. */
export interface BufferGeneration extends TableBufferKey {
  /** Also the staging batch id and the WAL segment name. */
  readonly batchId: string;
  readonly createdAt: number;
  readonly chunks: Table[];
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

  /** The open generation of the table, started (with `start`, e.g. to open its WAL segment) when there is none. */
  generation(key: TableBufferKey, start: (generation: BufferGeneration) => void): BufferGeneration {
    const k = keyOf(key);
    let generation = this.open.get(k);
    if (!generation) {
      generation = {
        tenant: key.tenant,
        database: key.database,
        table: key.table,
        batchId: ulid(this.now()),
        createdAt: this.now(),
        chunks: [],
        rows: 0,
        bytes: 0,
      };
      start(generation);
      this.open.set(k, generation);
    }
    return generation;
  }

  add(generation: BufferGeneration, chunk: Table, bytes: number): void {
    generation.chunks.push(chunk);
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
