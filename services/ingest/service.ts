/**
 * The ingest service (DESIGN.md §5): decoded batches are matched to the catalog, appended to
 * per-table buffers (and the WAL in `wal` mode), and acknowledged once as durable as the mode
 * promises. Full or old buffers become staging batches and flush runs. Recovery on start turns
 * WAL segments and staging batches left by a crash into flush runs, each batch exactly once
 * (its flush run is keyed by the batch id, its commit by the task id).
 */
import { unlink } from 'node:fs/promises';
import type { Table } from 'apache-arrow';
import type { Redis } from 'ioredis';
import {
  type ObjectStore,
  paths,
  type TenantCatalog,
  type TenantCatalogs,
  tableCreatedAt,
} from '../../catalog/index.js';
import { tableBytes, tableOfBatch } from './arrow.js';
import type { TableBatch } from './batch.js';
import { type BufferGeneration, type BufferThresholds, TableBuffers } from './buffers.js';
import { IngestError, show } from './errors.js';
import { IdempotencyKeys, type KeyedRequest } from './idempotency.js';
import { type IngestMetrics, noMetrics } from './metrics.js';
import { reconcileSchema } from './schema.js';
import { encodeStagingBatch, readStagingBatch, type StagingMeta } from './staging-format.js';
import { type WalSegment, WriteAheadLog } from './wal.js';
import { decodeWalBatch, encodeWalBatch } from './wal-record.js';

export type Durability = 'buffered' | 'wal';

/** What the service asks of the orchestrator: a flush run per staging batch, and its status. */
export interface FlushRuns {
  submit(trigger: Record<string, unknown>): Promise<{ runId: string }>;
  status(tenant: string, runId: string): Promise<string | undefined>;
}

export interface IngestServiceOptions {
  store: ObjectStore;
  catalogs: TenantCatalogs;
  flushRuns: FlushRuns;
  redis: Redis;
  /** Tenants whose staging batches recovery looks at. */
  tenants: () => Promise<readonly string[]>;
  durability: Durability;
  walDir: string;
  thresholds: BufferThresholds;
  maxTotalBufferBytes: number;
  maxStagingBacklog: number;
  metrics?: IngestMetrics;
  onError?: (error: unknown, context: Record<string, unknown>) => void;
  /** How often buffers are checked for age and staged batches for their flush. */
  tickMs?: number;
}

export interface WriteOptions {
  /** The request's Idempotency-Key, bound to what the request means. */
  idempotency?: KeyedRequest;
  /** Format label for metrics. */
  format: string;
}

export interface WriteOutcome {
  /** Rows of the request: written now, or, for a replay, written by the request it repeats. */
  rows: number;
  /** The Idempotency-Key had already landed: nothing was written again. */
  duplicate: boolean;
}

interface PendingFlush {
  meta: StagingMeta;
  rows: number;
  bytes: number;
  runId?: string;
  submittedAt?: number;
}

/** A staged batch whose flush has not finished after this long gets its run looked at. */
const FLUSH_CHECK_AFTER_MS = 10_000;
const RETRY_AFTER_SECONDS = 1;
/** How old the catalog head that writes are matched against may get (see `catalogOf`). */
const SCHEMA_MAX_AGE_MS = 1_000;
/** Tries at marking a key done once its rows are accepted. */
const COMPLETE_ATTEMPTS = 4;

export class IngestService {
  private readonly buffers: TableBuffers;
  private readonly idempotency: IdempotencyKeys;
  private metrics: IngestMetrics;
  private wal: WriteAheadLog | undefined;
  /** Sealed generations not yet staged. */
  private readonly sealing = new Set<BufferGeneration>();
  private sealingBytes = 0;
  /** Staged batches whose flush has not finished. */
  private readonly pending = new Map<string, PendingFlush>();
  private readonly stagingWrites = new Set<Promise<void>>();
  /** When each tenant's catalog head was last read again for `catalogOf`. */
  private readonly headReadAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closed = false;

  constructor(private readonly options: IngestServiceOptions) {
    this.buffers = new TableBuffers(options.thresholds);
    this.idempotency = new IdempotencyKeys(options.redis);
    this.metrics = options.metrics ?? noMetrics;
  }

