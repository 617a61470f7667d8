/**
 * The SQL guard (DESIGN.md §7), on the statement tree DuckDB parsed: only the tenant's own tables,
 * a short list of harmless table functions, and no function that reads files, the environment or
 * settings. Every table reference is rewritten to a per-query view over exactly the files chosen
 * for it, so nothing in the statement names a path or another database; the engine's locked
 * configuration is the second wall behind this one.
 */
import { QueryError, QueryRefusedError } from './errors.js';
import type { SqlNode } from './parser.js';

/** Table functions a query may call: they generate rows and read nothing. */
const ALLOWED_TABLE_FUNCTIONS = new Set(['range', 'generate_series', 'unnest']);

/** Scalar, aggregate and window functions that reach outside the query's own rows. */
const REFUSED_FUNCTION = new RegExp(
  '^(read_|glob$|getenv$|current_setting$|current_query$|duckdb_|pragma_|sniff_csv$|parquet_|query$|query_table$|' +
    'load|install|which_secret$|checkpoint$|force_checkpoint$|json_execute_serialized_sql$|' +
    'json_serialize_sql$|json_deserialize_sql$|json_serialize_plan$|iceberg_|delta_|sqlite_|postgres_|' +
    'mysql_|enable_|disable_|set_|export_|import_|file_|http)',
);

/** Table reference kinds the guard knows; any other is refused (fail closed). */
const TABLE_REF_KINDS = new Set([
  'BASE_TABLE',
  'JOIN',
  'SUBQUERY',
  'TABLE_FUNCTION',
  'EXPRESSION_LIST',
  'EMPTY',
]);
const QUERY_NODE_KINDS = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE', 'CTE_NODE']);

/**
 * The part of a named query node in which its name means itself. A recursive CTE's anchor does not
 * see it: `WITH RECURSIVE r AS (FROM r UNION ALL …)` reads table r first.
 */
const SELF_REFERENCING_PART: Record<string, string> = { RECURSIVE_CTE_NODE: 'right', CTE_NODE: 'child' };

/** One reference to a tenant table in the statement, and the time range its WHERE allows. */
export interface TableUse {
  readonly database: string;
  readonly table: string;
  /** Name of the view the reference now reads. */
  readonly view: string;
  /** Time predicates that bound this reference (constant sides still to be evaluated). */
  readonly bounds: TimeBound[];
  /** The reference as the statement wrote it, and where (DuckDB's `query_location`). */
  readonly written: WrittenReference;
}

export interface WrittenReference {
  readonly schema: string;
  readonly name: string;
  readonly hasAlias: boolean;
  readonly location: number;
}

export interface TimeBound {
  readonly side: 'lower' | 'upper' | 'both';
  /** `<` or `>`: the bound's own value is outside. */
  readonly strict: boolean;
  readonly expression: SqlNode;
}

export interface GuardContext {
  /** The database bare names mean. */
  readonly database: string;
  /** Start of the names references are rewritten to (default `__weir_t`): views `<prefix>0`, `<prefix>1`… */
  readonly viewPrefix?: string;
  /** The table's exact catalog name in `database`, or undefined when it has none. */
  resolve(database: string, table: string): { database: string; table: string } | undefined;
}

/**
 * Checks the query node and rewrites its table references in place (to `__weir_t0`, …); answers one
 * TableUse per reference. Throws QueryRefusedError or TABLE_NOT_FOUND.
 */
export function guardQuery(root: SqlNode, context: GuardContext): TableUse[] {
  const guard = new Guard(context);
  guard.walk(root, new Set());
  return guard.uses;
}

class Guard {
  readonly uses: TableUse[] = [];
  /** References already rewritten (with their SELECT's time bounds). */
  private readonly rewritten = new WeakSet<SqlNode>();

  constructor(private readonly context: GuardContext) {}

