/**
 * A lineage graph drawn as SVG: boxes for tables (or partitions, or files), arrows in the direction
 * data flowed, each labelled with the kind of run that moved it. Nodes and edges are links the
 * caller names (re-rooting the graph, opening the run).
 */
import { useMemo } from 'preact/hooks';
import { curvePath, type GraphEdge, type GraphNode, layoutGraph } from './layout.js';

export interface LineageGraphProps {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  /** The node drawn as the root. */
  readonly root?: string;
  readonly nodeHref: (id: string) => string;
  readonly edgeHref?: (id: string) => string;
}

const LINE_HEIGHT = 16;

export function LineageGraph(props: LineageGraphProps) {
  const layout = useMemo(() => layoutGraph(props.nodes, props.edges), [props.nodes, props.edges]);
  return (
    <div class="graph-scroll">
      <svg
        data-testid="lineage-graph"
        class="lineage-graph"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        aria-label="Lineage graph"
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto"
          >
            <path d="M0,0L10,5L0,10z" class="arrow-head" />
          </marker>
        </defs>
        {layout.edges.map((edge) => {
          const drawn = (
            <g key={edge.id} data-edge={edge.id} class="edge">
              <title>{`${edge.from} → ${edge.to} (${edge.label})`}</title>
              <path d={curvePath(edge.points)} marker-end="url(#arrow)" />
              <text x={edge.labelAt.x} y={edge.labelAt.y + 4} text-anchor="middle" class="edge-label">
                {edge.label}
              </text>
            </g>
          );
          return props.edgeHref ? (
            <a key={edge.id} href={props.edgeHref(edge.id)} class="edge-link">
              {drawn}
            </a>
          ) : (
            drawn
          );
        })}
        {layout.nodes.map((node) => {
          const top = node.y - node.height / 2;
          return (
            <a key={node.id} href={props.nodeHref(node.id)} class="node-link">
              <g data-node={node.id} class={node.id === props.root ? 'node root' : 'node'}>
                <title>{node.id}</title>
                <rect x={node.x - node.width / 2} y={top} width={node.width} height={node.height} rx={4} />
                {node.lines.map((line, i) => (
                  <text
                    key={i}
                    x={node.x}
                    y={top + 8 + LINE_HEIGHT * (i + 0.5) + 4}
                    text-anchor="middle"
                    class={i === 0 ? 'node-label' : 'node-sublabel'}
                  >
                    {line}
                  </text>
                ))}
              </g>
            </a>
          );
        })}
      </svg>
    </div>
  );
}
