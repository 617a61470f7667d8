/**
 * SQL parsing with DuckDB itself (DESIGN.md §7): `json_serialize_sql` gives the statement tree the
 * guard walks, `json_deserialize_sql` turns the rewritten tree back into SQL. The instance that does
 * this can open no file (external access off, configuration locked): it only parses, and evaluates
 * constant time bounds for pruning.
 */
import {
  type DuckDBConnection,
  DuckDBInstance,
  type DuckDBPreparedStatement,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampValue,
} from '@duckdb/node-api';
import { QueryError, QueryRefusedError } from './errors.js';
import { guardQuery } from './guard.js';
import { literalTimestampMicros } from './literals.js';
import { CLOCK_KEYWORDS } from './rows.js';
import { sqlString } from './sql.js';

/** A constant time as DuckDB compares it with a TIMESTAMP column. */
export interface EvaluatedTimestamp {
  micros: bigint;
  /** False when the value has a part below its microsecond (a TIMESTAMP_NS), or may have. */
  exact: boolean;
}

/** A node of DuckDB's serialized statement tree. */
export type SqlNode = { [key: string]: unknown };

/** Every node of a statement tree (objects, through arrays), depth first. */
export function* nodesOf(root: unknown): Generator<SqlNode> {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    const node = value as SqlNode;
    yield node;
    for (const child of Object.values(node))
      if (child !== null && typeof child === 'object') stack.push(child);
  }
}

interface Serialized {
  error: boolean;
  error_type?: string;
  error_message?: string;
  statements?: { node: SqlNode; named_param_map: unknown }[];
}

/** Marks, in JSON text, a number token JSON.parse cannot hold: it is kept as its text (user SQL holds no NUL). */
const NUMBER_MARK_JSON = '\\u0000number:';
/** The same mark in a string read from the tree. */
const NUMBER_MARK = '\u0000number:';
/** Integers of this many digits may lie beyond 2^53, where a JS number would round them. */
const LONG_INTEGER_DIGITS = 16;
const ESCAPED_MARK = /"\\u0000(float|number):([^"]*)"/g;

/**
 * The tree as JSON. "No location" is 2^64 − 1, read as 0. Every other number a JS number cannot
 * hold exactly (an integer past 2^53: a BIGINT, a DECIMAL's scaled value, a HUGEINT half; or
 * DuckDB's bare Infinity and NaN, which JSON.parse refuses) is kept as its text, marked, so the
 * rendered SQL says what the user wrote: `v = 9007199254740993` must not become `…992`.
 */
function readTree(text: string): Serialized {
  const located = text.replaceAll(/"query_location":\d{16,}/g, '"query_location":0');
  return JSON.parse(
    /\d{16}|Infinity|NaN/.test(located) ? markInexactNumbers(located) : located,
  ) as Serialized;
}

/** JSON text with inexact number tokens (outside strings) turned into marked strings. */
function markInexactNumbers(text: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      continue;
    }
    if (c !== 0x2d && (c < 0x30 || c > 0x39) && c !== 0x49 && c !== 0x4e) continue;
    let end = i + 1;
    while (end < text.length && /[\w.+-]/.test(text[end]!)) end++;
    const token = text.slice(i, end);
    const digits = /^-?(\d+)$/.exec(token)?.[1];
    if ((digits !== undefined && digits.length >= LONG_INTEGER_DIGITS) || /^-?(Infinity|NaN)$/.test(token)) {
      out += `${text.slice(from, i)}"${NUMBER_MARK_JSON}${token}"`;
      from = end;
    }
    i = end - 1;
  }
  return out + text.slice(from);
}

const FLOAT_TYPES = new Set(['DOUBLE', 'FLOAT']);
/** Marks a whole-number float constant while the tree is written as JSON (user SQL holds no NUL). */
const FLOAT_MARK = '\u0000float:';

/**
 * The tree as JSON text for DuckDB. A float constant that is a whole number (`1e3`, `10%`) would be
 * written as an integer, which DuckDB refuses for a DOUBLE: it is written with a decimal point.
 * Numbers kept as text when the tree was read are written back as they were.
 */
function treeText(tree: unknown): string {
  const cast = new WeakSet<object>();
  const text = JSON.stringify(tree, function (this: Record<string, unknown>, key, value: unknown) {
    const type = this.type as { id?: unknown } | undefined;
    if (key === 'value' && typeof value === 'number' && FLOAT_TYPES.has(String(type?.id)))
      return `${FLOAT_MARK}${value}`;
    return castFloatConstant(value, cast) ?? value;
  });
  return text.replaceAll(ESCAPED_MARK, (_, mark: string, n: string) =>
    mark === 'number' || /[.eEN]/.test(n) ? n : `${n}.0`,
  );
}

