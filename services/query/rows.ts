/**
 * Which rows a delete's WHERE matches (ARC-COMPAT.md "Delete"). The WHERE is parsed by DuckDB as
 * part of `SELECT * FROM db.table WHERE (…)` and must stay exactly that shape: one table, no
 * subquery, nothing the query guard refuses. Its canonical text — DuckDB's own rendering of the
 * parsed expression — is what the delete task evaluates, so the text the user sent is never spliced
 * into another statement.
 */
import type { FileEntry } from '../../catalog/index.js';
import { QueryRefusedError } from './errors.js';
import type { SqlNode } from './parser.js';

export interface RowMatchRequest {
  readonly tenant: string;
  readonly database: string;
  readonly table: string;
  /** A SQL boolean expression over the table's columns; empty means every row. */
  readonly where: string;
  readonly signal?: AbortSignal;
  /** Throws when the caller may not touch this database (token scope). */
  readonly authorize?: (database: string) => void;
}

export interface MatchedFile {
  readonly file: FileEntry;
  readonly matchedRows: number;
}

export interface RowMatch {
  readonly version: number;
  readonly database: string;
  readonly table: string;
  /** The WHERE as DuckDB renders it; the relation it reads is named after the table. */
  readonly predicate: string;
  /** The WHERE reads no column (`1=1`, empty): it matches every row by its form alone. */
  readonly constant: boolean;
  readonly tableRows: number;
  readonly tableFiles: number;
  /** Files left after pruning by the WHERE's time bounds; each was scanned. */
  readonly scannedFiles: number;
  /** Files with at least one matching row, by path. */
  readonly files: readonly MatchedFile[];
  readonly matchedRows: number;
}

/** Name the predicate's relation gets while it is rendered; replaced by the table's own name. */
export const PREDICATE_RELATION = '__weir_rows';

/** What a delete's WHERE may read besides constants. */
export interface PredicateScope {
  /** The table's column names. */
  readonly columns: readonly string[];
  /** Functions whose value can differ from one call to the next (see SqlParser), in lower case. */
  readonly unstableFunctions: ReadonlySet<string>;
}

/**
 * Refuses anything in the parsed `SELECT * FROM t WHERE (…)` beyond one boolean expression over
 * the table's rows: another shape means the WHERE text closed the statement and added to it. The
 * expression may read the table's columns only — not the helper columns the count and the delete
 * add beside them (file names, row numbers), nor the whole row — and may call only functions whose
 * value depends on their arguments alone, so the count, the dry run and the delete agree.
 */
export function checkRowMatchStatement(root: SqlNode, scope: PredicateScope): void {
  const from = root.from_table as SqlNode | null;
  const select = root.select_list as SqlNode[] | undefined;
  const plain =
    root.type === 'SELECT_NODE' &&
    from?.type === 'BASE_TABLE' &&
    select?.length === 1 &&
    select[0]!.class === 'STAR' &&
    (root.modifiers as unknown[]).length === 0 &&
    ((root.cte_map as { map: unknown[] }).map ?? []).length === 0 &&
    (root.group_expressions as unknown[]).length === 0 &&
    root.having === null &&
    root.qualify === null &&
    root.sample === null &&
    root.where_clause !== null;
  if (!plain) throw new QueryRefusedError('a delete WHERE must be one condition on the table’s columns');
  if (holds(root.where_clause, (node) => node.class === 'SUBQUERY'))
    throw new QueryRefusedError('subqueries in a delete WHERE; compare with constant values');
  if (holds(root.where_clause, (node) => node.class === 'WINDOW'))
    throw new QueryRefusedError('window and aggregate functions in a delete WHERE');
  const random = findFunction(root.where_clause, RANDOM_FUNCTIONS);
  if (random !== undefined) {
    throw new QueryRefusedError(
      `${random}() in a delete WHERE: the rows it matches change from one evaluation to the next, so the count, the dry run and the delete would disagree`,
    );
  }
  const clock =
    findFunction(root.where_clause, CLOCK_FUNCTIONS) ?? findKeyword(root.where_clause, CLOCK_KEYWORDS);
  if (clock !== undefined) {
    throw new QueryRefusedError(
      `${clock} in a delete WHERE: it reads the clock, so the rows it matches change between the count, the dry run and the delete; write the time as a literal, e.g. time < '2026-01-01T00:00:00Z'`,
    );
  }
  const unstable = findFunction(root.where_clause, scope.unstableFunctions);
  if (unstable !== undefined) {
    throw new QueryRefusedError(
      `${unstable}() in a delete WHERE: its value does not depend on the row alone, so the count, the dry run and the delete could match different rows; compare the columns with constant values`,
    );
  }
  checkColumnReads(root, scope.columns);
}

