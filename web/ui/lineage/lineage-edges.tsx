/** The edges of a lineage answer as a table: the same facts as the graph, readable and linkable. */
import type { LineageGraph } from '../../../sdk/index.js';
import { href } from '../router.js';

export function LineageEdges(props: { edges: LineageGraph['edges'] }) {
  if (props.edges.length === 0) return null;
  return (
    <section class="panel">
      <h2>Edges</h2>
      <div class="table-scroll short">
        <table class="grid">
          <thead>
            <tr>
              <th>from</th>
              <th>to</th>
              <th>kind</th>
              <th>run</th>
            </tr>
          </thead>
          <tbody>
            {props.edges.map((edge) => (
              <tr key={`${edge.from}->${edge.to}#${edge.runId}`}>
                <td>{edge.from}</td>
                <td>{edge.to}</td>
                <td>{edge.kind}</td>
                <td class="mono">
                  <a href={href(['runs', edge.runId])}>{edge.runId}</a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
