/**
 * Sends an import's batches through the SDK, a few at a time so reading the file overlaps with the
 * server's work. Each batch has its own Idempotency-Key, kept through its retries, so a retry after
 * a lost answer never lands twice. Retries are the SDK buffered writer's own decisions
 * (sdk/retry.ts, ADR 0021): 429s wait as told and do not count; 5xx, network failures and a key
 * still in use back off, long enough in all to outlast the server's hold on a key cut by a crash.
 * (The buffered writer itself takes no Arrow tables, which is why this loop exists.)
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Compression, WeirClient } from '../../sdk/index.js';
import { DEFAULT_RETRY, decide } from '../../sdk/retry.js';
import type { Outgoing } from './plan.js';
import type { Precision } from './time.js';

export interface SendOptions {
  database: string;
  compression: Compression;
  /** Line protocol timestamps' unit. */
  precision: Precision | undefined;
  /** Requests in flight at once. */
  concurrency: number;
  onSent(rows: number): void;
  onRetry(error: Error, delayMs: number): void;
  /** Waits before a retry (default: a timer); tests pass their own. */
  sleep?: (ms: number) => Promise<unknown>;
}

export interface SendStats {
  rows: number;
  batches: number;
  retries: number;
}

/** The import stopped on a batch the server would not take; `stats` says what landed before. */
export class SendError extends Error {
  constructor(
    readonly stats: SendStats,
    override readonly cause: unknown,
  ) {
    super('the import stopped');
  }
}

export async function sendAll(
  client: WeirClient,
  batches: AsyncIterable<Outgoing>,
  options: SendOptions,
): Promise<SendStats> {
  const stats: SendStats = { rows: 0, batches: 0, retries: 0 };
  const run = `weir-import-${randomUUID()}`;
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let index = 0;
  try {
    for await (const batch of batches) {
      const sent: Promise<void> = sendOne(client, batch, `${run}-${index++}`, options, stats)
        .then(
          () => {
            stats.rows += batch.rows;
            stats.batches++;
            options.onSent(stats.rows);
          },
          (error: unknown) => {
            failure ??= { error };
          },
        )
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
      while (inFlight.size >= options.concurrency) await Promise.race(inFlight);
      if (failure) break;
    }
  } finally {
    await Promise.all(inFlight);
  }
  if (failure) throw new SendError(stats, failure.error);
  return stats;
}

async function sendOne(
  client: WeirClient,
  batch: Outgoing,
  key: string,
  options: SendOptions,
  stats: SendStats,
): Promise<void> {
  const wait = options.sleep ?? sleep;
  for (let counted = 0; ; ) {
    try {
      const write = { database: options.database, idempotencyKey: key, compression: options.compression };
      if (batch.kind === 'arrow') {
        await client.writeArrow(
          { table: batch.table, data: batch.data, ...(batch.tags ? { tags: batch.tags } : {}) },
          write,
        );
      } else {
        await client.writeLineProtocol(batch.text, {
          ...write,
          ...(options.precision ? { precision: options.precision } : {}),
        });
      }
      return;
    } catch (error) {
      const decision = decide(error, counted, DEFAULT_RETRY);
      if (!decision.retry) throw error;
      if (decision.counts) counted++;
      stats.retries++;
      options.onRetry(error as Error, decision.delayMs);
      await wait(decision.delayMs);
    }
  }
}