  /** Opens the WAL, recovers what a crash left behind, and starts the buffer clock. */
  async start(): Promise<void> {
    if (this.options.durability === 'wal') {
      this.wal = await WriteAheadLog.open(this.options.walDir);
      // Through `this.metrics`, which `useMetrics` may replace later.
      this.wal.onSync = (seconds, waiters) => this.metrics.walSynced(seconds, waiters);
    }
    await this.recover();
    const tickMs = this.options.tickMs ?? Math.max(10, Math.min(250, this.options.thresholds.maxAgeMs / 4));
    this.timer = setInterval(() => void this.tick(), tickMs);
    this.timer.unref();
  }

  /** Reports to these metrics from now on (the API's registry exists after the service). */
  useMetrics(metrics: IngestMetrics): void {
    this.metrics = metrics;
  }

  get durability(): Durability {
    return this.options.durability;
  }

  /** Bytes held in memory by buffers and batches being staged. */
  get bufferedBytes(): number {
    return this.buffers.openBytes + this.sealingBytes;
  }

  /** Batches sealed or staged whose flush has not finished. */
  get stagingBacklog(): number {
    return this.sealing.size + this.pending.size;
  }

  /** Refuses work the buffers cannot take now (429 with Retry-After), before anything is decoded. */
  admit(): void {
    if (this.closed)
      throw new IngestError('SHUTTING_DOWN', 'the server is shutting down; retry on another node', 503);
    const { maxTotalBufferBytes, maxStagingBacklog } = this.options;
    const reason =
      this.bufferedBytes > maxTotalBufferBytes
        ? `write buffers hold ${this.bufferedBytes} bytes (limit ${maxTotalBufferBytes})`
        : this.stagingBacklog >= maxStagingBacklog
          ? `${this.stagingBacklog} staged batches await their flush (limit ${maxStagingBacklog})`
          : undefined;
    if (reason) {
      this.metrics.rejected('backpressure');
      throw new IngestError('BACKPRESSURE', `ingest is behind: ${reason}; retry later`, 429, {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    }
  }

  /**
   * Writes a request's batches: schema commit if needed, WAL and buffers, then resolves once the
   * rows are as durable as the mode promises. Nothing is buffered when any batch is refused.
   */
  async write(tenant: string, batches: readonly TableBatch[], options: WriteOptions): Promise<WriteOutcome> {
    this.admit();
    const { idempotency } = options;
    if (idempotency !== undefined && (await this.claim(tenant, idempotency)) === 'duplicate') {
      // The key is bound to a digest of the whole request (idempotency.ts), so the replay's rows
      // are the ones that landed: their count needs no storing. (A key marked before keys were
      // bound matches any request; its replay can only answer its own count.)
      return { rows: batches.reduce((sum, batch) => sum + batch.rows, 0), duplicate: true };
    }
    let accepted: { rows: number; segments: WalSegment[] };
    try {
      accepted = await this.accept(tenant, batches, idempotency);
    } catch (error) {
      if (idempotency !== undefined)
        await this.idempotency.abandon(tenant, idempotency).catch(() => undefined);
      throw error;
    }
    // The rows are in the buffers now and will be staged: releasing the key would let a retry write
    // them twice. A failed sync (the WAL is broken) still answers an error, since the rows were not
    // made durable, but they land with the buffers, so the key is marked done all the same.
    try {
      if (this.wal) await this.wal.sync(accepted.segments);
    } finally {
      if (idempotency !== undefined) await this.markDone(tenant, idempotency);
    }
    for (const batch of batches) this.metrics.rows(options.format, batch.rows);
    return { rows: accepted.rows, duplicate: false };
  }

  /** Takes the request's key ('new'), or finds its rows landed ('duplicate'); throws when another request holds it. */
  private async claim(tenant: string, request: KeyedRequest): Promise<'new' | 'duplicate'> {
    const state = await this.idempotency.begin(tenant, request);
    if (state === 'in-progress') {
      throw new IngestError(
        'IDEMPOTENCY_KEY_IN_USE',
        'a request with this Idempotency-Key is still being written; retry later',
        409,
      );
    }
    if (state === 'reused') {
      // Whether that request is still running or landed, this one would never be written under the key.
      throw new IngestError(
        'IDEMPOTENCY_KEY_REUSED',
        `Idempotency-Key ${show(request.key)} belongs to another request (other rows, database or ` +
          'parameters); nothing was written: send a new request with a new key',
        422,
      );
    }
    return state;
  }

  /**
   * Marks a key whose rows were accepted done, retrying a little. When Redis keeps failing, the
   * rows are acknowledged anyway (they are as durable as promised; the failure is reported) and the
   * key stays pending: retries get 409 until it expires, after which one could write them again.
   */
  private async markDone(tenant: string, request: KeyedRequest): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.idempotency.complete(tenant, request.key, request.digest);
        return;
      } catch (error) {
        if (attempt >= COMPLETE_ATTEMPTS) {
          this.options.onError?.(error, { tenant, attempt, stage: 'idempotency' });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 1)));
      }
    }
  }

  /**
   * Puts the request's rows in the WAL and the buffers, and answers the segments to sync. Whatever
   * can fail comes first (schema, Arrow conversion, starting generations); then the WAL records of
   * every table (all or none); only then the buffers. So memory never holds part of a request, and
   * no segment of it is staged (and removed) before all of its records are written.
   */
  private async accept(
    tenant: string,
    batches: readonly TableBatch[],
    idempotency?: KeyedRequest,
  ): Promise<{ rows: number; segments: WalSegment[] }> {
    // Refused before a schema commit, or never: a 429 must leave no new tables or columns behind.
    const reconciled = await reconcileSchema(await this.catalogOf(tenant), batches, () => this.admit());
    const chunks = reconciled.batches.map((batch) => {
      const table = tableOfBatch(batch);
      return { batch, table, bytes: tableBytes(table) };
    });
    // The buffers may have filled while the schema was read. A request that committed schema goes
    // on: that overshoots the limits by at most the requests adding tables or columns at once.
    if (!reconciled.committed) this.admit();
    const wal = this.wal;
    // No await from here on: buffers and WAL see the request as one step.
    const targets = chunks.map((chunk) => {
      const { batch } = chunk;
      const { generation, sealed } = this.buffers.generation(
        { tenant, database: batch.database, table: batch.table, tableVersion: batch.tableVersion },
        chunk.table,
        (g) => {
          if (wal)
            g.segment = wal.create({
              tenant,
              database: g.database,
              table: g.table,
              tableVersion: g.tableVersion,
              batchId: g.batchId,
              createdAt: g.createdAt,
            });
        },
      );
      if (sealed) this.stage(sealed);
      return { ...chunk, generation };
    });
    const segments: WalSegment[] = [];
    if (wal) {
      const writes = targets.map(({ batch, generation }) => ({
        segment: generation.segment!,
        parts: encodeWalBatch(batch),
      }));
      wal.append(writes, idempotency);
      segments.push(...new Set(writes.map((w) => w.segment)));
    }
    let rows = 0;
    for (const { batch, table, bytes, generation } of targets) {
      this.buffers.add(generation, table, bytes);
      rows += batch.rows;
    }
    for (const generation of new Set(targets.map((t) => t.generation))) {
      const sealed = this.buffers.sealIfFull(generation);
      if (sealed) this.stage(sealed);
    }
    return { rows, segments };
  }

  /**
   * The tenant's catalog, its head read again when older than SCHEMA_MAX_AGE_MS: rows are matched
   * to the tables in it, so a table dropped (or created again) through another node is seen here
   * within that time, not only after this node's next commit. Requests meanwhile use the head, as
   * does this one when the read fails: an unreachable store must not refuse writes `wal` can take.
   */
  private async catalogOf(tenant: string): Promise<TenantCatalog> {
    const catalog = this.options.catalogs.forTenant(tenant);
    const now = Date.now();
    if (now - (this.headReadAt.get(tenant) ?? 0) >= SCHEMA_MAX_AGE_MS) {
      this.headReadAt.set(tenant, now);
      await catalog.refresh().catch(() => undefined);
    }
    return catalog;
  }

  /** Turns a sealed generation into a staging batch (retrying until the store takes it), then asks for its flush. */
  private stage(generation: BufferGeneration): void {
    this.sealing.add(generation);
    this.sealingBytes += generation.bytes;
    const write = (async () => {
      let staged: PendingFlush | undefined;
      try {
        staged = await this.writeStagingBatch(generation);
      } catch (error) {
        // A batch that cannot be encoded (or a generation whose segment cannot be removed). The
        // rows stay where they are durable: in `wal` mode the segment stays on disk and the next
        // start stages it, or reports it and leaves it for an operator; `buffered` mode loses them.
        this.options.onError?.(error, { batchId: generation.batchId, stage: 'staging' });
      } finally {
        this.sealing.delete(generation);
        this.sealingBytes -= generation.bytes;
      }
      if (staged) {
        this.pending.set(staged.meta.batchId, staged);
        await this.requestFlush(staged.meta.batchId);
      }
    })();
    this.stagingWrites.add(write);
    void write.finally(() => this.stagingWrites.delete(write));
  }

  /** Writes the generation's staging batch and drops its segment; undefined when there is nothing to flush. */
  private async writeStagingBatch(generation: BufferGeneration): Promise<PendingFlush | undefined> {
    if (generation.rows === 0) {
      // Started by a request that failed after that: no rows, nothing to stage.
      if (generation.segment) await this.wal?.remove(generation.segment);
      return undefined;
    }
    const meta: StagingMeta = {
      tenant: generation.tenant,
      database: generation.database,
      table: generation.table,
      batchId: generation.batchId,
      sealedAt: Date.now(),
      tableVersion: generation.tableVersion,
    };
    const parts = await encodeStagingBatch(generation.chunks, meta);
    const bytes = parts.reduce((sum, part) => sum + part.byteLength, 0);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.store.putIfAbsent(paths.stagingKeys.batch(meta.tenant, meta.batchId), parts);
        if (generation.segment) await this.wal?.remove(generation.segment);
        return { meta, rows: generation.rows, bytes };
      } catch (error) {
        this.options.onError?.(error, { batchId: meta.batchId, attempt, stage: 'staging' });
        // On shutdown, give up after a few tries: in `wal` mode the segment still holds the rows.
        if (this.closed && attempt >= 3) return undefined;
        await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 100 * 2 ** attempt)));
      }
    }
  }

  private async requestFlush(batchId: string): Promise<void> {
    const entry = this.pending.get(batchId);
    if (!entry || entry.runId) return;
    const { meta } = entry;
    try {
      const { runId } = await this.options.flushRuns.submit({
        kind: 'flush',
        tenant: meta.tenant,
        logicalTime: new Date(meta.sealedAt).toISOString(),
        database: meta.database,
        table: meta.table,
        batchId,
        rows: entry.rows,
        bytes: entry.bytes,
        ...(meta.tableVersion === undefined ? {} : { tableVersion: meta.tableVersion }),
      });
      entry.runId = runId;
      entry.submittedAt = Date.now();
      this.metrics.flushRequested();
    } catch (error) {
      if (await this.discardIfTableDropped(batchId, entry).catch(() => false)) return;
      // Retried by the next tick (the run key makes a repeated request harmless).
      this.options.onError?.(error, { batchId, stage: 'flush-request' });
    }
  }

  /**
   * Deletes the staging batch of rows whose table was dropped after they were written (and maybe
   * created again under that name): their flush can never be planned or commit, and retrying it
   * forever would hold a place in the node's staging backlog, which every tenant shares, across
   * restarts too. The rows went with their table, as if the drop had come after their flush.
   */
  private async discardIfTableDropped(batchId: string, entry: PendingFlush): Promise<boolean> {
    const { tenant, database, table, tableVersion } = entry.meta;
    const state = await this.options.catalogs.forTenant(tenant).refresh();
    if (tableCreatedAt(state, database, table, tableVersion)) return false;
    await this.options.store.delete(paths.stagingKeys.batch(tenant, batchId));
    this.pending.delete(batchId);
    this.metrics.rowsDiscarded(entry.rows);
    this.options.onError?.(
      new Error(
        `deleted staging batch ${batchId}: its ${entry.rows} rows were written to ${database}.${table}, which was dropped since`,
      ),
      { batchId, tenant, stage: 'flush-discard' },
    );
    return true;
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (!this.closed) for (const generation of this.buffers.sealExpired()) this.stage(generation);
      for (const [batchId, entry] of [...this.pending]) {
        if (!entry.runId) await this.requestFlush(batchId);
        else await this.checkFlush(batchId, entry);
      }
      this.metrics.observe(this.bufferedBytes, this.stagingBacklog);
    } catch (error) {
      this.options.onError?.(error, { stage: 'tick' });
    } finally {
      this.ticking = false;
    }
  }

  /** A flush is done when its staging batch is gone; a failed flush run is reported and let go. */
  private async checkFlush(batchId: string, entry: PendingFlush): Promise<void> {
    const key = paths.stagingKeys.batch(entry.meta.tenant, batchId);
    if (!(await this.options.store.head(key))) {
      this.pending.delete(batchId);
      return;
    }
    if (Date.now() - (entry.submittedAt ?? 0) < FLUSH_CHECK_AFTER_MS) return;
    entry.submittedAt = Date.now();
    const status = await this.options.flushRuns.status(entry.meta.tenant, entry.runId!);
    if (status === 'succeeded') {
      // Committed by a run whose worker died before deleting the batch.
      await this.options.store.delete(key);
      this.pending.delete(batchId);
    } else if (status === undefined) {
      // The run's first events died with the process that planned it: asking again starts it.
      entry.runId = undefined;
      await this.requestFlush(batchId);
    } else if (status === 'failed' || status === 'cancelled') {
      // A table dropped while its flush ran: the commit refused the rows (FLUSH_TABLE_DROPPED).
      if (await this.discardIfTableDropped(batchId, entry)) return;
      this.metrics.flushFailed();
      this.options.onError?.(new Error(`flush run ${entry.runId} of staging batch ${batchId} ${status}`), {
        batchId,
        runId: entry.runId,
        stage: 'flush',
      });
      this.pending.delete(batchId);
    }
  }

  /**
   * WAL segments become staging batches (unless staged before the crash), and every staging
   * batch found gets its flush run asked for again; batch-keyed runs make that exactly once. Keys
   * are marked done only from records that count (a multi-table request that never finished has
   * none), bound to the request digest their record carries; a record older than digests has none,
   * and its key then matches any request, as every key did when it was written.
   */
  private async recover(): Promise<void> {
    if (this.wal) {
      for await (const { path, contents } of this.wal.readLeftovers()) {
        if (contents && contents.records.length > 0) {
          const { header, records } = contents;
          const key = paths.stagingKeys.batch(header.tenant, header.batchId);
          if (!(await this.options.store.head(key))) {
            const meta: StagingMeta = { ...header, sealedAt: header.createdAt };
            let parts: Uint8Array[];
            try {
              const chunks: Table[] = records.map((r) => tableOfBatch(decodeWalBatch(r.payload)));
              parts = await encodeStagingBatch(chunks, meta);
            } catch (error) {
              // E.g. a segment written before generations kept one type per column. Start-up goes on
              // without it; the file stays for an operator (tried again at every start), and its
              // keys stay unmarked: its rows have not landed.
              this.options.onError?.(error, { segment: path, stage: 'recovery' });
              continue;
            }
            await this.options.store.putIfAbsent(key, parts);
          }
          for (const { idempotencyKey, requestDigest } of records) {
            if (idempotencyKey !== undefined)
              await this.idempotency.complete(header.tenant, idempotencyKey, requestDigest);
          }
        }
        await unlink(path);
      }
    }
    for (const tenant of await this.options.tenants()) {
      for await (const object of this.options.store.listAll(paths.stagingKeys.prefix(tenant))) {
        const bytes = await this.options.store.getIfExists(object.key);
        if (!bytes) continue;
        const { meta, table } = readStagingBatch(bytes);
        if (meta.tenant !== tenant || paths.stagingKeys.batch(tenant, meta.batchId) !== object.key) {
          this.options.onError?.(new Error(`staging object ${object.key} does not describe itself`), {
            stage: 'recovery',
          });
          continue;
        }
        this.pending.set(meta.batchId, { meta, rows: table.numRows, bytes: bytes.byteLength });
        await this.requestFlush(meta.batchId);
      }
    }
  }

  /**
   * Stages every buffer now and resolves once every staged batch of this node is flushed
   * (committed and queryable); for tests, benchmarks and operators who need "written means visible".
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const generation of this.buffers.sealExpired(true)) this.stage(generation);
    while (this.stagingWrites.size > 0 || this.pending.size > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `ingest did not drain within ${timeoutMs} ms (${this.stagingBacklog} batches pending)`,
        );
      await Promise.all([...this.stagingWrites]);
      await this.tick();
      if (this.pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stages every buffer (their flush runs may finish after this process is gone) and stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const generation of this.buffers.sealExpired(true)) this.stage(generation);
    while (this.stagingWrites.size > 0) await Promise.all([...this.stagingWrites]);
  }
}
