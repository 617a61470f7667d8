/** Query answers from streaming DuckDB results: JSON rows, CSV and Arrow IPC, each bounded in size. */
export { arrowStream } from './arrow.js';
export { csvStream } from './csv.js';
export { readJsonRows } from './json.js';
export { type ResultLimits, ResultTooLargeError } from './limits.js';
