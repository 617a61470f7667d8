export type { EventRowFilter } from './compacted.js';
export { compactEvents, type EventsCompactionOptions, type EventsCompactionResult } from './compaction.js';
export {
  EVENT_PROJECTIONS,
  type EventEnvelope,
  type EventInput,
  type EventProjection,
  projectionOf,
} from './envelope.js';
export { type ReadEventsResult, readEvents } from './reader.js';
export { EventLogWriter, type EventWriterOptions } from './writer.js';
