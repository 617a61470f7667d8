/**
 * Queries over a pinned catalog version (DESIGN.md §7): parse and guard the SQL, resolve its table
 * references within the tenant, choose each reference's files by the catalog's min/max time
 * against its time predicates, and run the rewritten statement on the tenant's engine over views
 * of exactly those files. SHOW statements are answered from the catalog.
 */
import { type DuckDBConnection, type DuckDBResult, LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { z } from 'zod';
import {
  type ColumnType,
  type FileEntry,
  fileColumnStats,
  liveFiles,
  type TableEntry,
  type TenantCatalogs,
  type TenantState,
  tableKey,
  type VersionRef,
  WeirError,
} from '../../catalog/index.js';
import { answerRowBound, withRowLimit } from './answer-size.js';
import { isDeterministic } from './cache.js';
import type { EngineOptions } from './engines.js';
import { TenantEngines } from './engines.js';
import { QueryError } from './errors.js';
import type { HeldFiles, QueryFiles } from './files.js';
import { guardQuery, type TableUse } from './guard.js';
import { type EvaluatedTimestamp, type SqlNode, SqlParser } from './parser.js';
import { type NamedColumns, namedColumns, readColumnsOf } from './read-columns.js';
import {
  checkRowMatchStatement,
  PREDICATE_RELATION,
  type RowMatch,
  type RowMatchRequest,
  readsNoColumn,
} from './rows.js';
import { spliceReferences } from './splice.js';
import { sqlIdentifier, sqlString } from './sql.js';

/**
 * RFC 3339 with a zone. The catalog reads time text with Date.parse, which takes a time without a zone
 * in the server's own time zone; sub-millisecond digits (Python's isoformat) are fine.
 */
const INSTANT = z.iso.datetime({ offset: true });

function assertInstant(text: string): void {
  if (!INSTANT.safeParse(text).success)
    throw new QueryError(
      'INVALID_TIMESTAMP',
      `as_of timestamp ${JSON.stringify(text.slice(0, 64))} must be an RFC 3339 date-time with a zone, e.g. 2026-03-01T05:00:00Z, or epoch milliseconds`,
    );
}

export interface QueryRequest {
  readonly tenant: string;
  /** The database bare table names mean. */
  readonly database: string;
  readonly sql: string;
  readonly asOf?: VersionRef;
  /** Interrupts the query (client gone, server stopping). */
  readonly signal?: AbortSignal;
  /** Throws when the caller may not read this database (token scope); called before anything is read. */
  readonly authorize?: (database: string) => void;
  /** Whether the caller may read this database, for listings that leave the others out (default: all). */
  readonly readable?: (database: string) => boolean;
}

/** A reference's files after pruning, out of how many the table has. */
export interface PlannedTable {
  readonly database: string;
  readonly table: string;
  readonly view: string;
  readonly files: readonly FileEntry[];
  readonly tableFiles: number;
  /** Inclusive time range the reference's predicates allow, in microseconds. */
  readonly range: { readonly from?: number; readonly to?: number };
  /**
   * The table's columns the statement may read through this reference (a superset: every column
   * when it has `*`), in table order, always with `time` (see read-columns.ts).
   */
  readonly readColumns: readonly string[];
}

export interface QueryPlan {
  readonly version: number;
  /** The statement as the engine runs it (tables replaced by views). */
  readonly sql: string;
  readonly tables: readonly PlannedTable[];
  /** False when the answer depends on more than the data (`now()`, `random()`…): never cached. */
  readonly deterministic: boolean;
  /** Most rows the answer can have (see answer-size.ts); undefined when nothing bounds it. */
  readonly rowBound?: number;
  /** The guarded statement's tree (tables replaced by views), to render variants of it. */
  readonly tree: SqlNode;
}

export interface RunOptions {
  /**
   * The caller keeps the whole answer and refuses one of more than this many rows (JSON). The
   * answer is then computed in one DuckDB call, capped at one row more when nothing smaller bounds
   * it, instead of prepared and streamed: a prepared statement is bound again when it runs, and
   * binding checks every file against the engine's allowed directories (~25 µs a file).
   */
  readonly wholeAnswerMaxRows?: number;
}

/** A statement pinned and planned, ready to run (see `prepare`). */
export interface PreparedQuery {
  readonly state: TenantState;
  readonly plan: QueryPlan;
}

/** An answer computed from the catalog instead of the engine (SHOW …). */
export interface CatalogAnswer {
  readonly version: number;
  readonly columns: readonly string[];
  readonly data: readonly (readonly unknown[])[];
}

export interface QueryServiceOptions {
  catalogs: TenantCatalogs;
  files: QueryFiles;
  engine: EngineOptions;
  /** Longest a query may run before it is interrupted. */
  timeoutMs: number;
}

/** Answers of at most this many rows are materialized by DuckDB in one call instead of streamed. */
const MATERIALIZED_ROWS = 100_000;

/** The column of a row-match view naming each row's file. */
const FILE_COLUMN = '__weir_file';

const SHOW = /^\s*show\s+(databases|tables|measurements)(?:\s+from\s+("[^"]+"|[A-Za-z0-9_-]+))?\s*;?\s*$/i;

const SQL_TYPES: Record<ColumnType, string> = {
  timestamp: 'TIMESTAMP',
  string: 'VARCHAR',
  float64: 'DOUBLE',
  int64: 'BIGINT',
  bool: 'BOOLEAN',
};

export class QueryService {
  private readonly engines: TenantEngines;

  private constructor(
    private readonly options: QueryServiceOptions,
    private readonly parser: SqlParser,
  ) {
    this.engines = new TenantEngines(options.engine, (tenant) => options.files.directories(tenant));
  }

  static async open(options: QueryServiceOptions): Promise<QueryService> {
    return new QueryService(options, await SqlParser.open());
  }

  /** The catalog state the query reads: the head, or the `as_of` version or time. */
  async pin(tenant: string, asOf?: VersionRef): Promise<TenantState> {
    if (asOf && 'timestamp' in asOf && typeof asOf.timestamp === 'string') assertInstant(asOf.timestamp);
    const catalog = this.options.catalogs.forTenant(tenant);
    return asOf ? catalog.at(asOf) : catalog.refresh();
  }

  /** SHOW DATABASES / TABLES / MEASUREMENTS, or undefined for any other statement. */
  async show(request: QueryRequest): Promise<CatalogAnswer | undefined> {
    const match = SHOW.exec(request.sql);
    if (!match) return undefined;
    const state = await this.pin(request.tenant, request.asOf);
    if (match[1]!.toLowerCase() === 'databases') {
      const names = [...state.databases.keys()].filter((name) => request.readable?.(name) ?? true).sort();
      return { version: state.version, columns: ['name'], data: names.map((name) => [name]) };
    }
    const database = match[2]?.replace(/^"|"$/g, '') ?? request.database;
    request.authorize?.(database);
    if (!state.databases.has(database))
      throw new QueryError('DATABASE_NOT_FOUND', `database ${database} does not exist`, 404, { database });
    const tables = [...state.tables.values()]
      .filter((t) => t.database === database)
      .map((t) => t.name)
      .sort();
    return { version: state.version, columns: ['name'], data: tables.map((name) => [name]) };
  }

  /** Guards the statement and chooses its files, without running it. */
  async plan(request: QueryRequest, state?: TenantState): Promise<QueryPlan> {
    // The head probe and the parse are independent round trips: run them together.
    const [pinned, root] = await Promise.all([
      state ?? this.pin(request.tenant, request.asOf),
      this.parser.parse(request.sql),
    ]);
    const uses = guardQuery(root, {
      database: request.database,
      viewPrefix: unusedViewPrefix(request.sql, root),
      resolve: (database, table) => {
        // Before the table is looked up: a token must not learn which tables a database it may
        // not read has (403 for them all, not 404 for some).
        request.authorize?.(databaseName(pinned, database));
        const entry = findTable(pinned, database, table);
        return entry ? { database: entry.database, table: entry.name } : undefined;
      },
    });
    const [tables, sql] = await Promise.all([
      this.planTables(pinned, uses, namedColumns(root)),
      spliceReferences(request.sql, uses) ?? this.parser.render(root, viewsOf(uses)),
    ]);
    const rowBound = answerRowBound(
      root,
      tables.map((t) => t.files.reduce((sum, f) => sum + f.rows, 0)),
    );
    return {
      version: pinned.version,
      sql,
      tables,
      deterministic: isDeterministic(root),
      ...(rowBound !== undefined ? { rowBound } : {}),
      tree: root,
    };
  }

  /** Pins the catalog and plans the statement: what `run` does first, for a caller that looks at the plan before running. */
  async prepare(request: QueryRequest): Promise<PreparedQuery> {
    request.signal?.throwIfAborted();
    const state = await this.pin(request.tenant, request.asOf);
    return { state, plan: await this.plan(request, state) };
  }

  /**
   * Runs the statement and hands its streaming result to `consume` while the files and the
   * connection are held; answers the plan with what `consume` returned. `prepared` (from `prepare`
   * with the same request) skips pinning and planning again.
   */
  async run<T>(
    request: QueryRequest,
    consume: (result: DuckDBResult, plan: QueryPlan) => Promise<T>,
    prepared?: PreparedQuery,
    options: RunOptions = {},
  ): Promise<{ plan: QueryPlan; value: T }> {
    const { state, plan } = prepared ?? (await this.prepare(request));
    const { sql: planned, materialized } = await this.runnable(plan, options);
    request.signal?.throwIfAborted();
    const held: HeldFiles[] = [];
    try {
      for (const table of plan.tables)
        held.push(
          await this.options.files.hold(
            request.tenant,
            table.files.map((f) => f.path),
          ),
        );
      const value = await this.engines.withConnection(request.tenant, async (connection) => {
        const files = held.reduce((sum, h) => sum + h.paths.length, 0);
        const lists = new FileLists(!materialized, files);
        const sources: string[] = [];
        for (const [i, table] of plan.tables.entries())
          sources.push(await tableSource(connection, state, table, held[i]!.paths, lists));
        const sql = inlineTables(planned, plan.tables, sources);
        return this.interruptible(connection, request.signal, plan.tables, () =>
          lists.run(connection, sql, (result) => consume(result, plan)),
        );
      });
      return { plan, value };
    } finally {
      for (const files of held) files.release();
    }
  }

  /**
   * The statement to run and whether DuckDB computes its answer in one call: when the answer is
   * known to be small, or the caller holds it whole anyway (capped one row past its limit, so an
   * answer over the limit still fails as one). Any other answer is streamed.
   */
  private async runnable(
    plan: QueryPlan,
    options: RunOptions,
  ): Promise<{ sql: string; materialized: boolean }> {
    const bound = plan.rowBound ?? Number.POSITIVE_INFINITY;
    const held = options.wholeAnswerMaxRows;
    if (bound <= MATERIALIZED_ROWS || (held !== undefined && bound <= held + 1))
      return { sql: plan.sql, materialized: true };
    const capped = held === undefined ? undefined : withRowLimit(plan.tree, held + 1);
    if (capped === undefined) return { sql: plan.sql, materialized: false };
    return { sql: await this.parser.render(capped, viewsOf(plan.tables)), materialized: true };
  }

  private async interruptible<T>(
    connection: DuckDBConnection,
    signal: AbortSignal | undefined,
    /** The tables the statement reads, to name them in errors. */
    tables: readonly PlannedTable[],
    work: () => Promise<T>,
  ): Promise<T> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, this.options.timeoutMs);
    const abort = () => connection.interrupt();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return await work();
    } catch (error) {
      if (timedOut) {
        throw new QueryError(
          'QUERY_TIMEOUT',
          `the query ran longer than ${this.options.timeoutMs} ms (query.timeoutMs) and was stopped; narrow its time range or add LIMIT`,
          408,
          { limit: 'timeoutMs', value: this.options.timeoutMs },
        );
      }
      if (signal?.aborted) throw signal.reason;
      throw asQueryError(error, tables);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
    }
  }

  /** Each reference's files, chosen by its time bounds (evaluated together, in one round trip at most). */
  private async planTables(
    state: TenantState,
    uses: readonly TableUse[],
    named: NamedColumns,
  ): Promise<PlannedTable[]> {
    const values = await this.parser.timestamps(uses.flatMap((use) => use.bounds.map((b) => b.expression)));
    let next = 0;
    return uses.map((use) => {
      const own = values.slice(next, next + use.bounds.length);
      next += use.bounds.length;
      return planTable(state, use, own, named);
    });
  }

  /**
   * Counts, per file, the rows a delete's WHERE matches at the head version, reading only the files
   * its time bounds leave. Throws QUERY_REFUSED for a WHERE that is more than one condition on the
   * table's rows, TABLE_NOT_FOUND, and QUERY_FAILED (naming the column) when it does not bind.
   */
  async matchRows(request: RowMatchRequest): Promise<RowMatch> {
    request.signal?.throwIfAborted();
    const state = await this.pin(request.tenant);
    request.authorize?.(databaseName(state, request.database));
    const entry = findTable(state, request.database, request.table);
    if (!entry) {
      throw new QueryError(
        'TABLE_NOT_FOUND',
        `table ${request.database}.${request.table} does not exist`,
        404,
        {
          database: request.database,
          table: request.table,
        },
      );
    }
    const where = request.where.trim() === '' ? 'true' : request.where;
    const root = await this.parser.parse(
      `SELECT * FROM ${sqlIdentifier(entry.database)}.${sqlIdentifier(entry.name)} WHERE (${where})`,
    );
    checkRowMatchStatement(root, {
      columns: entry.columns.map((c) => c.name),
      unstableFunctions: this.parser.unstableFunctions,
    });
    const constant = readsNoColumn(root.where_clause);
    const [use] = guardQuery(root, {
      database: entry.database,
      resolve: (database, table) =>
        database === entry.database && table === entry.name ? { database, table } : undefined,
    });
    const [[planned], predicate] = await Promise.all([
      this.planTables(state, [use!], namedColumns(root)),
      this.renderPredicate(root),
    ]);
    const base = {
      version: state.version,
      database: entry.database,
      table: entry.name,
      predicate,
      constant,
      tableRows: entry.rowCount,
      tableFiles: planned!.tableFiles,
      scannedFiles: planned!.files.length,
    };
    const held = await this.options.files.hold(
      request.tenant,
      planned!.files.map((f) => f.path),
    );
    try {
      const counts = await this.engines.withConnection(request.tenant, async (connection) => {
        const lists = new FileLists(false, held.paths.length);
        const source = await tableSource(connection, state, planned!, held.paths, lists, FILE_COLUMN);
        const sql = `SELECT ${FILE_COLUMN}, count(*)::BIGINT FROM ${source} AS ${sqlIdentifier(entry.name)} WHERE (${predicate}) GROUP BY ${FILE_COLUMN}`;
        return this.interruptible(connection, request.signal, [planned!], () =>
          lists.run(connection, sql, async (result) => {
            const rows = await result.getRows();
            return new Map(rows.map((row) => [String(row[0]), Number(row[1])]));
          }),
        );
      });
      const files = planned!.files
        .map((file, i) => ({ file, matchedRows: counts.get(held.paths[i]!) ?? 0 }))
        .filter((f) => f.matchedRows > 0)
        .sort((a, b) => (a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0));
      return { ...base, files, matchedRows: files.reduce((sum, f) => sum + f.matchedRows, 0) };
    } finally {
      held.release();
    }
  }

  /**
   * Refuses a predicate that is not one guarded condition on the rows of `table`: the delete task
   * checks the predicate it is about to run, whoever planned it.
   */
  async checkPredicate(table: string, columns: readonly string[], predicate: string): Promise<void> {
    const root = await this.parser.parse(`SELECT * FROM ${sqlIdentifier(table)} WHERE (${predicate})`);
    checkRowMatchStatement(root, { columns, unstableFunctions: this.parser.unstableFunctions });
    guardQuery(root, {
      database: '',
      resolve: (database, name) => (name === table ? { database, table: name } : undefined),
    });
  }

  /** The WHERE of a checked row-match statement as DuckDB renders it. */
  private async renderPredicate(root: SqlNode): Promise<string> {
    const relation = {
      ...(root.from_table as SqlNode),
      alias: '',
      schema_name: '',
      table_name: PREDICATE_RELATION,
    };
    const text = await this.parser.render({ ...root, from_table: relation }, new Set([PREDICATE_RELATION]));
    const prefix = `SELECT * FROM ${PREDICATE_RELATION} WHERE `;
    if (!text.startsWith(prefix)) throw new Error(`DuckDB rendered a row match as ${text.slice(0, 80)}`);
    return text.slice(prefix.length);
  }

  close(): void {
    this.engines.close();
    this.parser.close();
  }
}

