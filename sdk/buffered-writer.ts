/**
 * A buffered writer: rows gather into MessagePack batches of `batchSize` rows, sent when full,
 * after `flushInterval`, on `flush()` and on `close()`. Rows are packed as they are written, so a
 * caller may reuse its arrays and objects once `write…` returns. Batches go one at a time, in
 * order; each gets an Idempotency-Key when it is cut and keeps it and its body through every
 * retry, so a batch whose answer was lost (timeout, restart) lands once. Producers that await
 * `write…` are held back while `maxBufferedRows` rows wait, so a slow or pacing server slows them
 * instead of growing memory.
 */
import type { WeirError } from './errors.js';
import {
  type ColumnarInput,
  columnarItem,
  columnarRows,
  joinPacked,
  packItem,
  type RowInput,
  rowItem,
  sliceColumnar,
} from './items.js';
import { DEFAULT_RETRY, decide, type RetryPolicy } from './retry.js';
import type { Writes } from './writes.js';

export interface BufferedWriterOptions extends Partial<RetryPolicy> {
  /** Database to write to (default: the client's). */
  database?: string;
  /** Rows per request (default 5000). */
  batchSize?: number;
  /** Longest a row waits before its batch is sent, in ms (default 1000). */
  flushInterval?: number;
  /** Rows held (gathering or waiting to be sent) before `write…` waits for room (default 10 batches). */
  maxBufferedRows?: number;
  /** A batch given up on: refused by the server (4xx) or still failing after `maxRetries`. */
  onError?: (error: unknown, batch: FailedBatch) => void;
  /** A batch about to be tried again after `delayMs`. */
  onRetry?: (event: RetryEvent) => void;
}

export interface FailedBatch {
  rows: number;
  idempotencyKey: string;
  /**
   * The batch's MessagePack body as sent (before compression): one item or an array of items in
   * Arc's shapes, e.g. to keep aside and send again to `/api/v1/write/msgpack`.
   */
  body: Uint8Array;
}

export interface RetryEvent {
  error: WeirError | Error;
  /** 1 for the first retry of this batch. */
  attempt: number;
  delayMs: number;
  rows: number;
  idempotencyKey: string;
}

export interface WriterStats {
  /** Rows the server acknowledged. */
  rowsWritten: number;
  batchesWritten: number;
  /** Retries of any cause, 429s included. */
  retries: number;
  /** 429 answers received. */
  rateLimited: number;
  failedBatches: number;
  failedRows: number;
}

interface Batch {
  body: Uint8Array;
  rows: number;
  key: string;
}

export class BufferedWriter {
  private readonly batchSize: number;
  private readonly flushInterval: number;
  private readonly maxBufferedRows: number;
  private readonly retry: RetryPolicy;
  /** The packed items of the batch being gathered. */
  private gathering: Uint8Array[] = [];
  private gatheringRows = 0;
  private readonly queue: Batch[] = [];
  private queuedRows = 0;
  private sending: Promise<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private roomWaiters: (() => void)[] = [];
  private errors: unknown[] = [];
  private closed = false;
  private readonly counts: WriterStats = {
    rowsWritten: 0,
    batchesWritten: 0,
    retries: 0,
    rateLimited: 0,
    failedBatches: 0,
    failedRows: 0,
  };

  constructor(
    private readonly writes: Writes,
    private readonly options: BufferedWriterOptions = {},
  ) {
    this.batchSize = positive('batchSize', options.batchSize ?? 5000);
    this.flushInterval = positive('flushInterval', options.flushInterval ?? 1000);
    this.maxBufferedRows = positive('maxBufferedRows', options.maxBufferedRows ?? this.batchSize * 10);
    this.retry = {
      maxRetries: options.maxRetries ?? DEFAULT_RETRY.maxRetries,
      retryDelay: options.retryDelay ?? DEFAULT_RETRY.retryDelay,
      maxRetryDelay: options.maxRetryDelay ?? DEFAULT_RETRY.maxRetryDelay,
    };
  }

  /** What the writer did so far, and the rows it holds now. */
  get stats(): WriterStats & { bufferedRows: number } {
    return { ...this.counts, bufferedRows: this.gatheringRows + this.queuedRows };
  }

