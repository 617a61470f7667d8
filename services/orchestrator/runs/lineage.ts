/**
 * Lineage by execution: walks the edges tasks reported (what they actually read and wrote)
 * upstream or downstream from a table, a partition or a file, to a depth.
 */
import type { LineageEdge } from './events.js';

export type LineageLevel = 'table' | 'partition' | 'file';

export interface LineageQuery {
  /** `db.table`, `db.table/date=…/hour=…` or a file key, matching `level`. */
  node: string;
  level: LineageLevel;
  direction: 'upstream' | 'downstream';
  depth: number;
}

export interface LineageGraph {
  root: string;
  nodes: { id: string; depth: number }[];
  edges: { from: string; to: string; runId: string; taskId: string; kind: string }[];
}

export function nodeId(end: LineageEdge['input'], level: LineageLevel): string {
  const table = `${end.database}.${end.table}`;
  if (level === 'table') return table;
  if (level === 'partition') return `${table}/${end.partition}`;
  return end.path;
}

export function walkLineage(all: readonly LineageEdge[], query: LineageQuery): LineageGraph {
  const forward = query.direction === 'downstream';
  const adjacency = new Map<string, { next: string; edge: LineageGraph['edges'][number] }[]>();
  const seenEdges = new Set<string>();
  for (const e of all) {
    const from = nodeId(e.input, query.level);
    const to = nodeId(e.output, query.level);
    if (from === to) continue; // compaction within one partition/table is not a lineage step at that level
    const key = `${from}\u0000${to}\u0000${e.runId}`;
    if (seenEdges.has(key)) continue;
    seenEdges.add(key);
    const start = forward ? from : to;
    const list = adjacency.get(start) ?? [];
    list.push({
      next: forward ? to : from,
      edge: { from, to, runId: e.runId, taskId: e.taskId, kind: e.kind },
    });
    adjacency.set(start, list);
  }
  const depthOf = new Map<string, number>([[query.node, 0]]);
  const edges: LineageGraph['edges'] = [];
  let frontier = [query.node];
  for (let depth = 1; depth <= query.depth && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const node of frontier) {
      for (const { next: other, edge } of adjacency.get(node) ?? []) {
        edges.push(edge);
        if (!depthOf.has(other)) {
          depthOf.set(other, depth);
          next.push(other);
        }
      }
    }
    frontier = next;
  }
  const nodes = [...depthOf]
    .map(([id, depth]) => ({ id, depth }))
    .sort((a, b) => a.depth - b.depth || (a.id < b.id ? -1 : 1));
  return { root: query.node, nodes, edges };
}
