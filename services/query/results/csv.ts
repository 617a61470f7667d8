/**
 * The CSV answer (RFC 4180 with LF line ends): a header line, then one Buffer per DuckDB chunk.
 * The header travels with the first chunk, so an error from the query or a limit passed in the
 * first chunk comes before any byte does.
 */
import type { DuckDBResult } from '@duckdb/node-api';
import { ResultBudget, type ResultLimits } from './limits.js';
import { csvField } from './text.js';
import { columnReader, csvColumn } from './values.js';
import { chunksOf } from './vectors.js';

export function csvStream(result: DuckDBResult, limits: ResultLimits): AsyncIterable<Buffer> {
  return csvPieces(result, limits);
}

async function* csvPieces(result: DuckDBResult, limits: ResultLimits): AsyncGenerator<Buffer> {
  const readers = result.columnTypes().map(columnReader);
  const budget = new ResultBudget(limits);
  let text = `${result.columnNames().map(csvField).join(',')}\n`;
  for await (const chunk of chunksOf(result)) {
    const rows = chunk.rowCount;
    budget.addRows(rows);
    const fields = readers.map((reader, column) => csvColumn(reader, chunk, column));
    for (let row = 0; row < rows; row++) {
      let line = fields[0]![row]!;
      for (let column = 1; column < fields.length; column++) line += `,${fields[column]![row]}`;
      text += `${line}\n`;
    }
    yield budgeted(budget, text);
    text = '';
  }
  if (text !== '') yield budgeted(budget, text);
}

function budgeted(budget: ResultBudget, text: string): Buffer {
  const piece = Buffer.from(text, 'utf8');
  budget.addBytes(piece.length);
  return piece;
}