/** Refuses reads of anything but the table's columns (by name, or qualified by the table's name). */
function checkColumnReads(root: SqlNode, columnNames: readonly string[]): void {
  const table = String((root.from_table as SqlNode).table_name);
  const columns = new Set(columnNames.map((name) => name.toLowerCase()));
  holds(root.where_clause, (node) => {
    if (node.class === 'STAR' || node.class === 'POSITIONAL_REFERENCE') {
      throw new QueryRefusedError('*, COLUMNS(…) and #n in a delete WHERE: name the columns it compares');
    }
    if (node.class !== 'COLUMN_REF') return false;
    const parts = node.column_names as string[];
    const qualifiedByTable = parts.length === 2 && parts[0]!.toLowerCase() === table.toLowerCase();
    if ((parts.length === 1 || qualifiedByTable) && columns.has(parts.at(-1)!.toLowerCase())) return false;
    throw new QueryRefusedError(
      `the delete WHERE reads ${parts.join('.')}, which is not a column of table ${table}: it may compare the table's columns (column or ${table}.column) with constant values`,
    );
  });
}

/** Functions that read the clock: a WHERE with one matches other rows as time passes. */
const CLOCK_FUNCTIONS: ReadonlySet<string> = new Set([
  'now',
  'today',
  'transaction_timestamp',
  'get_current_time',
  'get_current_timestamp',
  'current_localtimestamp',
  'current_localtime',
]);

/** SQL's clock keywords, which DuckDB parses as column names and binds to the clock. */
export const CLOCK_KEYWORDS: ReadonlySet<string> = new Set([
  'current_timestamp',
  'current_date',
  'current_time',
  'localtimestamp',
  'localtime',
]);

/** Functions whose value differs at each call: a WHERE with one matches different rows each time it runs. */
const RANDOM_FUNCTIONS: ReadonlySet<string> = new Set([
  'random',
  'setseed',
  'gen_random_uuid',
  'uuid',
  'uuidv4',
  'uuidv7',
]);

/** The first function of `names` the expression calls (names compared in lower case). */
function findFunction(expression: unknown, names: ReadonlySet<string>): string | undefined {
  return findName(expression, names, (node) =>
    node.class === 'FUNCTION' ? String(node.function_name) : undefined,
  );
}

/** The first one-part column name of `names` the expression reads (names compared in lower case). */
function findKeyword(expression: unknown, names: ReadonlySet<string>): string | undefined {
  return findName(expression, names, (node) => {
    const parts = node.class === 'COLUMN_REF' ? (node.column_names as string[]) : [];
    return parts.length === 1 ? parts[0] : undefined;
  });
}

function findName(
  expression: unknown,
  names: ReadonlySet<string>,
  nameOf: (node: SqlNode) => string | undefined,
): string | undefined {
  let found: string | undefined;
  holds(expression, (node) => {
    const name = nameOf(node)?.toLowerCase();
    if (name !== undefined && names.has(name)) found = name;
    return found !== undefined;
  });
  return found;
}

/** Whether the expression reads no column (so it has the same value for every row). */
export function readsNoColumn(expression: unknown): boolean {
  return !holds(expression, (node) => node.class === 'COLUMN_REF');
}

function holds(value: unknown, test: (node: SqlNode) => boolean): boolean {
  if (Array.isArray(value)) return value.some((item) => holds(item, test));
  if (value === null || typeof value !== 'object') return false;
  const node = value as SqlNode;
  return test(node) || Object.values(node).some((child) => holds(child, test));
}
