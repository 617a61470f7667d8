import { browserDuckDB } from './duckdb.js';
import { startParquet } from './parquet.js';

/**
 * Starts DuckDB-WASM and parquet-wasm in the background (compiling ~40 MB of WebAssembly takes
 * about a second), so a page that may run queries has them ready by the first one. Failures are
 * reported by the query that needs them.
 */
export function preloadBrowserEngine(): void {
  browserDuckDB().catch(() => {});
  startParquet().catch(() => {});
}
