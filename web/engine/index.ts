/** The browser query engine: DuckDB-WASM over Parquet read from signed URLs (DESIGN.md §7). */
export { preloadBrowserEngine } from './preload.js';
export {
  type BrowserAnswer,
  BrowserLimitError,
  type BrowserQuery,
  DEFAULT_BROWSER_MAX_BYTES,
  queryInBrowser,
  runInBrowser,
} from './run.js';
