/** A table's columns and their types. */
import type { BrowserSessionTable } from '../../../sdk/index.js';

export function TableSchema(props: { columns: BrowserSessionTable['columns'] }) {
  return (
    <section class="panel">
      <h2>Schema</h2>
      <table class="grid compact" data-testid="table-schema">
        <thead>
          <tr>
            <th>column</th>
            <th>type</th>
          </tr>
        </thead>
        <tbody>
          {props.columns.map((column) => (
            <tr key={column.name} data-column={column.name}>
              <td>{column.name}</td>
              <td class="muted">{column.type}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
