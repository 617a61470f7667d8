export type { BatchColumn, DecodeContext, DecodeLimits, TableBatch } from './batch.js';
export { DEFAULT_DECODE_LIMITS } from './batch.js';
export * from './decode/index.js';
export { IngestError } from './errors.js';
export { bindKey, checkIdempotencyKey } from './idempotency.js';
export { type IngestMetrics, ingestMetrics } from './metrics.js';
export {
  type Durability,
  type FlushRuns,
  IngestService,
  type IngestServiceOptions,
  type WriteOptions,
  type WriteOutcome,
} from './service.js';
export { readStagingBatch, type StagingMeta } from './staging-format.js';