  walk(value: unknown, ctes: ReadonlySet<string>): void {
    if (Array.isArray(value)) {
      for (const item of value) this.walk(item, ctes);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as SqlNode;
    let scope = ctes;
    /** Where a recursive CTE's own name binds to itself: its recursive term only. */
    let recursiveTerm: { key: string; scope: ReadonlySet<string> } | undefined;
    if (typeof node.type === 'string' && QUERY_NODE_KINDS.has(node.type)) {
      scope = withCtes(node, ctes);
      const own = node.ctename ?? node.cte_name;
      const term = SELF_REFERENCING_PART[node.type];
      if (typeof own === 'string' && term !== undefined)
        recursiveTerm = { key: term, scope: new Set([...scope, foldName(own)]) };
      if (node.type === 'SELECT_NODE') this.boundTimes(node, scope);
    }
    // The engine binds its own parameters (each reference's file list): a statement's own would
    // take their values.
    if (node.class === 'PARAMETER')
      throw new QueryRefusedError('parameters ($1, ?, $name); write values into the statement');
    if (isTableRef(node)) checkTableRef(node);
    if (typeof node.function_name === 'string') checkFunction(node.function_name);
    if (node.at_clause !== undefined && node.at_clause !== null)
      throw new QueryRefusedError('AT (time travel) clauses; use as_of instead');
    if (node.type === 'BASE_TABLE' && isTableRef(node)) {
      if (!this.rewritten.has(node)) this.useTable(node, scope, []);
      return;
    }
    for (const [key, child] of Object.entries(node)) {
      if (key === 'cte_map') this.walkCtes(child, ctes);
      else this.walk(child, key === recursiveTerm?.key ? recursiveTerm.scope : scope);
    }
  }

  /**
   * A WITH list as DuckDB binds it: each entry sees the names outside and the entries before it,
   * never itself or a later one (`WITH a AS (FROM b), b AS (…)` reads table b in a). Seeing more
   * here would leave a real table reference unchecked, for DuckDB to read as a file.
   */
  private walkCtes(cteMap: unknown, outer: ReadonlySet<string>): void {
    let visible = outer;
    for (const entry of (cteMap as { map?: { key: string; value: unknown }[] } | null)?.map ?? []) {
      this.walk(entry.value, visible);
      visible = new Set([...visible, foldName(entry.key)]);
    }
  }

  private useTable(node: SqlNode, ctes: ReadonlySet<string>, bounds: TimeBound[]): void {
    const catalog = String(node.catalog_name ?? '');
    const schema = String(node.schema_name ?? '');
    const name = String(node.table_name ?? '');
    if (catalog !== '')
      throw new QueryRefusedError(`three-part name ${catalog}.${schema}.${name}; use database.table`);
    if (schema === '' && ctes.has(foldName(name))) return;
    const database = schema === '' ? this.context.database : schema;
    const found = this.context.resolve(database, name);
    if (!found) {
      throw new QueryError('TABLE_NOT_FOUND', `table ${database}.${name} does not exist`, 404, {
        database,
        table: name,
      });
    }
    const view = `${this.context.viewPrefix ?? '__weir_t'}${this.uses.length}`;
    const hasAlias = node.alias !== '' && node.alias !== undefined;
    const location = typeof node.query_location === 'number' ? node.query_location : -1;
    this.uses.push({ ...found, view, bounds, written: { schema, name, hasAlias, location } });
    // Qualified column references (`cpu.host`) keep working through the alias.
    if (!hasAlias) node.alias = name;
    node.schema_name = '';
    node.table_name = view;
    this.rewritten.add(node);
  }

  /**
   * Base tables directly in this SELECT's FROM (through joins, not subqueries) get the time bounds of
   * its WHERE's top-level AND terms that compare their `time` with a column-free expression.
   */
  private boundTimes(select: SqlNode, ctes: ReadonlySet<string>): void {
    const direct: SqlNode[] = [];
    const collect = (ref: unknown): void => {
      const r = ref as SqlNode | null;
      if (!r || typeof r !== 'object') return;
      if (r.type === 'BASE_TABLE') direct.push(r);
      else if (r.type === 'JOIN') {
        collect(r.left);
        collect(r.right);
      }
    };
    collect(select.from_table);
    const terms = conjuncts(select.where_clause);
    for (const ref of direct) {
      if (ref.at_clause !== undefined && ref.at_clause !== null)
        throw new QueryRefusedError('AT (time travel) clauses; use as_of instead');
      const names = new Set([String(ref.alias || ref.table_name).toLowerCase()]);
      const isTime = (columns: string[]) =>
        columns.length === 1
          ? direct.length === 1 && columns[0]!.toLowerCase() === 'time'
          : columns.length === 2 &&
            names.has(columns[0]!.toLowerCase()) &&
            columns[1]!.toLowerCase() === 'time';
      const bounds = terms.flatMap((term) => timeBound(term, isTime) ?? []);
      this.useTable(ref, ctes, bounds);
    }
  }
}

function withCtes(node: SqlNode, outer: ReadonlySet<string>): ReadonlySet<string> {
  const entries = (node.cte_map as { map?: { key: string }[] } | undefined)?.map ?? [];
  if (entries.length === 0) return outer;
  return new Set([...outer, ...entries.map((e) => foldName(e.key))]);
}

/**
 * A name as DuckDB compares names: ASCII letters folded, nothing else (`"\u212A"`, the Kelvin
 * sign, is not `k` to DuckDB, though JavaScript's toLowerCase makes it one).
 */
function foldName(name: string): string {
  return name.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

function isTableRef(node: SqlNode): boolean {
  return typeof node.type === 'string' && 'sample' in node && !('class' in node) && !('select_list' in node);
}

function checkTableRef(node: SqlNode): void {
  const kind = node.type as string;
  if (!TABLE_REF_KINDS.has(kind))
    throw new QueryRefusedError(`${kind.toLowerCase().replaceAll('_', ' ')} in FROM`);
  if (kind === 'TABLE_FUNCTION') {
    const fn = node.function as SqlNode | undefined;
    const name = String(fn?.function_name ?? '').toLowerCase();
    if (!ALLOWED_TABLE_FUNCTIONS.has(name)) {
      throw new QueryRefusedError(
        `table function ${name || '(unknown)'}: only ${[...ALLOWED_TABLE_FUNCTIONS].join(', ')} may be used in FROM; ` +
          'tables are read by name',
        { function: name },
      );
    }
  }
}

function checkFunction(name: string): void {
  const lower = name.toLowerCase();
  if (REFUSED_FUNCTION.test(lower))
    throw new QueryRefusedError(`function ${lower} reads outside the query's tables`, { function: lower });
}

function conjuncts(where: unknown): SqlNode[] {
  const node = where as SqlNode | null;
  if (!node || typeof node !== 'object') return [];
  if (node.type === 'CONJUNCTION_AND') return (node.children as SqlNode[]).flatMap(conjuncts);
  return [node];
}

const COMPARISONS: Record<string, { left: TimeBound['side']; right: TimeBound['side'] }> = {
  // `time OP x` bounds time from the `left` side; `x OP time` from the `right` side.
  COMPARE_GREATERTHAN: { left: 'lower', right: 'upper' },
  COMPARE_GREATERTHANOREQUALTO: { left: 'lower', right: 'upper' },
  COMPARE_LESSTHAN: { left: 'upper', right: 'lower' },
  COMPARE_LESSTHANOREQUALTO: { left: 'upper', right: 'lower' },
  COMPARE_EQUAL: { left: 'both', right: 'both' },
};

function timeBound(term: SqlNode, isTime: (columns: string[]) => boolean): TimeBound[] | undefined {
  const isTimeRef = (n: unknown) =>
    (n as SqlNode | null)?.class === 'COLUMN_REF' && isTime((n as { column_names: string[] }).column_names);
  if (
    term.type === 'COMPARE_BETWEEN' &&
    isTimeRef(term.input) &&
    constant(term.lower) &&
    constant(term.upper)
  ) {
    return [
      { side: 'lower', strict: false, expression: term.lower as SqlNode },
      { side: 'upper', strict: false, expression: term.upper as SqlNode },
    ];
  }
  const sides = COMPARISONS[String(term.type)];
  if (!sides) return undefined;
  const strict = term.type === 'COMPARE_GREATERTHAN' || term.type === 'COMPARE_LESSTHAN';
  if (isTimeRef(term.left) && constant(term.right))
    return [{ side: sides.left, strict, expression: term.right as SqlNode }];
  if (isTimeRef(term.right) && constant(term.left))
    return [{ side: sides.right, strict, expression: term.left as SqlNode }];
  return undefined;
}

/**
 * Functions a time bound may call and still be evaluated for pruning. Bounds are evaluated while
 * planning, on the parser connection every tenant shares and with no time limit, so nothing that
 * can take long or build something large (`range`, `repeat`, list functions…) may run there: a
 * bound calling anything else prunes nothing, which is always correct.
 */
const TIME_BOUND_FUNCTIONS = new Set([
  '+',
  '-',
  '*',
  '/',
  '//',
  '%',
  'now',
  'current_timestamp',
  'get_current_timestamp',
  'transaction_timestamp',
  'today',
  'current_date',
  'to_timestamp',
  'epoch_ms',
  'make_timestamp',
  'make_timestamptz',
  'make_timestamp_ns',
  'make_date',
  'date_trunc',
  'datetrunc',
  'time_bucket',
  'date_add',
  'date_sub',
  'strptime',
  'try_strptime',
  'timezone',
  'last_day',
  'greatest',
  'least',
  'trunc',
  'round',
  'floor',
  'ceil',
  'abs',
  'to_millennia',
  'to_centuries',
  'to_decades',
  'to_years',
  'to_quarters',
  'to_months',
  'to_weeks',
  'to_days',
  'to_hours',
  'to_minutes',
  'to_seconds',
  'to_milliseconds',
  'to_microseconds',
]);

/**
 * No column, subquery or parameter inside (the value is the same for every row), and cheap to
 * evaluate: only constants, casts, operators and TIME_BOUND_FUNCTIONS.
 */
export function constant(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(constant);
  if (value === null || typeof value !== 'object') return true;
  const node = value as SqlNode;
  if (['COLUMN_REF', 'SUBQUERY', 'PARAMETER', 'WINDOW', 'LAMBDA'].includes(String(node.class))) return false;
  if (node.class === 'FUNCTION' && !TIME_BOUND_FUNCTIONS.has(String(node.function_name).toLowerCase()))
    return false;
  return Object.values(node).every(constant);
}
