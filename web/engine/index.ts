/** The browser query engine: DuckDB-WASM over Parquet read from signed URLs (DESIGN.md §7). */
export { preloadBrowserEngine } from './preload.js';
export { type BrowserAnswer, type BrowserQuery, queryInBrowser, runInBrowser } from './run.js';
