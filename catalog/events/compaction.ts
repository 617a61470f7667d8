/**
 * Events compaction: folds settled batches after the watermark into one Parquet file per
 * projection and publishes them with the next manifest (put-if-absent, written last).
 * Duplicates (same idempotency key) fold once; running it again with nothing new is a no-op.
 */
import { ulid } from 'ulid';
import { sha256Hex } from '../canonical.js';
import { mapLimit } from '../concurrency.js';
import { writeParquet } from '../parquet/index.js';
import { eventKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import {
  type CompactedFile,
  type EventsManifest,
  eventsToTable,
  readCompactedFile,
  readNewestEventsManifest,
} from './compacted.js';
import { EVENT_PROJECTIONS, type EventEnvelope, projectionOf } from './envelope.js';
import { listBatches, readBatches } from './tail.js';

export interface EventsCompactionOptions {
  /**
   * Only batches written at least this long ago are folded, so a batch still being written
   * (or stamped by a slightly slow clock) cannot land behind the watermark.
   */
  settleMs?: number;
  maxBatches?: number;
  now?: () => number;
}

export interface EventsCompactionResult {
  /** False when there was nothing to fold, or another compactor published first. */
  compacted: boolean;
  generation: number;
  batches: number;
  events: number;
  duplicates: number;
}

export async function compactEvents(
  store: ObjectStore,
  tenant: string,
  options: EventsCompactionOptions = {},
): Promise<EventsCompactionResult> {
  const now = options.now ?? Date.now;
  const manifest = await readNewestEventsManifest(store, tenant);
  const batchKeys = await listBatches(store, tenant, manifest.watermark, {
    writtenBefore: now() - (options.settleMs ?? 30_000),
    limit: options.maxBatches ?? 10_000,
  });
  const nothing = { compacted: false, generation: manifest.generation, batches: 0, events: 0, duplicates: 0 };
  if (batchKeys.length === 0) return nothing;

  const seen = await compactedKeys(store, tenant, manifest);
  const fresh: EventEnvelope[] = [];
  let duplicates = 0;
  for (const batch of await readBatches(store, batchKeys)) {
    for (const event of batch) {
      if (seen.has(event.idempotencyKey)) duplicates++;
      else {
        seen.add(event.idempotencyKey);
        fresh.push(event);
      }
    }
  }

  const generation = manifest.generation + 1;
  const files: CompactedFile[] = [...manifest.files];
  const runId = ulid(now());
  for (const projection of EVENT_PROJECTIONS) {
    const events = fresh
      .filter((e) => projectionOf(e.type) === projection)
      .sort((a, b) => a.occurredAt - b.occurredAt || (a.idempotencyKey < b.idempotencyKey ? -1 : 1));
    if (events.length === 0) continue;
    const bytes = writeParquet(eventsToTable(events));
    // Unique per compaction run: a losing compactor must never overwrite the winner's files.
    const key = eventKeys.compactedFile(
      tenant,
      projection,
      `${String(generation).padStart(20, '0')}-${runId}`,
    );
    await store.put(key, bytes);
    files.push({ projection, key, rows: events.length, bytes: bytes.length, sha256: sha256Hex(bytes) });
  }
  const next: EventsManifest = { format: 1, generation, watermark: batchKeys.at(-1)!, files };
  const published = await store.putIfAbsent(
    eventKeys.compactedManifest(tenant, generation),
    new TextEncoder().encode(JSON.stringify(next)),
  );
  if (!published) return nothing;
  return { compacted: true, generation, batches: batchKeys.length, events: fresh.length, duplicates };
}

async function compactedKeys(
  store: ObjectStore,
  tenant: string,
  manifest: EventsManifest,
): Promise<Set<string>> {
  const files = await mapLimit(manifest.files, 8, (file) => readCompactedFile(store, tenant, file));
  return new Set(files.flat().map((e) => e.idempotencyKey));
}