/**
 * A reference's files: those whose min/max time meets the range its bounds allow (`values`: each
 * bound's evaluated time, undefined when it is none).
 */
function planTable(
  state: TenantState,
  use: TableUse,
  values: readonly (EvaluatedTimestamp | undefined)[],
  named: NamedColumns,
): PlannedTable {
  const entry = state.tables.get(tableKey(use.database, use.table))!;
  // Inclusive microsecond range (times are whole µs). A strict bound moves one microsecond in, when
  // exact: `time < x` with x past its microsecond still holds at that microsecond.
  let from: number | undefined;
  let to: number | undefined;
  for (const [i, bound] of use.bounds.entries()) {
    const evaluated = values[i];
    if (evaluated === undefined) continue;
    const value = Number(evaluated.micros);
    if (bound.side !== 'upper') {
      const lower = bound.strict && evaluated.exact ? value + 1 : value;
      from = from === undefined ? lower : Math.max(from, lower);
    }
    if (bound.side !== 'lower') {
      const upper = bound.strict && evaluated.exact ? value - 1 : value;
      to = to === undefined ? upper : Math.min(to, upper);
    }
  }
  const all = [...liveFiles(entry)];
  const files = all.filter(
    (file) => (from === undefined || file.maxTime >= from) && (to === undefined || file.minTime <= to),
  );
  return {
    database: use.database,
    table: use.table,
    view: use.view,
    files,
    tableFiles: all.length,
    range: { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) },
    readColumns: readColumnsOf(named, entry.columns, use.view, use.written.name),
  };
}

