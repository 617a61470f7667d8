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

export async function runQuery(client: WeirClient, request: QueryRequest): Promise<QueryResult> {
  const started = performance.now();
  const options = { database: request.database, ...(request.asOf ? { asOf: request.asOf } : {}) };
  if (request.engine === 'browser') {
    const answer = await queryInBrowser(client, { sql: request.sql, ...options });
    return fromBrowser(answer, performance.now() - started);
  }
  const answer = await client.query(request.sql, options);
  return fromServer(answer, performance.now() - started);
}
