/** Deletes by WHERE: count on the query engine, rewrite in a `delete` run (DESIGN.md §6). */
export { type DeleteLimits, type DeleteOutcome, type DeleteRequest, DeleteService } from './service.js';
