/**
 * Which columns of each referenced table a statement may read (a superset), from its parsed tree:
 * the browser console downloads only those column chunks. DuckDB serializes `*`, `t.*`,
 * `* EXCLUDE (…)` and `COLUMNS(…)` as STAR nodes (any of them reads every column); `count(*)` and
 * any other `f(*)` as a function of no argument (reads none). A positional reference (`#2`) may
 * be any column. A bare name that is a table's name
 * or alias (`SELECT cpu FROM cpu`) is the whole row; a NATURAL join reads the columns the tables
 * share, which the tree does not name.
 */
import type { ColumnDef } from '../../catalog/index.js';
import { nodesOf, type SqlNode } from './parser.js';

/** What the statement names, lowercased. */
export interface NamedColumns {
  /** A STAR, a positional reference or a NATURAL join: every column of every table. */
  readonly all: boolean;
  /** Every component of every column reference, and every USING column. */
  readonly names: ReadonlySet<string>;
  /** Column references of one component (a table's name there stands for its whole row). */
  readonly bare: ReadonlySet<string>;
  /** The alias of each base table reference, by the name it reads (after the guard: its view). */
  readonly aliases: ReadonlyMap<string, string>;
}

export function namedColumns(root: SqlNode): NamedColumns {
  const names = new Set<string>();
  const bare = new Set<string>();
  const aliases = new Map<string, string>();
  let all = false;
  for (const node of nodesOf(root)) {
    if (node.type === 'BASE_TABLE' && typeof node.table_name === 'string')
      aliases.set(node.table_name, String(node.alias ?? ''));
    if (node.class === 'STAR' || node.class === 'POSITIONAL_REFERENCE') all = true;
    else if (node.type === 'JOIN' && node.ref_type === 'NATURAL') all = true;
    else if (node.class === 'COLUMN_REF' && Array.isArray(node.column_names)) {
      const parts = node.column_names.map((part) => String(part).toLowerCase());
      for (const part of parts) names.add(part);
      if (parts.length === 1) bare.add(parts[0]!);
    }
    if (node.type === 'JOIN' && Array.isArray(node.using_columns))
      for (const name of node.using_columns) names.add(String(name).toLowerCase());
  }
  return { all, names, bare, aliases };
}

/**
 * The columns of a reference's table the statement may read, in table order, `time` always among
 * them. `relation`: the name the reference reads (its view); `written`: its table name as written.
 */
export function readColumnsOf(
  named: NamedColumns,
  columns: readonly ColumnDef[],
  relation: string,
  written: string,
): string[] {
  const names = [written, named.aliases.get(relation) ?? ''];
  const whole = named.all || names.some((name) => named.bare.has(name.toLowerCase()));
  return columns
    .filter((c) => whole || c.name === 'time' || named.names.has(c.name.toLowerCase()))
    .map((c) => c.name);
}
