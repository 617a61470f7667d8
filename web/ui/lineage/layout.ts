/**
 * Lays a lineage graph out left to right with dagre: where each node's box goes, and the path and
 * label position of each edge. Parallel edges (several runs between the same nodes) stay apart.
 */
import dagre from '@dagrejs/dagre';

export interface GraphNode {
  readonly id: string;
  /** Lines of the node's label. */
  readonly lines: readonly string[];
}

export interface GraphEdge {
  /** Unique among the graph's edges. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface PlacedNode extends GraphNode {
  /** Centre of the box. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge extends GraphEdge {
  readonly points: readonly Point[];
  readonly labelAt: Point;
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
}

/** Character width and line height of the labels' 12px monospace font. */
const CHAR_WIDTH = 7.3;
const LINE_HEIGHT = 16;
const PADDING_X = 12;
const PADDING_Y = 8;
const MARGIN = 16;

export function layoutGraph(nodes: readonly GraphNode[], edges: readonly GraphEdge[]): Layout {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 70, edgesep: 12, marginx: MARGIN, marginy: MARGIN });
  for (const node of nodes) {
    const longest = Math.max(...node.lines.map((line) => line.length));
    graph.setNode(node.id, {
      width: longest * CHAR_WIDTH + 2 * PADDING_X,
      height: node.lines.length * LINE_HEIGHT + 2 * PADDING_Y,
    });
  }
  // An edge to a node the graph lacks would make dagre invent a box without a size.
  const known = new Set(nodes.map((n) => n.id));
  const drawn = edges.filter((e) => known.has(e.from) && known.has(e.to));
  for (const edge of drawn) {
    graph.setEdge(
      edge.from,
      edge.to,
      { width: edge.label.length * 6.2 + 6, height: 14, labelpos: 'c' },
      edge.id,
    );
  }
  dagre.layout(graph);

  const placedNodes = nodes.map((node) => {
    const box = graph.node(node.id);
    return { ...node, x: box.x, y: box.y, width: box.width, height: box.height };
  });
  const placedEdges = drawn.map((edge) => {
    const route = graph.edge({ v: edge.from, w: edge.to, name: edge.id });
    const points: Point[] = route.points ?? [];
    const middle = points[Math.floor(points.length / 2)] ?? { x: 0, y: 0 };
    return { ...edge, points, labelAt: { x: route.x ?? middle.x, y: route.y ?? middle.y } };
  });
  const size = graph.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, nodes: placedNodes, edges: placedEdges };
}

/** A smooth SVG path through the points (the B-spline d3 calls curveBasis). */
export function curvePath(points: readonly Point[]): string {
  const [first, second] = points;
  if (!first) return '';
  if (!second) return `M${first.x},${first.y}`;
  const last = points[points.length - 1]!;
  let d = `M${first.x},${first.y}L${(5 * first.x + second.x) / 6},${(5 * first.y + second.y) / 6}`;
  const sequence = [...points, last];
  for (let i = 2; i < sequence.length; i++) {
    const a = sequence[i - 2]!;
    const b = sequence[i - 1]!;
    const c = sequence[i]!;
    d += `C${(2 * a.x + b.x) / 3},${(2 * a.y + b.y) / 3},${(a.x + 2 * b.x) / 3},${(a.y + 2 * b.y) / 3},${(a.x + 4 * b.x + c.x) / 6},${(a.y + 4 * b.y + c.y) / 6}`;
  }
  return `${d}L${last.x},${last.y}`;
}
