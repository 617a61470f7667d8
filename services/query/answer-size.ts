/**
 * The most rows a statement's answer can have, known before it runs. Joins, unions and
 * subqueries of row sources yield at most Π(rowsᵢ + 1) rows (an outer join or a union of `a` and
 * `b` rows gives at most a + b ≤ (a + 1)(b + 1)); aggregates and filters only shrink that. Row
 * sources are the table references, each VALUES list, and each SELECT (one without FROM yields
 * one row). What makes rows out of nothing has no bound: table functions (`range`,
 * `generate_series`, `unnest`), `unnest` in a select list, and recursive CTEs.
 */
import { nodesOf, type SqlNode } from './parser.js';

const ROW_MAKING_FUNCTIONS = new Set(['unnest', 'unlist']);

/** Rows of each source other than table references, or undefined when some source has no bound. */
function otherSources(root: SqlNode): number[] | undefined {
  const lists: number[] = [];
  for (const node of nodesOf(root)) {
    if (node.type === 'TABLE_FUNCTION' || node.type === 'RECURSIVE_CTE_NODE') return undefined;
    if (node.class === 'FUNCTION' && ROW_MAKING_FUNCTIONS.has(String(node.function_name).toLowerCase()))
      return undefined;
    if (node.type === 'EXPRESSION_LIST' && Array.isArray(node.values)) lists.push(node.values.length);
    if (node.type === 'SELECT_NODE') lists.push(1);
  }
  return lists;
}

/** The bound, or undefined when there is none (or it passes 2^53). */
export function answerRowBound(root: SqlNode, referenceRows: readonly number[]): number | undefined {
  const others = otherSources(root);
  if (others === undefined) return undefined;
  let bound = 1;
  for (const rows of [...referenceRows, ...others]) {
    bound *= rows + 1;
    if (!Number.isSafeInteger(bound)) return undefined;
  }
  return bound;
}