/** The catalog's name of a database named in SQL (names are case-insensitive), else the name as written. */
function databaseName(state: TenantState, database: string): string {
  if (state.databases.has(database)) return database;
  const folded = database.toLowerCase();
  for (const name of state.databases.keys()) if (name.toLowerCase() === folded) return name;
  return database;
}

function findTable(state: TenantState, database: string, table: string): TableEntry | undefined {
  const exact = state.tables.get(tableKey(database, table));
  if (exact) return exact;
  // SQL names are case-insensitive.
  const db = database.toLowerCase();
  const name = table.toLowerCase();
  for (const entry of state.tables.values())
    if (entry.database.toLowerCase() === db && entry.name.toLowerCase() === name) return entry;
  return undefined;
}

/**
 * What a reference reads, as a parenthesized subquery: every catalog column with its catalog type,
 * from the chosen files (NULL where a file predates a column, or where none of them has it yet), or
 * no rows when no file is left.
 */
async function tableSource(
  connection: DuckDBConnection,
  state: TenantState,
  table: PlannedTable,
  paths: readonly string[],
  /** How the statement names the file list (a literal or a parameter). */
  lists: FileLists,
  /** Also a column of this name holding each row's local file path. */
  fileColumn?: string,
): Promise<string> {
  const entry = state.tables.get(tableKey(table.database, table.table))!;
  // Data keys look like hive partitions (`date=…/hour=…`): DuckDB would add, or override, columns
  // of those names from the path.
  const fileOption = `, hive_partitioning = false${fileColumn === undefined ? '' : `, filename = ${sqlString(fileColumn)}`}`;
  // An empty list names no parameter: a statement must use every parameter it is given.
  const list = paths.length > 0 ? lists.add(paths) : '[]';
  let present = new Set<string>();
  let files: string;
  let typed = false;
  const columnSets = fileColumnSets(table.files);
  if (columnSets?.every((set) => entry.columns.every((c) => set.has(c.name)))) {
    // Every file holds every column (in the table's order): no schema unification, no DESCRIBE,
    // and no cast either, since writers write each column with its catalog type.
    files = `read_parquet(${list}${fileOption})`;
    present = new Set(entry.columns.map((c) => c.name));
    typed = true;
  } else {
    files = `read_parquet(${list}, union_by_name = true${fileOption})`;
    if (columnSets) for (const set of columnSets) for (const name of set) present.add(name);
    else if (paths.length > 0) {
      // Files written before column statistics were kept: DuckDB reads their schemas (rare).
      const described = await connection.runAndReadAll(
        `DESCRIBE SELECT * FROM read_parquet(${literalList(paths)}, union_by_name = true${fileOption})`,
      );
      for (const row of described.getRowObjects()) present.add(String(row.column_name));
    }
  }
  const columns = entry.columns.map((column) => {
    const name = sqlIdentifier(column.name);
    const type = SQL_TYPES[column.type];
    if (paths.length === 0 || !present.has(column.name)) return `CAST(NULL AS ${type}) AS ${name}`;
    return typed ? name : `CAST(${name} AS ${type}) AS ${name}`;
  });
  if (fileColumn !== undefined)
    columns.push(
      paths.length > 0 ? sqlIdentifier(fileColumn) : `CAST(NULL AS VARCHAR) AS ${sqlIdentifier(fileColumn)}`,
    );
  const source = paths.length > 0 ? files : '(SELECT 1) AS nothing WHERE false';
  return `(SELECT ${columns.join(', ')} FROM ${source})`;
}

