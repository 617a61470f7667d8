/** Deleting rows by WHERE: a dry run counts, a real one needs `confirm: true`. */
import type { Transport } from '../http.js';

export interface DeleteRequest {
  database: string;
  /** The table rows are deleted from. */
  measurement: string;
  /** A SQL condition on the table's columns; empty matches every row (needs confirm). */
  where?: string;
  dry_run?: boolean;
  confirm?: boolean;
}

export interface DeleteResult {
  deleted_count: number;
  affected_files: number;
  rewritten_files: number;
  removed_files: number;
  files_scanned: number;
  execution_time_ms: number;
  dry_run: boolean;
  run_id: string | null;
  /** Version the matches were counted at. */
  catalog_version: number;
  /** Version of the delete's commit. */
  commit_version: number | null;
}

export interface DeleteConfig {
  enabled: boolean;
  confirmation_threshold: number;
  max_rows_per_delete: number;
  implementation: string;
}

export class Deletes {
  constructor(private readonly transport: Transport) {}

  execute(request: DeleteRequest): Promise<DeleteResult> {
    return this.transport.json('POST', '/api/v1/delete', { json: request });
  }

  config(): Promise<DeleteConfig> {
    return this.transport.json('GET', '/api/v1/delete/config');
  }
}
