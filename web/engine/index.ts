/** The browser query engine: DuckDB-WASM over Parquet read from signed URLs (DESIGN.md §7). */
export { browserDuckDB } from './duckdb.js';
export { type BrowserAnswer, type BrowserQuery, queryInBrowser, runInBrowser } from './run.js';
export type { BrowserSession, ColumnType, SessionFile, SessionTable } from './session.js';