/**
 * A view name prefix that neither the text (comments included) nor any string of the parsed
 * statement contains, in any case: every occurrence of it in the planned SQL is then one of the
 * guard's rewritten references, which `inlineTables` replaces.
 */
function unusedViewPrefix(sql: string, root: SqlNode): string {
  const text = `${sql}\n${JSON.stringify(root)}`.toLowerCase();
  for (let n = 0; ; n++) {
    const prefix = `__weir${n === 0 ? '' : n}_t`;
    if (!text.includes(prefix)) return prefix;
  }
}

/** The views a guarded statement's references were rewritten to: all it may read once rendered. */
function viewsOf(references: readonly { view: string }[]): ReadonlySet<string> {
  return new Set(references.map((r) => r.view));
}

/** A file list as a SQL literal. */
function literalList(paths: readonly string[]): string {
  return `[${paths.map(sqlString).join(', ')}]`;
}

/**
 * Statements reading more files than this get their file lists as parameters; up to it, as
 * literals (see FileLists).
 */
const LITERAL_LIST_MAX_FILES = 64;

/**
 * How a statement's references name their files: as literals, or as parameters (`$1`, `$2`, …).
 * A prepared statement is bound when it is prepared and again when it runs, and each bind checks
 * every literal file against the engine's allowed directories (~25 µs a file, ADR 0022). A list
 * that is a parameter cannot be bound when preparing, so DuckDB binds such a statement once, when
 * it runs with the values; the allowed-directory check still applies to every file. A statement
 * run in one call (not prepared) is bound once either way, and literals then save the round trip
 * of preparing (~0.4 ms here) until the list is long enough that parsing it costs more (~12 µs a
 * file; measured even at 96 files, ahead by 9 ms at 720).
 */
