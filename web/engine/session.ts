/** The answer of `POST /api/v1/browser/session`: what the browser reads and where from. */

export type ColumnType = 'timestamp' | 'string' | 'float64' | 'int64' | 'bool';

export interface SessionFile {
  /** Signed URL: relative to our origin for the local store, absolute (presigned) for S3. */
  readonly url: string;
  readonly rows: number;
  readonly bytes: number;
  readonly min_time: string;
  readonly max_time: string;
  readonly min_time_us: number;
  readonly max_time_us: number;
  readonly partition: string;
}

export interface SessionTable {
  /** The name the session's `sql` gives this reference (sql sessions only). */
  readonly name?: string;
  readonly database: string;
  readonly table: string;
  readonly columns: readonly { readonly name: string; readonly type: ColumnType }[];
  /** Columns the statement may read (a superset); every column for a tables session. */
  readonly read_columns: readonly string[];
  /** Inclusive bounds (microseconds) the statement's time predicates allow; null when unbounded. */
  readonly time_range: { readonly from: number | null; readonly to: number | null };
  readonly table_files: number;
  readonly files: readonly SessionFile[];
}

export interface BrowserSession {
  readonly version: number;
  readonly expires_at: string;
  readonly sql?: string;
  readonly tables: readonly SessionTable[];
}
