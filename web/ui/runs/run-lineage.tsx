/**
 * What one run turned into what, file by file (a compaction's inputs and output share a partition,
 * so only files show what it did). Clicking a file opens its partition's lineage downstream.
 */
import { useMemo } from 'preact/hooks';
import { useClient } from '../api.js';
import { AsyncView } from '../common.js';
import type { GraphEdge, GraphNode } from '../lineage/layout.js';
import { LineageGraph } from '../lineage/lineage-graph.js';
import { lineageHref } from '../lineage/lineage-page.js';
import { useAsync } from '../use-async.js';

interface End {
  path: string;
  database: string;
  table: string;
  partition: string;
}

/** The run's edges as the server records them (the SDK types them loosely). */
interface RunEdge {
  kind: string;
  input: End;
  output: End;
}

/** A file's box: its table and partition, then its name. */
const fileLines = (end: End) => [
  `${end.database}.${end.table}/${end.partition}`,
  end.path.slice(end.path.lastIndexOf('/') + 1),
];

function fileGraph(edges: readonly RunEdge[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const links = new Map<string, GraphEdge>();
  for (const edge of edges) {
    for (const end of [edge.input, edge.output]) nodes.set(end.path, { id: end.path, lines: fileLines(end) });
    const id = `${edge.input.path}->${edge.output.path}`;
    links.set(id, { id, from: edge.input.path, to: edge.output.path, label: edge.kind });
  }
  return { nodes: [...nodes.values()], edges: [...links.values()] };
}

/** `status`: lineage is recorded as tasks finish, so it is read again when the run moves on. */
export function RunLineage(props: { runId: string; status: string }) {
  const client = useClient();
  const lineage = useAsync(() => client.runs.lineage(props.runId), [client, props.runId, props.status]);
  return (
    <section class="panel">
      <h2>Lineage of this run</h2>
      <AsyncView value={lineage} what="lineage">
        {(answer) =>
          answer.edges.length === 0 ? (
            <div class="muted empty">The run recorded no lineage (it read or wrote no data files).</div>
          ) : (
            <RunLineageGraph edges={answer.edges as unknown as RunEdge[]} />
          )
        }
      </AsyncView>
    </section>
  );
}

function RunLineageGraph(props: { edges: readonly RunEdge[] }) {
  const graph = useMemo(() => fileGraph(props.edges), [props.edges]);
  const partitionLineage = (path: string) => {
    const end = props.edges.flatMap((e) => [e.input, e.output]).find((e) => e.path === path)!;
    const table = `${end.database}.${end.table}`;
    return lineageHref({ table, partition: end.partition, direction: 'downstream', depth: 5 });
  };
  return <LineageGraph nodes={graph.nodes} edges={graph.edges} nodeHref={partitionLineage} />;
}
