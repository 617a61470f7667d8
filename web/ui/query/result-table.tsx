/** The answer as a table; long answers show their first rows only, and say so. */
import { formatCount } from '../format.js';
import { cellText, type QueryResult } from './result.js';

/** Rows rendered at most: enough to read, few enough that the page stays quick. */
const DISPLAYED_ROWS = 1000;

export function ResultTable(props: { result: QueryResult }) {
  const { columns, rows } = props.result;
  const shown = rows.slice(0, DISPLAYED_ROWS);
  return (
    <div class="result-table-wrap">
      {rows.length > shown.length && (
        <div class="muted note">
          Showing the first {formatCount(shown.length)} of {formatCount(rows.length)} rows.
        </div>
      )}
      <div class="table-scroll">
        <table class="grid" data-testid="result-table">
          <thead>
            <tr>
              {columns.map((column, i) => (
                <th key={i} class={`kind-${column.kind}`} title={column.kind}>
                  {column.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((row, r) => (
              <tr key={r}>
                {columns.map((column, i) => {
                  const value = row[i];
                  const isNull = value === null || value === undefined;
                  return (
                    <td key={i} class={isNull ? 'null' : `kind-${column.kind}`}>
                      {cellText(value, column.kind)}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <div class="muted empty">No rows.</div>}
    </div>
  );
}
