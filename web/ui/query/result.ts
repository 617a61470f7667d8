/**
 * One shape for the answers of both engines. The browser engine gives Arrow type names and values
 * as the server's JSON gives them (web/engine/values.ts); the server gives column names and JSON
 * values only, so its column kinds are read from the values.
 */
import type { QueryAnswer } from '../../../sdk/index.js';
import type { BrowserAnswer } from '../../engine/index.js';

export type Engine = 'browser' | 'server';

/** What a column holds, as far as display and charts care. */
export type ColumnKind = 'time' | 'number' | 'bool' | 'text';

export interface ResultColumn {
  readonly name: string;
  readonly kind: ColumnKind;
}

export type BrowserStats = Pick<
  BrowserAnswer,
  'bytesFetched' | 'requests' | 'files' | 'cachedFiles' | 'cutFiles'
> &
  BrowserAnswer['timings'] & { readonly sessionMs: number };

export interface QueryResult {
  readonly engine: Engine;
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly (readonly unknown[])[];
  /** The catalog version the query read. */
  readonly version: number;
  /** Wall time in the page, from the click to the answer. */
  readonly totalMs: number;
  /** Browser runs: where the time and bytes went. */
  readonly browser?: BrowserStats;
  /** Server runs: the server's own execution time. */
  readonly serverMs?: number;
}

/** Arrow type names as apache-arrow prints them: `Timestamp<MICROSECOND>`, `Int64`, `Float64`, `Utf8`… */
function arrowKind(type: string): ColumnKind {
  if (/^(Timestamp|Date)/.test(type)) return 'time';
  if (/^(Int|Uint|Float|Decimal)/.test(type)) return 'number';
  if (type === 'Bool') return 'bool';
  return 'text';
}

export function fromBrowser(answer: BrowserAnswer & { sessionMs: number }, totalMs: number): QueryResult {
  return {
    engine: 'browser',
    columns: answer.columns.map((c) => ({ name: c.name, kind: arrowKind(c.type) })),
    rows: answer.rows,
    version: answer.version,
    totalMs,
    browser: {
      ...answer.timings,
      sessionMs: answer.sessionMs,
      bytesFetched: answer.bytesFetched,
      requests: answer.requests,
      files: answer.files,
      cachedFiles: answer.cachedFiles,
      cutFiles: answer.cutFiles,
    },
  };
}

/** `2024-05-01T12:00:00.000000Z` or `2024-05-01`: the server's text for timestamps and dates. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Values to look at when guessing a server column's kind; the answer may be long. */
const SAMPLE_ROWS = 200;

function inferredKind(rows: readonly (readonly unknown[])[], index: number): ColumnKind {
  const kinds = new Set<ColumnKind>();
  for (const row of rows.slice(0, SAMPLE_ROWS)) {
    const value = row[index];
    if (value === null || value === undefined) continue;
    if (typeof value === 'number') kinds.add('number');
    else if (typeof value === 'boolean') kinds.add('bool');
    else if (typeof value === 'string' && ISO_TIME.test(value)) kinds.add('time');
    else kinds.add('text');
  }
  return kinds.size === 1 ? [...kinds][0]! : 'text';
}

export function fromServer(answer: QueryAnswer, totalMs: number): QueryResult {
  return {
    engine: 'server',
    columns: answer.columns.map((name, index) => ({ name, kind: inferredKind(answer.data, index) })),
    rows: answer.data,
    version: answer.catalog_version,
    totalMs,
    serverMs: answer.execution_time_ms,
  };
}

/** Epoch milliseconds of a time value of either engine. */
export function timeMs(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.getTime();
  const parsed = Date.parse(String(value));
  return Number.isNaN(parsed) ? null : parsed;
}

/** A numeric value as a float for charts (int64 arrives as bigint from the browser engine). */
export function numberOf(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : null;
  }
  return null;
}

/**
 * A value as JSON can carry it: bigint as its decimal text, times as ISO strings, Arrow's nested
 * values through their own toJSON.
 */
export function jsonValue(value: unknown, kind: ColumnKind): unknown {
  if (value === null || value === undefined) return null;
  if (kind === 'time' && typeof value !== 'string') {
    const ms = timeMs(value);
    return ms === null ? null : new Date(ms).toISOString();
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'object')
    return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  return value;
}

/** How a cell reads in the results table. */
export function cellText(value: unknown, kind: ColumnKind): string {
  const json = jsonValue(value, kind);
  if (json === null) return 'NULL';
  return typeof json === 'object' ? JSON.stringify(json) : String(json);
}
