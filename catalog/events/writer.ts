/**
 * Batched event writer: events wait up to `flushIntervalMs` or until `maxBatchEvents` are
 * buffered, then each tenant's events become one NDJSON object written with put-if-absent,
 * so a busy run does not write an object per event. `append` resolves once its batch is durable.
 */
import { ulid } from 'ulid';
import { CatalogRequestError } from '../errors.js';
import { eventKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import { type EventEnvelope, type EventInput, eventEnvelopeSchema } from './envelope.js';

export interface EventWriterOptions {
  flushIntervalMs?: number;
  maxBatchEvents?: number;
  now?: () => number;
}

interface Pending {
  event: EventEnvelope;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class EventLogWriter {
  private readonly pending = new Map<string, Pending[]>();
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private readonly flushIntervalMs: number;
  private readonly maxBatchEvents: number;
  private readonly now: () => number;

  constructor(
    private readonly store: ObjectStore,
    options: EventWriterOptions = {},
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.maxBatchEvents = options.maxBatchEvents ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Validates and buffers one event; the promise settles when its batch is written. */
  append(input: EventInput): Promise<void> {
    const parsed = eventEnvelopeSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return Promise.reject(
        new CatalogRequestError(
          'INVALID_EVENT',
          `invalid event at ${issue.path.join('.')}: ${issue.message}`,
        ),
      );
    }
    const event = parsed.data;
    return new Promise<void>((resolve, reject) => {
      const queue = this.pending.get(event.tenant) ?? [];
      queue.push({ event, resolve, reject });
      this.pending.set(event.tenant, queue);
      if (queue.length >= this.maxBatchEvents) this.track(this.writeTenant(event.tenant));
      else this.timer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
    });
  }

  /** Writes everything buffered now and waits for writes already under way. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const tenant of [...this.pending.keys()]) this.track(this.writeTenant(tenant));
    await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.flush();
  }

  private track(write: Promise<void>) {
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }

  private async writeTenant(tenant: string): Promise<void> {
    const batch = this.pending.get(tenant) ?? [];
    this.pending.delete(tenant);
    if (batch.length === 0) return;
    const body = new TextEncoder().encode(`${batch.map((p) => JSON.stringify(p.event)).join('\n')}\n`);
    try {
      // A fresh ULID per attempt keeps batch keys in write order, which compaction's settle window relies on.
      for (;;) {
        const at = this.now();
        if (await this.store.putIfAbsent(eventKeys.batch(tenant, at, ulid(at)), body)) break;
      }
      for (const p of batch) p.resolve();
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