class FileLists {
  private readonly lists: (readonly string[])[] = [];
  private readonly asParameters: boolean;

  /** For a statement whose answer is streamed, or computed in one call, reading `files` files. */
  constructor(
    private readonly streamed: boolean,
    files: number,
  ) {
    this.asParameters = streamed || files > LITERAL_LIST_MAX_FILES;
  }

  /** The SQL that names the list. */
  add(paths: readonly string[]): string {
    if (!this.asParameters) return literalList(paths);
    this.lists.push(paths);
    return `$${this.lists.length}`;
  }

  /**
   * Runs the statement with its lists bound, materialized or streamed, and hands the result to
   * `consume` (the statement lives until it is done). One statement: prepared directly, without
   * the statement split `connection.stream(sql)` would add.
   */
  async run<T>(
    connection: DuckDBConnection,
    sql: string,
    consume: (result: DuckDBResult) => Promise<T>,
  ): Promise<T> {
    if (!this.asParameters) return consume(await connection.run(sql));
    const prepared = await connection.prepare(sql);
    try {
      if (this.lists.length > 0)
        prepared.bind(
          this.lists.map((paths) => listValue([...paths])),
          this.lists.map(() => LIST(VARCHAR)),
        );
      return await consume(await (this.streamed ? prepared.stream() : prepared.run()));
    } finally {
      prepared.destroySync();
    }
  }
}

