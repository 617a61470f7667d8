/**
 * The compacted side of the event log: Parquet files per projection, listed by numbered
 * manifests. Manifest generation g+1 is written with put-if-absent after its files, so the
 * newest manifest always names complete files, and two compactors never both win.
 */
import { Table } from 'apache-arrow';
import { sha256Hex } from '../canonical.js';
import { CatalogCorruptError } from '../log/checkpoint.js';
import {
  column,
  readNonNullBigintColumn,
  readNonNullStringColumn,
  readParquet,
  readStringColumn,
} from '../parquet/index.js';
import { type EventProjection, eventKeys } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import type { EventEnvelope } from './envelope.js';

export interface CompactedFile {
  projection: EventProjection;
  key: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface EventsManifest {
  format: 1;
  generation: number;
  /** Key of the last batch folded; batches after it are the tail. */
  watermark: string | null;
  files: CompactedFile[];
}

export const EMPTY_EVENTS_MANIFEST: EventsManifest = { format: 1, generation: 0, watermark: null, files: [] };

export async function readNewestEventsManifest(store: ObjectStore, tenant: string): Promise<EventsManifest> {
  let newest: string | undefined;
  for await (const object of store.listAll(eventKeys.compactedManifestPrefix(tenant))) {
    if (eventKeys.parseCompactedManifestGeneration(tenant, object.key) !== undefined) newest = object.key;
  }
  if (!newest) return EMPTY_EVENTS_MANIFEST;
  const manifest = JSON.parse(new TextDecoder().decode(await store.get(newest))) as EventsManifest;
  if (manifest.format !== 1 || !Array.isArray(manifest.files))
    throw new CatalogCorruptError(`events manifest ${newest} is malformed`);
  return manifest;
}

/** Payload fields lifted into columns so DuckDB can filter without parsing JSON. */
const LIFTED = [
  ['run_id', 'runId'],
  ['task_id', 'taskId'],
  ['database', 'database'],
  ['table', 'table'],
] as const;

export function eventsToTable(events: readonly EventEnvelope[]): Table {
  const lifted = Object.fromEntries(
    LIFTED.map(([name, field]) => [
      name,
      column.utf8(
        events.map((e) => (typeof e.payload[field] === 'string' ? (e.payload[field] as string) : null)),
      ),
    ]),
  );
  return new Table({
    idempotency_key: column.utf8(events.map((e) => e.idempotencyKey)),
    type: column.utf8(events.map((e) => e.type)),
    type_version: column.int64(events.map((e) => e.version)),
    occurred_at: column.timestampMicros(events.map((e) => e.occurredAt * 1000)),
    source: column.utf8(events.map((e) => e.source)),
    ...lifted,
    payload: column.utf8(events.map((e) => JSON.stringify(e.payload))),
  });
}

/**
 * Chooses events by their type and their payload's `runId` (a lifted column), before anything
 * else of them is decoded: a reader of a few runs does not parse every payload of the history.
 */
export type EventRowFilter = (runId: string | null, type: string) => boolean;

export async function readCompactedFile(
  store: ObjectStore,
  tenant: string,
  file: CompactedFile,
  rows?: EventRowFilter,
): Promise<EventEnvelope[]> {
  const bytes = await store.get(file.key);
  if (sha256Hex(bytes) !== file.sha256)
    throw new CatalogCorruptError(`compacted events file ${file.key} does not match its manifest`);
  const table = readParquet(bytes);
  const types = readNonNullStringColumn(table, 'type');
  let chosen = types.map((_, i) => i);
  if (rows) {
    const runIds = readStringColumn(table, 'run_id');
    chosen = chosen.filter((i) => rows(runIds[i]!, types[i]!));
    if (chosen.length === 0) return [];
  }
  const keys = readNonNullStringColumn(table, 'idempotency_key');
  const versions = readNonNullBigintColumn(table, 'type_version');
  const occurredAt = readNonNullBigintColumn(table, 'occurred_at');
  const sources = readNonNullStringColumn(table, 'source');
  const payloads = readNonNullStringColumn(table, 'payload');
  return chosen.map((i) => ({
    type: types[i]!,
    version: versions[i]!,
    tenant,
    idempotencyKey: keys[i]!,
    occurredAt: occurredAt[i]! / 1000,
    source: sources[i]!,
    payload: JSON.parse(payloads[i]!) as Record<string, unknown>,
  }));
}
