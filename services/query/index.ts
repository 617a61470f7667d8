/** Queries on server DuckDB over pinned catalog versions (DESIGN.md §7). */
export {
  type CachedAnswer,
  type CachedFormat,
  DEFAULT_RESULT_CACHE_BYTES,
  isDeterministic,
  isVolatileName,
  ResultCache,
  type ResultCacheStats,
} from './cache.js';
export { CQ_PLACEHOLDERS, cqSql, placeholderTime } from './cq.js';
export { QueryError, QueryRefusedError } from './errors.js';
export { type QueryFiles, queryFilesFor } from './files.js';
export { lockDown, nodesOf, type SqlNode, SqlParser } from './parser.js';
export type { MatchedFile, RowMatch, RowMatchRequest } from './rows.js';
export {
  type CatalogAnswer,
  type PlannedTable,
  type PreparedQuery,
  type QueryPlan,
  type QueryRequest,
  QueryService,
  type QueryServiceOptions,
} from './service.js';
export { sqlIdentifier, sqlString } from './sql.js';
