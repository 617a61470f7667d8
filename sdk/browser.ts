/**
 * The browser console's calls: a session (a pinned catalog version, each table's schema and its
 * pruned files with short-lived signed URLs, for a query run in the browser) and the catalog's
 * commit history. Answers keep the server's field names.
 */
import type { Transport } from './http.js';
import type { AsOf } from './queries.js';

export interface BrowserSessionRequest {
  /** Tables to read whole (`db.table`, or a bare name of `database`); or else `sql`. */
  tables?: readonly string[];
  /** One SELECT to run in the browser; or else `tables`. */
  sql?: string;
  /** Database of bare table names (default: the client's). */
  database?: string;
  /** Read the catalog as it was at a version, or at a point in time. */
  asOf?: AsOf;
  /** Lifetime of the URLs in seconds (server default 300, at most its maximum, 3600 unless configured). */
  ttlSeconds?: number;
  signal?: AbortSignal;
}

export type BrowserColumnType = 'timestamp' | 'string' | 'float64' | 'int64' | 'bool';

export interface BrowserSessionFile {
  /** Signed GET URL: relative to the server for the local store, absolute (presigned) for S3. */
  readonly url: string;
  readonly rows: number;
  readonly bytes: number;
  readonly min_time: string;
  readonly max_time: string;
  readonly min_time_us: number;
  readonly max_time_us: number;
  readonly partition: string;
}

export interface BrowserSessionTable {
  /** SQL sessions: the name the session's `sql` reads this reference as. */
  readonly name?: string;
  readonly database: string;
  readonly table: string;
  /** The table's whole schema at the pinned version. */
  readonly columns: readonly { readonly name: string; readonly type: BrowserColumnType }[];
  /** Columns the statement may read (a superset, with `time`); every column for a tables session. */
  readonly read_columns: readonly string[];
  /** Inclusive bounds in microseconds the statement's time predicates allow; null when unbounded. */
  readonly time_range: { readonly from: number | null; readonly to: number | null };
  /** Live files of the table before pruning. */
  readonly table_files: number;
  readonly files: readonly BrowserSessionFile[];
}

export interface BrowserSession {
  /** The pinned catalog version. */
  readonly version: number;
  /** When the URLs stop working (RFC 3339). */
  readonly expires_at: string;
  /** SQL sessions: the statement with each table reference replaced by its table's `name`. */
  readonly sql?: string;
  readonly tables: readonly BrowserSessionTable[];
}

export interface CatalogVersion {
  version: number;
  committed_at: string;
  operation: string | null;
  author: string | null;
  run_id: string | null;
  action_count: number;
}

export class Browser {
  constructor(
    private readonly transport: Transport,
    private readonly database: string,
  ) {}

  session(request: BrowserSessionRequest): Promise<BrowserSession> {
    return this.transport.json('POST', '/api/v1/browser/session', {
      json: {
        ...(request.tables ? { tables: request.tables } : {}),
        ...(request.sql !== undefined ? { sql: request.sql } : {}),
        database: request.database ?? this.database,
        ...(request.asOf ? { as_of: request.asOf } : {}),
        ...(request.ttlSeconds !== undefined ? { ttl_seconds: request.ttlSeconds } : {}),
      },
      ...(request.signal ? { signal: request.signal } : {}),
    });
  }

  async versions(options: { limit?: number; signal?: AbortSignal } = {}): Promise<CatalogVersion[]> {
    const answer = await this.transport.json<{ versions: CatalogVersion[] }>(
      'GET',
      '/api/v1/catalog/versions',
      {
        query: { limit: options.limit },
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
    return answer.versions;
  }
}
