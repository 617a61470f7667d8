/**
 * The page's hooks for browser tests: the last answer in JSON-safe form and a run counter to wait
 * on, and a way to set the editor's text. Their shapes are a contract with the Playwright tests.
 */
import { type Engine, jsonValue, type QueryResult } from './result.js';

export interface LastAnswer {
  engine: Engine;
  columns: string[];
  rows: unknown[][];
  bytesFetched?: number;
  error?: string;
}

declare global {
  interface Window {
    __weirLastAnswer?: LastAnswer;
    __weirRuns?: number;
    __weirConsole?: { setSql(text: string): void };
  }
}

// A number from the start, so a test can read it before the first run and wait for it to grow.
window.__weirRuns ??= 0;

function finished(answer: LastAnswer): void {
  window.__weirLastAnswer = answer;
  window.__weirRuns = (window.__weirRuns ?? 0) + 1;
}

export function recordResult(result: QueryResult): void {
  finished({
    engine: result.engine,
    columns: result.columns.map((c) => c.name),
    // Converted only when a test reads it: a large answer is not copied on every run.
    get rows() {
      return result.rows.map((row) => row.map((value, i) => jsonValue(value, result.columns[i]!.kind)));
    },
    ...(result.browser ? { bytesFetched: result.browser.bytesFetched } : {}),
  });
}

export function recordError(engine: Engine, message: string): void {
  finished({ engine, columns: [], rows: [], error: message });
}

/** Lets tests set the editor's text; replaced whenever the editor is (re)created. */
export function exposeSetSql(setSql: (text: string) => void): () => void {
  window.__weirConsole = { setSql };
  return () => {
    if (window.__weirConsole?.setSql === setSql) delete window.__weirConsole;
  };
}
