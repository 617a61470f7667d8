/**
 * Errors of the query path. Each names what is wrong (the statement part, the table, the limit);
 * refusals of the SQL guard are 400 QUERY_REFUSED, unknown tables 404 TABLE_NOT_FOUND.
 */
import { WeirError } from '../../catalog/index.js';

export class QueryError extends WeirError {
  constructor(code: string, message: string, httpStatus = 400, details?: Record<string, unknown>) {
    super(code, message, httpStatus, details);
  }
}

/** A statement the guard does not let through (DESIGN.md §7): read-only SELECTs over the tenant's tables only. */
export class QueryRefusedError extends QueryError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('QUERY_REFUSED', `refused: ${message}`, 400, details);
  }
}
