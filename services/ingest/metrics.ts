/** Ingest metrics (DESIGN.md §9), registered on the API's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  rows(format: string, count: number): void;
  rejected(reason: string): void;
  flushRequested(): void;
  flushFailed(): void;
  /** Rows of a staging batch deleted because their table was dropped after they were written. */
  rowsDiscarded(count: number): void;
  observe(bufferedBytes: number, stagingBacklog: number): void;
  /** One grouped fdatasync of the WAL: its duration and the waiting writes it acknowledged. */
  walSynced(seconds: number, waiters: number): void;
}

export const noMetrics: IngestMetrics = {
  rows: () => {},
  rejected: () => {},
  flushRequested: () => {},
  flushFailed: () => {},
  rowsDiscarded: () => {},
  observe: () => {},
  walSynced: () => {},
};

export function ingestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  const rows = new Counter({
    name: 'weir_ingest_rows_total',
    help: 'Rows accepted by the write endpoints, by wire format.',
    labelNames: ['format'] as const,
    registers,
  });
  const rejected = new Counter({
    name: 'weir_ingest_rejected_total',
    help: 'Write requests refused before decoding, by reason (backpressure).',
    labelNames: ['reason'] as const,
    registers,
  });
  const flushes = new Counter({
    name: 'weir_ingest_flush_runs_requested_total',
    help: 'Flush runs asked of the orchestrator.',
    registers,
  });
  const failed = new Counter({
    name: 'weir_ingest_flush_runs_failed_total',
    help: 'Flush runs that failed; their staging batches stay for an operator.',
    registers,
  });
  const discarded = new Counter({
    name: 'weir_ingest_rows_discarded_total',
    help: 'Staged rows deleted unflushed because their table was dropped after they were written.',
    registers,
  });
  const buffered = new Gauge({
    name: 'weir_ingest_buffered_bytes',
    help: 'Bytes held in write buffers of this node.',
    registers,
  });
  const backlog = new Gauge({
    name: 'weir_ingest_staging_backlog',
    help: 'Staged batches of this node awaiting their flush.',
    registers,
  });
  const walSync = new Histogram({
    name: 'weir_ingest_wal_sync_seconds',
    help: 'Duration of each grouped fdatasync of the WAL (durability wal); acknowledged writes wait for one.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  const walGroup = new Histogram({
    name: 'weir_ingest_wal_sync_group_size',
    help: 'Writes (requests and tables) acknowledged by one grouped fdatasync of the WAL.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers,
  });
  return {
    rows: (format, count) => rows.inc({ format }, count),
    rejected: (reason) => rejected.inc({ reason }),
    flushRequested: () => flushes.inc(),
    flushFailed: () => failed.inc(),
    rowsDiscarded: (count) => discarded.inc(count),
    observe: (bytes, staged) => {
      buffered.set(bytes);
      backlog.set(staged);
    },
    walSynced: (seconds, waiters) => {
      walSync.observe(seconds);
      walGroup.observe(waiters);
    },
  };
}
