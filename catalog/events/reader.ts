/**
 * Reads a projection of the event log: the compacted Parquet files plus every batch after the
 * watermark, so an event is visible as soon as its batch is written. An idempotency key seen
 * twice is one event (the first occurrence wins).
 */
import { mapLimit } from '../concurrency.js';
import type { ObjectStore } from '../store/index.js';
import { type EventRowFilter, readCompactedFile, readNewestEventsManifest } from './compacted.js';
import { type EventEnvelope, type EventProjection, projectionOf } from './envelope.js';
import { listBatches, readBatches } from './tail.js';

export interface ReadEventsResult {
  events: EventEnvelope[];
  /** Where each part came from, for callers that report freshness. */
  compactedEvents: number;
  tailEvents: number;
  generation: number;
}

/**
 * `rows` chooses events by type and run before their payloads are decoded (compacted files; the
 * tail is parsed whole and filtered the same way); `where` then sees the chosen events whole.
 */
export async function readEvents(
  store: ObjectStore,
  tenant: string,
  projection: EventProjection,
  where: (event: EventEnvelope) => boolean = () => true,
  rows?: EventRowFilter,
): Promise<ReadEventsResult> {
  const manifest = await readNewestEventsManifest(store, tenant);
  const files = manifest.files.filter((f) => f.projection === projection);
  const compacted = (await mapLimit(files, 8, (file) => readCompactedFile(store, tenant, file, rows))).flat();
  const runIdOf = (e: EventEnvelope) => (typeof e.payload.runId === 'string' ? e.payload.runId : null);
  const tail = (await readBatches(store, await listBatches(store, tenant, manifest.watermark)))
    .flat()
    .filter((e) => projectionOf(e.type) === projection && (!rows || rows(runIdOf(e), e.type)));
  const seen = new Set<string>();
  const events: EventEnvelope[] = [];
  let compactedEvents = 0;
  let tailEvents = 0;
  for (const [source, list] of [
    ['compacted', compacted],
    ['tail', tail],
  ] as const) {
    for (const event of list) {
      if (seen.has(event.idempotencyKey) || !where(event)) continue;
      seen.add(event.idempotencyKey);
      events.push(event);
      if (source === 'compacted') compactedEvents++;
      else tailEvents++;
    }
  }
  events.sort((a, b) => a.occurredAt - b.occurredAt);
  return { events, compactedEvents, tailEvents, generation: manifest.generation };
}
