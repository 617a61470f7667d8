/** Weir's TypeScript client SDK (Node 20 and browsers). */
export type {
  BrowserColumnType,
  BrowserSession,
  BrowserSessionFile,
  BrowserSessionRequest,
  BrowserSessionTable,
  CatalogVersion,
} from './browser.js';
export type {
  BufferedWriter,
  BufferedWriterOptions,
  FailedBatch,
  RetryEvent,
  WriterStats,
} from './buffered-writer.js';
export { type Health, WeirClient, type WeirClientOptions } from './client.js';
export type { Compression } from './compression.js';
export type { CsvRecord, CsvRow } from './csv.js';
export {
  AuthenticationError,
  ConnectionError,
  NotFoundError,
  PermissionError,
  RateLimitedError,
  ServerError,
  ValidationError,
  WeirError,
} from './errors.js';
export type { ColumnarInput, RowInput, TimeValue } from './items.js';
export type {
  ContinuousQuery,
  ContinuousQueryInput,
  CqExecution,
} from './management/continuous-queries.js';
export type { Database, DatabaseDeleted, TableInfo } from './management/databases.js';
export type { DeleteConfig, DeleteRequest, DeleteResult } from './management/deletes.js';
export type { RetentionExecution, RetentionPolicy, RetentionPolicyInput } from './management/retention.js';
export type {
  LineageGraph,
  LineageRequest,
  ReplayOutput,
  ReplayReport,
  ReplayTask,
  Run,
  RunFilter,
  RunLineage,
  RunStatus,
  StartedRun,
} from './management/runs.js';
export type {
  Permission,
  Tenant,
  TokenCreate,
  TokenInfo,
  TokenUpdate,
  Verification,
} from './management/tokens.js';
export { type AsOf, type Estimate, type QueryAnswer, type QueryOptions, toRecords } from './queries.js';
export type { RetryPolicy } from './retry.js';
export type { ArrowWriteInput, Precision, WriteOptions } from './writes.js';