/**
 * The rendered statement with each reference's placeholder name replaced by its source subquery:
 * one statement for the engine instead of a CREATE VIEW round trip per reference.
 */
function inlineTables(sql: string, tables: readonly PlannedTable[], sources: readonly string[]): string {
  if (tables.length === 0) return sql;
  const byView = new Map(tables.map((t, i) => [t.view, sources[i]!]));
  // Names are letters, digits and underscores; `(?!\d)` keeps `t1` from taking `t10`'s place.
  const names = [...byView.keys()];
  let replaced = 0;
  const inlined = sql.replaceAll(new RegExp(`"?(${names.join('|')})(?!\\d)"?`, 'g'), (_, view: string) => {
    replaced++;
    return byView.get(view)!;
  });
  if (replaced !== tables.length)
    throw new Error(`the rendered statement names its ${tables.length} table references ${replaced} times`);
  return inlined;
}

/**
 * The columns each file holds, from the catalog's per-file statistics (writers record every column
 * a file has); undefined when a file has none recorded, so DuckDB must describe the files.
 */
function fileColumnSets(files: readonly FileEntry[]): Set<string>[] | undefined {
  if (files.some((f) => f.columnStatsJson === undefined)) return undefined;
  return files.map((f) => new Set(Object.keys(fileColumnStats(f))));
}

/**
 * DuckDB's own errors (binder, conversion, out of memory…) as 400s. The `LINE n: …` excerpt DuckDB
 * appends quotes the rewritten statement (file paths, casts the user never wrote): it is dropped.
 */
function asQueryError(error: unknown, tables: readonly PlannedTable[]): unknown {
  if (error instanceof WeirError || !(error instanceof Error)) return error;
  const message = error.message.replace(/\n+LINE \d+:[\s\S]*$/, '');
  return new QueryError('QUERY_FAILED', message, 400, {
    tables: tables.map((t) => `${t.database}.${t.table}`),
  });
}