/**
 * A float constant (`1e3`, `1.5e0`, `1e400`) as a cast to its type: DuckDB renders a DOUBLE as
 * `1000.0`, which reads back as a DECIMAL, and cannot read back the bare Infinity or NaN it wrote
 * for a non-finite one (cast from text instead). `cast`: constants already inside such a cast.
 */
function castFloatConstant(value: unknown, cast: WeakSet<object>): SqlNode | undefined {
  const node = value as SqlNode | null;
  if (node?.class !== 'CONSTANT' || cast.has(node)) return undefined;
  const constant = node.value as { type?: { id?: unknown }; value?: unknown } | undefined;
  if (!FLOAT_TYPES.has(String(constant?.type?.id))) return undefined;
  const marked = typeof constant!.value === 'string' ? constant!.value : '';
  const nonFinite = marked.startsWith(NUMBER_MARK) ? marked.slice(NUMBER_MARK.length) : undefined;
  const child: SqlNode =
    nonFinite === undefined
      ? { ...node, alias: '' }
      : {
          ...node,
          alias: '',
          value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value: nonFinite },
        };
  cast.add(child);
  return {
    class: 'CAST',
    type: 'OPERATOR_CAST',
    alias: node.alias,
    query_location: node.query_location,
    child,
    cast_type: constant!.type,
    try_cast: false,
  };
}

