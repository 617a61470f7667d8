/**
 * The guarded statement as the engine runs it, without asking DuckDB to render the rewritten tree:
 * the guard changes nothing but table references, so the user's own text with each reference's
 * name replaced by its view is the same statement. Each name is found where DuckDB's parser says it
 * starts and must read back exactly as the parser read it; when one does not (comments inside a
 * name, text that is not ASCII so byte and character offsets differ), the caller renders instead.
 */
import type { TableUse } from './guard.js';
import { sqlIdentifier } from './sql.js';

const SPACE = /[ \t\r\n]/;
const UNQUOTED_START = /[A-Za-z_]/;
const UNQUOTED_PART = /[A-Za-z0-9_$]/;

/** An identifier at `start`: its value and where it ends, or undefined. */
function identifierAt(sql: string, start: number): { value: string; end: number } | undefined {
  if (sql[start] === '"') {
    let value = '';
    for (let i = start + 1; i < sql.length; i++) {
      if (sql[i] !== '"') value += sql[i];
      else if (sql[i + 1] === '"') {
        value += '"';
        i++;
      } else return { value, end: i + 1 };
    }
    return undefined;
  }
  if (!UNQUOTED_START.test(sql[start] ?? '')) return undefined;
  let end = start + 1;
  while (end < sql.length && UNQUOTED_PART.test(sql[end]!)) end++;
  return { value: sql.slice(start, end), end };
}

function skipSpace(sql: string, at: number): number {
  while (at < sql.length && SPACE.test(sql[at]!)) at++;
  return at;
}

/** Where the reference's name (`schema.table` or `table`) ends, when it reads back as written. */
function referenceEnd(sql: string, use: TableUse): number | undefined {
  const { schema, name, location } = use.written;
  const first = identifierAt(sql, location);
  if (!first) return undefined;
  let end = first.end;
  let table = first;
  const dot = skipSpace(sql, end);
  if (schema !== '') {
    if (first.value !== schema || sql[dot] !== '.') return undefined;
    const second = identifierAt(sql, skipSpace(sql, dot + 1));
    if (!second) return undefined;
    table = second;
    end = second.end;
  } else if (sql[dot] === '.') return undefined;
  return table.value === name ? end : undefined;
}

/**
 * `sql` with every reference replaced by its view (named as before, through an alias, when it had
 * none), or undefined when a reference cannot be found in the text exactly.
 */
export function spliceReferences(sql: string, uses: readonly TableUse[]): string | undefined {
  if (Buffer.byteLength(sql) !== sql.length) return undefined;
  const spans: { start: number; end: number; text: string }[] = [];
  for (const use of uses) {
    const start = use.written.location;
    const end = referenceEnd(sql, use);
    if (end === undefined) return undefined;
    const alias = use.written.hasAlias ? '' : ` AS ${sqlIdentifier(use.written.name)}`;
    // Spaces keep the name from running into a neighbour (`FROM"cpu"c` is legal SQL).
    spans.push({ start, end, text: ` ${use.view}${alias} ` });
  }
  spans.sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const span of spans) {
    if (span.start < at) return undefined;
    out += sql.slice(at, span.start) + span.text;
    at = span.end;
  }
  return out + sql.slice(at);
}
