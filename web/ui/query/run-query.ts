/** Runs a statement on the chosen engine and brings the answer to the common result shape. */
import type { AsOf, WeirClient } from '../../../sdk/index.js';
import { queryInBrowser } from '../../engine/index.js';
import { type Engine, fromBrowser, fromServer, type QueryResult } from './result.js';

export interface QueryRequest {
  readonly sql: string;
  readonly database: string;
  readonly engine: Engine;
  readonly asOf?: AsOf;
}

/** localStorage key of the browser engine's limit in MB (default: the engine's, 512 MiB). */
const BROWSER_LIMIT_KEY = 'weir.query.browserMaxMB';

function browserMaxBytes(): number | undefined {
  const mb = Number(localStorage.getItem(BROWSER_LIMIT_KEY));
  return mb > 0 ? mb * 1e6 : undefined;
}

export async function runQuery(client: WeirClient, request: QueryRequest): Promise<QueryResult> {
  const started = performance.now();
  const options = { database: request.database, ...(request.asOf ? { asOf: request.asOf } : {}) };
  if (request.engine === 'browser') {
    const maxBytes = browserMaxBytes();
    const answer = await queryInBrowser(client, {
      sql: request.sql,
      ...options,
      ...(maxBytes !== undefined ? { maxBytes } : {}),
    });
    return fromBrowser(answer, performance.now() - started);
  }
  const answer = await client.query(request.sql, options);
  return fromServer(answer, performance.now() - started);
}
