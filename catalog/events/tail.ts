/** The uncompacted side of the event log: NDJSON batches after the watermark, in key order. */
import { decodeTime } from 'ulid';
import { mapLimit } from '../concurrency.js';
import { CatalogCorruptError } from '../log/checkpoint.js';
import { eventKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import { type EventEnvelope, eventEnvelopeSchema } from './envelope.js';

/** Batch keys after `watermark`; with `writtenBefore`, only batches whose ULID time is earlier. */
export async function listBatches(
  store: ObjectStore,
  tenant: string,
  watermark: string | null,
  options: { writtenBefore?: number; limit?: number } = {},
): Promise<string[]> {
  const keys: string[] = [];
  const listing = store.listAll(eventKeys.prefix(tenant), watermark ? { startAfter: watermark } : {});
  for await (const object of listing) {
    if (!eventKeys.isBatch(tenant, object.key)) continue;
    if (options.writtenBefore !== undefined && batchTime(object.key) >= options.writtenBefore) break;
    keys.push(object.key);
    if (options.limit !== undefined && keys.length >= options.limit) break;
  }
  return keys;
}

function batchTime(key: string): number {
  return decodeTime(key.slice(key.lastIndexOf('/') + 1, -'.ndjson'.length));
}

export async function readBatch(store: ObjectStore, key: string): Promise<EventEnvelope[]> {
  const text = new TextDecoder().decode(await store.get(key));
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const parsed = eventEnvelopeSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new CatalogCorruptError(`event batch ${key} line ${i + 1} is invalid`);
      return parsed.data;
    });
}

export function readBatches(store: ObjectStore, keys: readonly string[]): Promise<EventEnvelope[][]> {
  return mapLimit(keys, 16, (key) => readBatch(store, key));
}
