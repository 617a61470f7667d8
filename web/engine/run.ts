/**
 * Runs a browser session's SQL on DuckDB-WASM: each table reference becomes a view of its files'
 * needed row groups and columns (read by parquet-wasm over the signed URLs, or already loaded in
 * the page), then the statement runs in the page. Nothing is computed on the server.
 */
import type { AsyncDuckDBConnection } from '@duckdb/duckdb-wasm';
import type { Schema } from 'parquet-wasm/esm';
import type {
  AsOf,
  BrowserColumnType,
  BrowserSession,
  BrowserSessionFile,
  BrowserSessionTable,
  WeirClient,
} from '../../sdk/index.js';
import { browserDuckDB } from './duckdb.js';
import { LoadedFiles, type LoadedPart, type PartRead } from './loaded-files.js';
import { openParquet } from './parquet.js';
import { rowGroupsFor } from './row-groups.js';
import { rowsOf } from './values.js';

export interface BrowserAnswer {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly unknown[])[];
  readonly version: number;
  /** Bytes of every response body from storage (footers, column chunks). */
  readonly bytesFetched: number;
  readonly requests: number;
  readonly files: number;
  /** Files whose needed part was already loaded in this page (nothing fetched for them). */
  readonly cachedFiles: number;
  /** Files the time range cuts into, whose row groups were chosen by their statistics: `read` of `total`. */
  readonly cutFiles: {
    readonly files: number;
    readonly rowGroupsRead: number;
    readonly rowGroupsTotal: number;
  };
  /** Starting DuckDB-WASM (the first query of a page), loading the files, running the statement. */
  readonly timings: { readonly startMs: number; readonly loadMs: number; readonly queryMs: number };
}

const SQL_TYPES: Record<BrowserColumnType, string> = {
  timestamp: 'TIMESTAMP',
  string: 'VARCHAR',
  float64: 'DOUBLE',
  int64: 'BIGINT',
  bool: 'BOOLEAN',
};

/** Most Parquet bytes one query may bring into the page by default (its Arrow form is larger still). */
export const DEFAULT_BROWSER_MAX_BYTES = 512 * 1024 * 1024;

/** Most rows one answer may hold in the page: the server's default `query.maxRows`. */
export const BROWSER_MAX_ROWS = 1_000_000;

/** A query that would bring more into the page than it may hold. */
export class BrowserLimitError extends Error {}

/** Files read at once: browsers allow six connections per origin over HTTP/1.1. */
const PARALLEL_FILES = 6;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Signed URLs of the local store are relative to our origin; parquet-wasm needs them whole. */
const absolute = (url: string) => new URL(url, location.href).href;

/** A storage read that failed: names the object by its path, never by its signed URL (a live credential). */
export class StorageReadError extends Error {
  constructor(
    url: string,
    reason: string,
    /** The signed URL had expired: a new session's URLs may succeed. */
    readonly expired = false,
  ) {
    super(`reading ${new URL(url).pathname}: ${reason}`);
  }
}

/** A failed answer from storage; its body tells an expired URL (`URL_EXPIRED` here, S3's "Request has expired"). */
async function failedRead(url: string, response: Response): Promise<StorageReadError> {
  const body = await response.text().catch(() => '');
  const expired = response.status === 403 && /expired/i.test(body);
  return new StorageReadError(
    url,
    `HTTP ${response.status}${expired ? ' (signed URL expired)' : ''}`,
    expired,
  );
}

/** Runs counting their storage traffic now; one `fetch` wrapper serves them all. */
const counting = new Set<Traffic>();
let fetchWrapped = false;

/**
 * parquet-wasm and hyparquet fetch through the page's `fetch`: it is wrapped once so each running
 * query counts the response bytes of its own signed URLs, and fails at once when one of them fails
 * (parquet-wasm traps on a failed fetch and never settles its promise).
 */
function countStorageFetches(): void {
  if (fetchWrapped) return;
  fetchWrapped = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = absolute(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const runs = [...counting].filter((traffic) => traffic.reads(url));
    if (runs.length === 0) return original(input, init);
    let error: StorageReadError;
    try {
      const response = await original(input, init);
      if (response.ok) {
        for (const traffic of runs) traffic.saw(response);
        return response;
      }
      error = await failedRead(url, response);
    } catch (cause) {
      error = new StorageReadError(
        url,
        `network error (${cause instanceof Error ? cause.message : String(cause)})`,
      );
    }
    for (const traffic of runs) traffic.fail(error);
    throw error;
  };
}

