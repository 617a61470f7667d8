/** Continuous queries (Arc's shapes): definitions, manual runs and backfills, their runs. */
import type { Transport } from '../http.js';

export interface ContinuousQueryInput {
  name: string;
  database: string;
  source_measurement: string;
  destination_measurement: string;
  /** A SELECT over the source with '{start_time}' and '{end_time}' placeholders. */
  query: string;
  /** Window length: "30s", "5m", "1h", "1d", or seconds. */
  interval: string | number;
  /** How long after a window ends it is first run (default "30s"). */
  delay?: string | number;
  /** First window (default: the current one). */
  start_time?: string;
  is_active?: boolean;
  description?: string;
}

export interface ContinuousQuery {
  id: string;
  name: string;
  database: string;
  source_measurement: string;
  destination_measurement: string;
  query: string;
  interval: string;
  interval_ms: number;
  delay_ms: number;
  is_active: boolean;
  description: string | null;
  start_time: string;
  /** Windows ending at or before this were materialized. */
  watermark: string;
  checked_version: number;
  version: number;
}

export interface CqExecution {
  query_id: string;
  query_name: string;
  execution_id: string | null;
  start_time: string;
  end_time: string;
  windows: number;
  records_written: number;
  execution_time_ms: number;
  dry_run: boolean;
  status: string;
}

const path = (id: string) => `/api/v1/continuous_queries/${encodeURIComponent(id)}`;

export class ContinuousQueries {
  constructor(private readonly transport: Transport) {}

  async list(): Promise<ContinuousQuery[]> {
    const answer = await this.transport.json<{ queries: ContinuousQuery[] }>(
      'GET',
      '/api/v1/continuous_queries',
    );
    return answer.queries;
  }

  async get(id: string): Promise<ContinuousQuery> {
    return (await this.transport.json<{ query: ContinuousQuery }>('GET', path(id))).query;
  }

  /** Checks the query over an empty window and creates (or extends) the destination table. */
  async create(cq: ContinuousQueryInput): Promise<ContinuousQuery> {
    const answer = await this.transport.json<{ query: ContinuousQuery }>(
      'POST',
      '/api/v1/continuous_queries',
      {
        json: cq,
      },
    );
    return answer.query;
  }

  /** Replaces the definition; its name, start and progress stay. */
  async update(id: string, cq: ContinuousQueryInput): Promise<ContinuousQuery> {
    return (await this.transport.json<{ query: ContinuousQuery }>('PUT', path(id), { json: cq })).query;
  }

  async delete(id: string): Promise<void> {
    await this.transport.json('DELETE', path(id));
  }

  /** Runs the query over a range now, one window per task; a dry run counts rows without writing. */
  execute(
    id: string,
    options: { start_time?: string; end_time?: string; dry_run?: boolean } = {},
  ): Promise<CqExecution> {
    return this.transport.json('POST', `${path(id)}/execute`, { json: options });
  }

  /** Runs of the query (ticks, executes, backfills), newest first. */
  async executions(id: string): Promise<Record<string, unknown>[]> {
    const answer = await this.transport.json<{ executions: Record<string, unknown>[] }>(
      'GET',
      `${path(id)}/executions`,
    );
    return answer.executions;
  }
}