export class SqlParser {
  /** One connection, one statement at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    /** Prepared once: a parameterized statement prepared per call costs two more round trips. */
    private readonly serialize: DuckDBPreparedStatement,
    private readonly deserialize: DuckDBPreparedStatement,
    /** A parsed `SELECT 1`, the frame constant expressions are evaluated in. */
    private readonly frame: string,
    /**
     * Functions whose value can differ between calls with the same arguments, in lower case:
     * those DuckDB does not mark CONSISTENT (random(), now(), current_transaction_id(), sleep_ms()…)
     * and the macros that call one (pg_sleep, ago…).
     */
    readonly unstableFunctions: ReadonlySet<string>,
  ) {}

  static async open(): Promise<SqlParser> {
    const instance = await DuckDBInstance.create(':memory:', {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      threads: '1',
    });
    const connection = await instance.connect();
    await lockDown(connection, []);
    const frame = await connection.runAndReadAll(`SELECT json_serialize_sql('SELECT 1')`);
    return new SqlParser(
      instance,
      connection,
      await connection.prepare('SELECT json_serialize_sql($1::VARCHAR)'),
      await connection.prepare('SELECT json_deserialize_sql($1::JSON)'),
      String(frame.getRows()[0]![0]),
      await unstableFunctions(connection),
    );
  }

  /** The statement's query node; refuses anything but exactly one SELECT. */
  async parse(sql: string): Promise<SqlNode> {
    if (sql.includes('\u0000')) throw new QueryError('INVALID_SQL', 'the SQL text contains a NUL character');
    const parsed = readTree(await this.runPrepared(this.serialize, sql));
    if (parsed.error) {
      if (parsed.error_type === 'not implemented')
        throw new QueryRefusedError(
          'only SELECT queries are allowed (no DDL, DML, COPY, ATTACH, SET, PRAGMA…)',
        );
      throw new QueryError('INVALID_SQL', `invalid SQL: ${parsed.error_message ?? 'cannot be parsed'}`);
    }
    const statements = parsed.statements ?? [];
    if (statements.length !== 1)
      throw new QueryRefusedError(`one statement per query, got ${statements.length}`);
    return statements[0]!.node;
  }

  /**
   * SQL text of a (guarded, rewritten) query node, whose only table references are `tables` (the
   * rewritten views). The text is parsed again and guarded again before anyone runs it: DuckDB
   * writes some names without quotes (`"x".*` comes back as `x.*`), so text inside such a name would
   * otherwise run as SQL the guard never saw.
   */
  async render(node: SqlNode, tables: ReadonlySet<string>): Promise<string> {
    const tree = { error: false, statements: [{ node, named_param_map: [] }] };
    const text = await this.runPrepared(this.deserialize, treeText(tree));
    try {
      guardQuery(await this.parse(text), {
        database: '',
        resolve: (database, table) =>
          database === '' && tables.has(table) ? { database, table } : undefined,
      });
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      throw new QueryRefusedError(
        'the statement reads differently once rewritten: DuckDB writes some quoted names without ' +
          'their quotes (such as "a b".*); name that table or alias with letters, digits and underscores',
        { reason: error.message },
      );
    }
    return text;
  }

  /**
   * Constant expressions as TIMESTAMPs in microseconds (UTC), as DuckDB would compare them with the
   * time column; undefined for each that is no timestamp. The caller makes sure they read no column.
   */
  async timestampsMicros(expressions: readonly SqlNode[]): Promise<(bigint | undefined)[]> {
    return (await this.timestamps(expressions)).map((t) => t?.micros);
  }

  /**
   * Like timestampsMicros, and whether each value is exact: a TIMESTAMP_NS with nanoseconds past its
   * microsecond is compared at nanoseconds, so `time < x` may still hold at its microsecond. Plain
   * literals are read here; the rest are evaluated by DuckDB in one statement.
   */
  async timestamps(expressions: readonly SqlNode[]): Promise<(EvaluatedTimestamp | undefined)[]> {
    const values = expressions.map((expression): EvaluatedTimestamp | undefined => {
      const micros = literalTimestampMicros(expression);
      return micros === undefined ? undefined : { micros, exact: true };
    });
    const pending = expressions.flatMap((_, i) => (values[i] === undefined ? [i] : []));
    if (pending.length === 0) return values;
    const evaluated = await this.evaluateTimestamps(pending.map((i) => expressions[i]!)).catch(() =>
      // One expression that fails (a bad literal) must not cost the others their value.
      Promise.all(
        pending.map((i) =>
          this.evaluateTimestamps([expressions[i]!]).then(
            ([v]) => v,
            () => undefined,
          ),
        ),
      ),
    );
    for (const [k, i] of pending.entries()) values[i] = evaluated[k];
    return values;
  }

  private async evaluateTimestamps(
    expressions: readonly SqlNode[],
  ): Promise<(EvaluatedTimestamp | undefined)[]> {
    const statement = readTree(this.frame).statements![0]!.node;
    const cast = (child: SqlNode, id: string) => ({
      class: 'CAST',
      type: 'OPERATOR_CAST',
      alias: '',
      query_location: 0,
      child,
      cast_type: { id, type_info: null },
      try_cast: true,
    });
    statement.select_list = expressions.flatMap((child) => [
      cast(child, 'TIMESTAMP'),
      cast(child, 'TIMESTAMP_NS'),
    ]);
    const sql = await this.render(statement, new Set());
    const result = await this.exclusive(() => this.connection.run(sql));
    const row = result.getChunk(0).getRows()[0] ?? [];
    return expressions.map((_, i) => {
      const [micro, nano] = [row[2 * i], row[2 * i + 1]];
      if (!(micro instanceof DuckDBTimestampValue)) return undefined;
      const exact = nano instanceof DuckDBTimestampNanosecondsValue && nano.nanos === micro.micros * 1000n;
      return { micros: micro.micros, exact };
    });
  }

  /** The text a one-value statement answers for `text`. */
  private runPrepared(statement: DuckDBPreparedStatement, text: string): Promise<string> {
    return this.exclusive(async () => {
      statement.bindVarchar(1, text);
      // The materialized answer's one chunk is read in place: a reader would fetch it (and then
      // the end) through the thread pool, a round trip each.
      const result = await statement.run();
      return String(result.getChunk(0).getColumnVector(0).getItem(0));
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.serialize.destroySync();
    this.deserialize.destroySync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * The second wall of every instance that runs tenant SQL: no file outside `directories`, no
 * extension loading, times compared in UTC, and settings nobody can change afterwards.
 */
/** See SqlParser.unstableFunctions. */
async function unstableFunctions(connection: DuckDBConnection): Promise<ReadonlySet<string>> {
  const functions = await connection.runAndReadAll(
    `SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'scalar' AND stability <> 'CONSISTENT'`,
  );
  const unstable = new Set(functions.getRows().map((row) => String(row[0])));
  const macros = await connection.runAndReadAll(
    `SELECT DISTINCT lower(function_name), lower(macro_definition) FROM duckdb_functions() WHERE function_type = 'macro' AND macro_definition IS NOT NULL`,
  );
  // A macro calling another macro that calls one: repeat until nothing is added.
  const pending = macros.getRows().map((row) => [String(row[0]), String(row[1])] as const);
  for (let added = true; added; ) {
    added = false;
    for (const [name, definition] of pending) {
      if (unstable.has(name)) continue;
      const calls = [...definition.matchAll(/([a-z_][a-z0-9_]*)\s*\(/g)].map((m) => m[1]!);
      const words = definition.match(/[a-z_][a-z0-9_]*/g) ?? [];
      if (words.some((word) => CLOCK_KEYWORDS.has(word)) || calls.some((call) => unstable.has(call))) {
        unstable.add(name);
        added = true;
      }
    }
  }
  return unstable;
}

export async function lockDown(connection: DuckDBConnection, directories: readonly string[]): Promise<void> {
  await connection.run(`SET GLOBAL TimeZone = 'UTC'`);
  if (directories.length > 0) {
    const list = directories.map(sqlString).join(', ');
    await connection.run(`SET allowed_directories = [${list}]`);
  }
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
}