/** Counts the bytes and requests of one run; `failed` rejects with its first failed storage read. */
class Traffic {
  bytes = 0;
  requests = 0;
  rowGroupsRead = 0;
  rowGroupsTotal = 0;
  cachedFiles = 0;
  cutFiles = 0;
  error: StorageReadError | undefined;
  readonly failed: Promise<never>;
  private reject!: (error: StorageReadError) => void;

  constructor(private readonly urls: ReadonlySet<string>) {
    this.failed = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    // Awaited only in a race with the run's reads: a failure after it has ended is no one's to handle.
    this.failed.catch(() => {});
  }

  fail(error: StorageReadError): void {
    this.error ??= error;
    this.reject(error);
  }

  reads(url: string): boolean {
    return this.urls.has(url);
  }

  saw(response: Response): void {
    this.requests++;
    this.bytes += Number(response.headers.get('content-length') ?? 0);
  }

  /** Through the wrapped `fetch`, which throws for a failed read of the run's URLs. */
  async range(url: string, start: number, end: number): Promise<ArrayBuffer> {
    const response = await fetch(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    return response.arrayBuffer();
  }
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** parquet-wasm's Schema answers a name it lacks with -1 or by throwing. */
function hasColumn(schema: Schema, name: string): boolean {
  try {
    return schema.indexOf(name) >= 0;
  } catch {
    return false;
  }
}

/** One file's needed row groups and columns as Arrow IPC (the columns it has of those asked for). */
async function readFile(
  table: BrowserSessionTable,
  file: BrowserSessionFile,
  rowGroups: readonly number[] | undefined,
): Promise<Uint8Array> {
  const parquet = await openParquet(absolute(file.url));
  try {
    const schema = parquet.schema();
    const present = table.read_columns.filter((c) => hasColumn(schema, c));
    schema.free();
    const data = await parquet.read({
      columns: present,
      ...(rowGroups ? { rowGroups: [...rowGroups] } : {}),
    });
    return data.intoIPCStream();
  } finally {
    parquet.free();
  }
}

/** Files loaded in this page, for the next queries (256 MiB of Arrow data at most). */
const loaded = new LoadedFiles(256 * 1024 * 1024);

/**
 * Makes `name` a view of the reference's files with the catalog's types for the needed columns:
 * each file's part from the page's loaded files, read first where it is not there yet. A column no
 * file holds (added later, or pruned away) reads as NULL, as on the server.
 */
async function loadTable(
  connection: AsyncDuckDBConnection,
  name: string,
  table: BrowserSessionTable,
  traffic: Traffic,
  held: LoadedPart[],
): Promise<void> {
  const choices = await mapLimit(table.files, PARALLEL_FILES, async (file) => {
    const { chosen: rowGroups, total } = await rowGroupsFor(table, file, (url, start, end) =>
      traffic.range(url, start, end),
    );
    // After a failed read the run is over: its other files are neither read nor held.
    if (traffic.error) throw traffic.error;
    if (rowGroups && total !== undefined) {
      traffic.cutFiles++;
      traffic.rowGroupsRead += rowGroups.length;
      traffic.rowGroupsTotal += total;
    }
    if (rowGroups?.length === 0) return undefined;
    const path = new URL(absolute(file.url)).pathname;
    const found = loaded.find(path, rowGroups, table.read_columns);
    if (found) {
      // Held from now on: released with the query's other parts even if a later read fails.
      held.push(found);
      traffic.cachedFiles++;
      return found;
    }
    return { path, rowGroups, columns: table.read_columns, ipc: await readFile(table, file, rowGroups) };
  });
  const fresh = await loaded.load(
    connection,
    choices.filter((c): c is PartRead => c !== undefined && 'ipc' in c),
  );
  held.push(...fresh);
  const parts = [...choices.filter((c): c is LoadedPart => c !== undefined && !('ipc' in c)), ...fresh];
  const present = new Set(parts.flatMap((p) => p.present));
  const wanted = new Set(table.read_columns);
  const columns = table.columns
    .filter((c) => wanted.has(c.name))
    .map(
      (c) =>
        `CAST(${present.has(c.name) ? quote(c.name) : 'NULL'} AS ${SQL_TYPES[c.type]}) AS ${quote(c.name)}`,
    );
  const sources = loaded.sources(parts);
  // Parts may lack columns added later: the union goes by name and fills them with NULL.
  const from = sources.length > 0 ? `(${sources.join(' UNION ALL BY NAME ')})` : '(SELECT 1) WHERE false';
  await connection.query(
    `CREATE OR REPLACE VIEW ${quote(name)} AS SELECT ${columns.join(', ')} FROM ${from}`,
  );
}

/** Refuses a session whose files not yet loaded exceed `maxBytes` (before anything is fetched). */
function checkSize(session: BrowserSession, maxBytes: number): void {
  let bytes = 0;
  for (const table of session.tables)
    for (const file of table.files)
      if (!loaded.holds(new URL(absolute(file.url)).pathname, table.read_columns)) bytes += file.bytes;
  if (bytes > maxBytes) {
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    throw new BrowserLimitError(
      `this query would read up to ${mb(bytes)} of Parquet into the page (the browser limit is ${mb(maxBytes)}): ` +
        'narrow its time range, or run it on the server',
    );
  }
}

/**
 * Runs the session's statement (or `sql` over a tables session's `db.table` names) in the page;
 * refuses, before fetching anything, one whose files not yet loaded exceed `maxBytes`.
 */
export async function runInBrowser(
  session: BrowserSession,
  sql = session.sql,
  maxBytes = DEFAULT_BROWSER_MAX_BYTES,
): Promise<BrowserAnswer> {
  if (sql === undefined) throw new Error('the session has no statement to run');
  checkSize(session, maxBytes);
  const starting = performance.now();
  const db = await browserDuckDB();
  const connection = await db.connect();
  const traffic = new Traffic(new Set(session.tables.flatMap((t) => t.files.map((f) => absolute(f.url)))));
  countStorageFetches();
  counting.add(traffic);
  const names = session.tables.map((t) => t.name ?? `${t.database}.${t.table}`);
  const held: LoadedPart[] = [];
  try {
    const started = performance.now();
    const loading = (async () => {
      for (const [i, table] of session.tables.entries())
        await loadTable(connection, names[i]!, table, traffic, held);
    })();
    // A read parquet-wasm never settles fails the run from the fetch wrapper. The loading it beat
    // then ends on its own (its next file sees the failure); its error is no one's to report.
    loading.catch(() => {});
    await Promise.race([loading, traffic.failed]);
    const ready = performance.now();
    const result = await connection.query(sql);
    const queried = performance.now();
    if (result.numRows > BROWSER_MAX_ROWS) {
      throw new BrowserLimitError(
        `the answer has ${result.numRows.toLocaleString('en-US')} rows, more than the page holds (${BROWSER_MAX_ROWS.toLocaleString('en-US')}, as the server's default): aggregate or add a LIMIT, or export it from the server as CSV or Arrow`,
      );
    }
    const columns = result.schema.fields.map((f) => ({ name: f.name, type: String(f.type) }));
    const rows = rowsOf(result);
    return {
      columns,
      rows,
      version: session.version,
      bytesFetched: traffic.bytes,
      requests: traffic.requests,
      files: session.tables.reduce((sum, t) => sum + t.files.length, 0),
      cachedFiles: traffic.cachedFiles,
      cutFiles: {
        files: traffic.cutFiles,
        rowGroupsRead: traffic.rowGroupsRead,
        rowGroupsTotal: traffic.rowGroupsTotal,
      },
      timings: { startMs: started - starting, loadMs: ready - started, queryMs: queried - ready },
    };
  } finally {
    counting.delete(traffic);
    for (const name of names) await connection.query(`DROP VIEW IF EXISTS ${quote(name)}`);
    await loaded.release(connection, held);
    await connection.close();
  }
}

/** What the console asks the browser to run: like a server query (`POST /api/v1/query`). */
export interface BrowserQuery {
  readonly sql: string;
  readonly database?: string;
  readonly asOf?: AsOf;
  /** Most Parquet bytes the query may bring into the page (default DEFAULT_BROWSER_MAX_BYTES). */
  readonly maxBytes?: number;
}

/**
 * Asks the server for a session (pinned version, pruned files, signed URLs) and runs it in the page;
 * when a signed URL has expired meanwhile, asks for a new session and runs it once more.
 */
export async function queryInBrowser(
  client: WeirClient,
  query: BrowserQuery,
): Promise<BrowserAnswer & { sessionMs: number }> {
  const request = {
    sql: query.sql,
    ...(query.database ? { database: query.database } : {}),
    ...(query.asOf ? { asOf: query.asOf } : {}),
  };
  const run = async () => {
    const started = performance.now();
    const session = await client.browserSession(request);
    const sessionMs = performance.now() - started;
    return { ...(await runInBrowser(session, session.sql, query.maxBytes)), sessionMs };
  };
  try {
    return await run();
  } catch (error) {
    // Once only: URLs that expire again (a TTL shorter than the reads) end the run.
    if (error instanceof StorageReadError && error.expired) return run();
    throw error;
  }
}
