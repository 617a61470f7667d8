/**
 * The most rows a statement's answer can have, known before it runs. Joins, unions and
 * subqueries of row sources yield at most Π(rowsᵢ + 1) rows (an outer join or a union of `a` and
 * `b` rows gives at most a + b ≤ (a + 1)(b + 1)); aggregates and filters only shrink that. Row
 * sources are the table references, each VALUES list, and each SELECT (one without FROM yields
 * one row). What makes rows out of nothing has no bound: table functions (`range`,
 * `generate_series`, `unnest`), `unnest` in a select list, and recursive CTEs. Nor is a statement
 * with a CTE bounded: each reference to it is another source of its rows, and they are not counted.
 * A constant LIMIT on the statement itself bounds it too, whatever it reads.
 */
import { nodesOf, type SqlNode } from './parser.js';

const ROW_MAKING_FUNCTIONS = new Set(['unnest', 'unlist']);

/** Rows of each source other than table references, or undefined when some source has no bound. */
function otherSources(root: SqlNode): number[] | undefined {
  const lists: number[] = [];
  for (const node of nodesOf(root)) {
    if (node.type === 'TABLE_FUNCTION' || node.type === 'RECURSIVE_CTE_NODE') return undefined;
    const ctes = (node.cte_map as { map?: unknown[] } | undefined)?.map;
    if (Array.isArray(ctes) && ctes.length > 0) return undefined;
    if (node.class === 'FUNCTION' && ROW_MAKING_FUNCTIONS.has(String(node.function_name).toLowerCase()))
      return undefined;
    if (node.type === 'EXPRESSION_LIST' && Array.isArray(node.values)) lists.push(node.values.length);
    if (node.type === 'SELECT_NODE') lists.push(1);
  }
  return lists;
}

/** The statement's own result modifiers (ORDER BY, LIMIT, LIMIT n%, DISTINCT ON). */
function modifiersOf(root: SqlNode): SqlNode[] {
  return Array.isArray(root.modifiers) ? (root.modifiers as SqlNode[]) : [];
}

/** The statement's own `LIMIT n` when n is a constant, else undefined. */
function ownLimit(root: SqlNode): number | undefined {
  const limit = modifiersOf(root).find((m) => m.type === 'LIMIT_MODIFIER')?.limit as SqlNode | undefined;
  if (limit?.type !== 'VALUE_CONSTANT') return undefined;
  const value = (limit.value as { is_null?: boolean; value?: unknown } | undefined) ?? {};
  return !value.is_null && Number.isSafeInteger(value.value) && Number(value.value) >= 0
    ? Number(value.value)
    : undefined;
}

/** The bound, or undefined when there is none (or it passes 2^53). */
export function answerRowBound(root: SqlNode, referenceRows: readonly number[]): number | undefined {
  const limit = ownLimit(root);
  const others = otherSources(root);
  if (others === undefined) return limit;
  let bound = 1;
  for (const rows of [...referenceRows, ...others]) {
    bound *= rows + 1;
    if (!Number.isSafeInteger(bound)) return limit;
  }
  return limit === undefined ? bound : Math.min(bound, limit);
}

/**
 * A copy of the statement that answers at most `rows` of its rows (the first ones, in its order),
 * or undefined when it has a LIMIT (or LIMIT n%) of its own: two would not mean one.
 */
export function withRowLimit(root: SqlNode, rows: number): SqlNode | undefined {
  if (!Array.isArray(root.modifiers) || modifiersOf(root).some((m) => String(m.type).startsWith('LIMIT')))
    return undefined;
  const limit = {
    type: 'LIMIT_MODIFIER',
    limit: {
      class: 'CONSTANT',
      type: 'VALUE_CONSTANT',
      alias: '',
      query_location: 0,
      value: { type: { id: 'BIGINT', type_info: null }, is_null: false, value: rows },
    },
    offset: null,
  };
  return { ...root, modifiers: [...(root.modifiers as SqlNode[]), limit] };
}
