/**
 * Browser sessions (DESIGN.md §7): what the console needs to run a statement in the browser, with no
 * server compute. The catalog version is pinned (or the `as_of` one), the statement guarded and its
 * references resolved and pruned by the query service exactly as for a server query, and each chosen
 * file of the caller's tenant gets a short-lived signed URL. A session for a list of tables gives
 * each table's every file.
 */
import {
  type ColumnType,
  type CommitSummary,
  InvalidNameError,
  paths,
  tableKey,
  type UrlSigner,
  unixSeconds,
  type VersionRef,
  WeirError,
} from '../../catalog/index.js';
import {
  type PlannedTable,
  placeholderTime,
  type QueryRequest,
  type QueryService,
  sqlIdentifier,
} from '../query/index.js';

export interface UrlLifetimes {
  /** Lifetime of a session's URLs when the request names none, seconds. */
  defaultSeconds: number;
  /** Longest lifetime a request may ask for, seconds. */
  maxSeconds: number;
}

export interface BrowserSessionsOptions {
  query: QueryService;
  signer: UrlSigner;
  ttl: UrlLifetimes;
  /** Milliseconds since the epoch (tests move the clock). */
  now?: () => number;
}

export interface SessionRequest {
  readonly tenant: string;
  /** The database bare table names mean. */
  readonly database: string;
  /** Tables to read whole, `db.table` or a bare name of `database`; or else `sql`. */
  readonly tables?: readonly string[];
  /** One SELECT the browser will run; or else `tables`. */
  readonly sql?: string;
  readonly asOf?: VersionRef;
  readonly ttlSeconds?: number;
  /** The URLs expire no later than this (Unix seconds): the expiry of the token that asked. */
  readonly notAfter?: number;
  readonly signal?: AbortSignal;
  /** Throws when the caller may not read this database (token scope); called before anything is read. */
  readonly authorize?: (database: string) => void;
}

export interface SessionFile {
  /** Relative (`/files/…`) for the local store, absolute for S3. */
  readonly url: string;
  readonly rows: number;
  readonly bytes: number;
  readonly minTimeUs: number;
  readonly maxTimeUs: number;
  /** RFC 3339 text of the bounds, to the microsecond. */
  readonly minTime: string;
  readonly maxTime: string;
  readonly partition: string;
}

export interface SessionTable {
  /** The placeholder an SQL session's statement reads this reference as (absent for table sessions). */
  readonly name?: string;
  readonly database: string;
  readonly table: string;
  /** The table's whole schema at the pinned version. */
  readonly columns: readonly { readonly name: string; readonly type: ColumnType }[];
  /** The columns the statement may read (a superset, with `time`); every column for table sessions. */
  readonly readColumns: readonly string[];
  /** Inclusive bounds, µs, the statement's time predicates allow; absent when unbounded. */
  readonly timeRange: { readonly from?: number; readonly to?: number };
  /** Live files of the table before pruning. */
  readonly tableFiles: number;
  readonly files: readonly SessionFile[];
}

export interface BrowserSession {
  readonly version: number;
  /** Unix seconds when the URLs stop working. */
  readonly expiresAt: number;
  /** The statement to run in the browser, each table reference replaced by its table's `name`. */
  readonly sql?: string;
  readonly tables: readonly SessionTable[];
}

export class BrowserSessions {
  constructor(private readonly options: BrowserSessionsOptions) {}

  get ttl(): UrlLifetimes {
    return this.options.ttl;
  }

