/** The JSON answer's parts: column names and rows as arrays, materialized within the limits. */
import type { DuckDBResult } from '@duckdb/node-api';
import { ResultBudget, type ResultLimits } from './limits.js';
import { columnReader, jsonColumn } from './values.js';
import { chunksOf } from './vectors.js';

export async function readJsonRows(
  result: DuckDBResult,
  limits: ResultLimits,
): Promise<{ columns: string[]; data: unknown[][] }> {
  const columns = result.columnNames();
  const readers = result.columnTypes().map(columnReader);
  const budget = new ResultBudget(limits);
  budget.addBytes(JSON.stringify(columns).length);
  const data: unknown[][] = [];
  for await (const chunk of chunksOf(result)) {
    const rows = chunk.rowCount;
    budget.addRows(rows);
    const values = readers.map((reader, column) => jsonColumn(reader, chunk, column));
    budget.addBytes(jsonRowsLength(values, rows));
    for (let row = 0; row < rows; row++) {
      const cells = new Array<unknown>(values.length);
      for (let column = 0; column < values.length; column++) cells[column] = values[column]![row];
      data.push(cells);
    }
  }
  return { columns, data };
}

/**
 * About the length of the chunk's rows as JSON (`[a,b],` each), without writing them: strings
 * and nested values count in full, numbers by a sample of their text (at most ~24 characters
 * each, so sampling cannot hide much). Counts UTF-16 units and ignores escapes.
 */
function jsonRowsLength(columns: unknown[][], rows: number): number {
  let length = rows * (columns.length + 2);
  for (const values of columns) length += jsonValuesLength(values);
  return length;
}

const NUMBER_SAMPLE_STRIDE = 16;

function jsonValuesLength(values: unknown[]): number {
  let length = 0;
  let numbers = 0;
  let sampled = 0;
  let sampledLength = 0;
  for (const value of values) {
    if (typeof value === 'string') length += value.length + 2;
    else if (typeof value === 'number') {
      if (numbers++ % NUMBER_SAMPLE_STRIDE === 0) {
        sampled++;
        sampledLength += String(value).length;
      }
    } else if (value === null || typeof value === 'boolean') length += 5;
    else length += JSON.stringify(value).length;
  }
  return sampled === 0 ? length : length + Math.round((sampledLength / sampled) * numbers);
}
