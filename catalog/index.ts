/** The catalog library: object stores, paths, the commit log, checkpoints and the event log. */
export { canonicalJson, sha256Hex } from './canonical.js';
export { deploymentIdOf } from './deployment.js';
export {
  CatalogConflictError,
  CatalogNotFoundError,
  CatalogRequestError,
  InvalidNameError,
  ObjectNotFoundError,
  StoreUnreachableError,
  WeirError,
} from './errors.js';
export * from './events/index.js';
export { CatalogCorruptError } from './log/checkpoint.js';
export { type CommitLogOptions, type CommitOutcome, CommitTimeoutError } from './log/commit-log.js';
export type {
  CheckpointManifest,
  CommitConditions,
  CommitMeta,
  CommitRecord,
  CommitSummary,
} from './log/types.js';
export * as paths from './paths.js';
export { assertName, type PartitionRef, parsePartitionPath, partitionPath } from './paths.js';
export * from './signing/index.js';
export * from './store/index.js';
export { PERMISSIONS, type Permission, type SystemAction, TOKEN_ID } from './system/actions.js';
export { SystemCatalog } from './system/catalog.js';
export type { SystemState, TenantRecord, TokenRecord } from './system/state.js';
export {
  COLUMN_TYPES,
  type ColumnDef,
  type ColumnStats,
  type ColumnType,
  type FileSpec,
  type PolicySpec,
  type TenantAction,
  type TenantActionInput,
} from './tenant/actions.js';
export { TenantCatalog, type TenantCatalogOptions, type VersionRef } from './tenant/catalog.js';
export { TenantCatalogs } from './tenant/registry.js';
export {
  type DatabaseEntry,
  type FileEntry,
  fileColumnStats,
  fileRecency,
  liveFiles,
  type PolicyEntry,
  type TableEntry,
  type TenantState,
  type Tombstone,
  tableCreatedAt,
  tableKey,
} from './tenant/state.js';
