/** Queries on server DuckDB over pinned catalog versions (DESIGN.md §7). */
export { QueryError, QueryRefusedError } from './errors.js';
export { type QueryFiles, queryFilesFor } from './files.js';
export {
  type CatalogAnswer,
  type PlannedTable,
  type QueryPlan,
  type QueryRequest,
  QueryService,
  type QueryServiceOptions,
} from './service.js';
export { sqlIdentifier, sqlString } from './sql.js';