  /**
   * Adds columns of rows; resolves once the writer has room for more (await it to be held back).
   * The rows are packed before it returns: the caller may reuse its arrays at once.
   */
  async writeColumnar(input: ColumnarInput): Promise<void> {
    this.assertOpen();
    const rows = columnarRows(input);
    // Cut at batch boundaries so every request but the last holds exactly batchSize rows. All
    // pieces are packed before any is added, so a value that cannot be packed adds no row.
    const pieces: [Uint8Array, number][] = [];
    for (let start = 0, room = this.batchSize - this.gatheringRows; start < rows; room = this.batchSize) {
      const end = Math.min(rows, start + room);
      const piece = start === 0 && end === rows ? input : sliceColumnar(input, start, end);
      pieces.push([packItem(columnarItem(piece)), end - start]);
      start = end;
    }
    for (const [item, count] of pieces) this.add(item, count);
    await this.room();
  }

  /** Adds rows, packed before it returns (the caller may reuse its objects at once); resolves on room. */
  async writeRows(rows: readonly RowInput[]): Promise<void> {
    this.assertOpen();
    const items = rows.map((row) => packItem(rowItem(row)));
    for (const item of items) this.add(item, 1);
    await this.room();
  }

  /** Sends everything written so far; rejects with the first batch given up on since the last flush. */
  async flush(): Promise<void> {
    this.cut();
    while (this.sending) await this.sending;
    if (this.errors.length > 0) {
      const [first] = this.errors;
      this.errors = [];
      throw first;
    }
  }

  /** Stops taking rows (at once, so none arrive after the last flush) and flushes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('this buffered writer is closed');
  }

  private add(item: Uint8Array, rows: number): void {
    this.gathering.push(item);
    this.gatheringRows += rows;
    if (this.gatheringRows >= this.batchSize) this.cut();
    else this.timer ??= setTimeout(() => this.cut(), this.flushInterval);
  }

  /** Turns the rows gathered so far into a batch with its own key, and sends it in turn. */
  private cut(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.gatheringRows === 0) return;
    this.queue.push({ body: joinPacked(this.gathering), rows: this.gatheringRows, key: idempotencyKey() });
    this.queuedRows += this.gatheringRows;
    this.gathering = [];
    this.gatheringRows = 0;
    this.pump();
  }

  private pump(): void {
    if (this.sending) return;
    this.sending = (async () => {
      for (let batch = this.queue[0]; batch; batch = this.queue[0]) {
        await this.send(batch);
        this.queue.shift();
        this.queuedRows -= batch.rows;
        for (const wake of this.roomWaiters.splice(0)) wake();
      }
    })().finally(() => {
      this.sending = undefined;
      // A batch cut between the loop's last check and here still needs sending.
      if (this.queue.length > 0) this.pump();
    });
  }

  /** One batch until it lands or is given up on; never throws. */
  private async send(batch: Batch): Promise<void> {
    for (let attempt = 0, counted = 0; ; attempt++) {
      try {
        await this.writes.writeMsgpack(batch.body, {
          idempotencyKey: batch.key,
          ...(this.options.database ? { database: this.options.database } : {}),
        });
        this.counts.rowsWritten += batch.rows;
        this.counts.batchesWritten++;
        return;
      } catch (error) {
        const decision = decide(error, counted, this.retry);
        if (!decision.retry) {
          this.counts.failedBatches++;
          this.counts.failedRows += batch.rows;
          this.errors.push(error);
          this.notify(() =>
            this.options.onError?.(error, {
              rows: batch.rows,
              idempotencyKey: batch.key,
              body: batch.body,
            }),
          );
          return;
        }
        if (decision.counts) counted++;
        else this.counts.rateLimited++;
        this.counts.retries++;
        this.notify(() =>
          this.options.onRetry?.({
            error: error as Error,
            attempt: attempt + 1,
            delayMs: decision.delayMs,
            rows: batch.rows,
            idempotencyKey: batch.key,
          }),
        );
        await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
      }
    }
  }

  /** Runs a caller's callback; what it throws surfaces at the next flush, never in the send loop. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.errors.push(error);
    }
  }

  private async room(): Promise<void> {
    while (this.gatheringRows + this.queuedRows >= this.maxBufferedRows) {
      // Gathered rows count too: send them now rather than wait for the interval.
      if (this.queuedRows === 0) this.cut();
      await new Promise<void>((wake) => this.roomWaiters.push(wake));
    }
  }
}

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`${name} must be a positive number`);
  return value;
}

/** 128 random bits; `getRandomValues` also works on plain-http pages, where `randomUUID` does not. */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `weir-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