  /**
   * A session for `tables` or `sql`. Throws what a query would (QUERY_REFUSED, INVALID_SQL,
   * TABLE_NOT_FOUND, the token's FORBIDDEN, VERSION_NOT_FOUND…), INVALID_SESSION for a request with
   * both or neither, INVALID_TTL, TOKEN_EXPIRING (401) when `notAfter` is not after now, and
   * UNSUPPORTED_STATEMENT for SHOW statements.
   */
  async create(request: SessionRequest): Promise<BrowserSession> {
    if ((request.tables === undefined) === (request.sql === undefined))
      throw new WeirError('INVALID_SESSION', 'give exactly one of tables and sql', 400);
    const ttl = request.ttlSeconds ?? this.options.ttl.defaultSeconds;
    if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > this.options.ttl.maxSeconds)
      throw new WeirError(
        'INVALID_TTL',
        `ttl_seconds must be a whole number from 1 to ${this.options.ttl.maxSeconds} (browser.maxUrlTtlSeconds), not ${ttl}`,
        400,
      );
    const now = unixSeconds((this.options.now ?? Date.now)());
    const expiresAt = Math.min(now + ttl, request.notAfter ?? Number.POSITIVE_INFINITY);
    // The token expires in the second it asked: no URL could be used (and none can be signed).
    if (expiresAt <= now)
      throw new WeirError(
        'TOKEN_EXPIRING',
        'the token expires within the second: a session needs URLs valid for at least one; use a token with a later expiry',
        401,
      );
    const query: QueryRequest = {
      tenant: request.tenant,
      database: request.database,
      sql: request.sql ?? tablesStatement(request.database, request.tables!),
      ...(request.asOf ? { asOf: request.asOf } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.authorize ? { authorize: request.authorize } : {}),
    };
    if (request.sql !== undefined && (await this.options.query.show(query)))
      throw new WeirError(
        'UNSUPPORTED_STATEMENT',
        'SHOW statements are answered by the server (POST /api/v1/query), not in a browser session',
        400,
      );
    const { state, plan } = await this.options.query.prepare(query);
    // A table named twice (in any case) is one table of a table session.
    const planned =
      request.sql !== undefined
        ? plan.tables
        : [...new Map(plan.tables.map((t) => [tableKey(t.database, t.table), t])).values()];
    const sign = (key: string) => this.options.signer.sign(request.tenant, key, expiresAt, now);
    const tables = await Promise.all(
      planned.map(async (table) => {
        const entry = state.tables.get(tableKey(table.database, table.table))!;
        return sessionTable(
          table,
          entry.columns.map((c) => ({ name: c.name, type: c.type })),
          request.sql !== undefined,
          await Promise.all(table.files.map((file) => sign(file.path))),
        );
      }),
    );
    return {
      version: plan.version,
      expiresAt,
      ...(request.sql !== undefined ? { sql: plan.sql } : {}),
      tables,
    };
  }

  /** The tenant's commits, newest first, at most `limit`. */
  async versions(tenant: string, limit: number): Promise<CommitSummary[]> {
    const { history } = await this.options.query.pin(tenant);
    const out: CommitSummary[] = [];
    for (let i = history.length - 1; i >= 0 && out.length < limit; i--) out.push(history.at(i)!);
    return out;
  }
}

/** One statement naming every table (planned, never run), so they resolve and authorize as a query's. */
function tablesStatement(database: string, names: readonly string[]): string {
  if (names.length === 0) throw new WeirError('INVALID_SESSION', 'tables must name at least one table', 400);
  const references = names.map((name) => {
    const parts = name.split('.');
    if (parts.length > 2)
      throw new InvalidNameError(
        `invalid table ${JSON.stringify(name.slice(0, 200))}: use db.table or table`,
      );
    const [db, table] = parts.length === 2 ? parts : [database, parts[0]];
    return `${sqlIdentifier(paths.assertName('database', db))}.${sqlIdentifier(paths.assertName('table', table))}`;
  });
  return `SELECT * FROM ${references.join(', ')}`;
}

function sessionTable(
  table: PlannedTable,
  columns: SessionTable['columns'],
  fromSql: boolean,
  urls: readonly string[],
): SessionTable {
  return {
    ...(fromSql ? { name: table.view } : {}),
    database: table.database,
    table: table.table,
    columns,
    readColumns: fromSql ? table.readColumns : columns.map((c) => c.name),
    timeRange: fromSql ? table.range : {},
    tableFiles: table.tableFiles,
    files: table.files.map((file, i) => ({
      url: urls[i]!,
      rows: file.rows,
      bytes: file.bytes,
      minTimeUs: file.minTime,
      maxTimeUs: file.maxTime,
      minTime: placeholderTime(file.minTime),
      maxTime: placeholderTime(file.maxTime),
      partition: file.partition,
    })),
  };
}
