/** Retention policies and their runs (Arc's shapes). */
import type { Transport } from '../http.js';

export interface RetentionPolicyInput {
  name: string;
  database: string;
  /** One table; without it the policy covers the whole database. */
  measurement?: string;
  retention_days: number;
}

export interface RetentionPolicy {
  id: string;
  name: string;
  database: string;
  measurement: string | null;
  retention_days: number;
  /** Catalog version that last set the policy. */
  version: number;
}

export interface RetentionExecution {
  policy_id: string;
  policy_name: string;
  deleted_count: number;
  files_deleted: number;
  partitions_deleted: number;
  execution_time_ms: number;
  dry_run: boolean;
  cutoff_date: string;
  affected_measurements: string[];
  run_id: string;
}

const path = (id: string) => `/api/v1/retention/${encodeURIComponent(id)}`;

export class Retention {
  constructor(private readonly transport: Transport) {}

  async list(): Promise<RetentionPolicy[]> {
    return (await this.transport.json<{ policies: RetentionPolicy[] }>('GET', '/api/v1/retention')).policies;
  }

  async get(id: string): Promise<RetentionPolicy> {
    return (await this.transport.json<{ policy: RetentionPolicy }>('GET', path(id))).policy;
  }

  async create(policy: RetentionPolicyInput): Promise<RetentionPolicy> {
    const answer = await this.transport.json<{ policy: RetentionPolicy }>('POST', '/api/v1/retention', {
      json: policy,
    });
    return answer.policy;
  }

  /** Replaces the policy; its name is its identity and cannot change. */
  async update(id: string, policy: RetentionPolicyInput): Promise<RetentionPolicy> {
    return (await this.transport.json<{ policy: RetentionPolicy }>('PUT', path(id), { json: policy })).policy;
  }

  async delete(id: string): Promise<void> {
    await this.transport.json('DELETE', path(id));
  }

  /** A dry run reports what a real run removes; a real run needs `confirm: true`. */
  execute(id: string, options: { dry_run?: boolean; confirm?: boolean } = {}): Promise<RetentionExecution> {
    return this.transport.json('POST', `${path(id)}/execute`, { json: options });
  }

  /** Runs of the policy, newest first. */
  async executions(id: string): Promise<Record<string, unknown>[]> {
    const answer = await this.transport.json<{ executions: Record<string, unknown>[] }>(
      'GET',
      `${path(id)}/executions`,
    );
    return answer.executions;
  }
}
