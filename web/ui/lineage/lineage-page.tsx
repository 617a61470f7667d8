/**
 * Lineage by execution: what a table (or one of its partitions) was made from, or what was made
 * from it, to a depth. The address holds the question
 * (`#/lineage?table=db.t&direction=upstream&depth=5`); clicking a node asks it about that node.
 */
import { useMemo } from 'preact/hooks';
import type { LineageGraph as LineageAnswer } from '../../../sdk/index.js';
import { useClient } from '../api.js';
import { AsyncView, Empty, PageHeader } from '../common.js';
import { href, navigate } from '../router.js';
import { useAsync } from '../use-async.js';
import { LineageControls, type LineageQuestion } from './lineage-controls.js';
import { LineageEdges } from './lineage-edges.js';
import { LineageGraph } from './lineage-graph.js';
import { nodeLines, rootOf } from './nodes.js';

const DEFAULT_DEPTH = 5;

function questionOf(params: URLSearchParams): LineageQuestion {
  const depth = Number(params.get('depth') ?? DEFAULT_DEPTH);
  return {
    table: params.get('table') ?? '',
    partition: params.get('partition') ?? '',
    direction: params.get('direction') === 'downstream' ? 'downstream' : 'upstream',
    depth: Number.isInteger(depth) && depth >= 1 ? Math.min(depth, 100) : DEFAULT_DEPTH,
  };
}

export const lineageHref = (question: LineageQuestion): string =>
  href(['lineage'], { ...question, partition: question.partition || undefined });

/** Each API edge is drawn; its id tells apart several runs between the same two nodes. */
const edgeId = (edge: LineageAnswer['edges'][number]) => `${edge.from}->${edge.to}#${edge.runId}`;

export function LineagePage(props: { params: URLSearchParams }) {
  const client = useClient();
  const question = questionOf(props.params);
  const { table, partition, direction, depth } = question;
  const graph = useAsync(
    () =>
      table
        ? client.lineage({ table, direction, depth, ...(partition ? { partition } : {}) })
        : Promise.resolve(undefined),
    [client, table, partition, direction, depth],
  );

  /** The same question about another node: clicking a node re-roots the graph there. */
  const rerooted = (id: string) => {
    const root = rootOf(id);
    return lineageHref({ ...question, table: root.table, partition: root.partition ?? '' });
  };

  return (
    <div>
      <PageHeader title="Lineage" />
      <LineageControls question={question} onAsk={(next) => navigate(lineageHref(next))} />
      {!table ? (
        <Empty>
          Choose a table to see what it was made from (upstream) or what was made from it (downstream).
        </Empty>
      ) : (
        <AsyncView value={graph} what="lineage">
          {(answer) => answer && <LineageAnswerView answer={answer} depth={depth} nodeHref={rerooted} />}
        </AsyncView>
      )}
    </div>
  );
}

function LineageAnswerView(props: {
  answer: LineageAnswer;
  depth: number;
  nodeHref: (id: string) => string;
}) {
  const { answer } = props;
  const nodes = useMemo(() => answer.nodes.map((n) => ({ id: n.id, lines: nodeLines(n.id) })), [answer]);
  const edges = useMemo(
    () => answer.edges.map((e) => ({ id: edgeId(e), from: e.from, to: e.to, label: e.kind })),
    [answer],
  );
  const runHref = (id: string) => href(['runs', answer.edges.find((e) => edgeId(e) === id)?.runId ?? '']);
  return (
    <>
      <p class="muted note">
        {answer.nodes.length} nodes, {answer.edges.length} edges at {answer.level} level, {answer.direction}{' '}
        of <strong>{answer.root}</strong> to depth {props.depth}. Click a node to re-root it; click an edge to
        open its run.
      </p>
      <LineageGraph
        nodes={nodes}
        edges={edges}
        root={answer.root}
        nodeHref={props.nodeHref}
        edgeHref={runHref}
      />
      <LineageEdges edges={answer.edges} />
    </>
  );
}
