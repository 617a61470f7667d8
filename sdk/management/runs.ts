/** Runs of the orchestrator (list, get, start, cancel, replay) and lineage by execution. */
import type { Transport } from '../http.js';

export type RunStatus = 'planned' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A run as the server describes it; lists carry `task_count`, a single run its `tasks`. */
export interface Run {
  runId: string;
  kind: string;
  status: RunStatus;
  catalogVersion: number;
  logicalTime: string;
  plannedAt: string;
  startedAt?: string;
  finishedAt?: string;
  table?: string;
  dryRun: boolean;
  trigger: Record<string, unknown>;
  summary: Record<string, unknown>;
  error?: { code: string; message: string };
  tasks?: Record<string, unknown>[];
  task_count?: number;
  [key: string]: unknown;
}

export interface RunFilter {
  kind?: string;
  status?: RunStatus;
  /** `db.table` */
  table?: string;
  /** RFC 3339 or epoch ms: planned at or after. */
  since?: string | number;
  until?: string | number;
  limit?: number;
}

/** One output of a replayed task: its checksum as recorded, as stored now, and as replayed. */
export interface ReplayOutput {
  file: string;
  recordedSha256: string;
  storedSha256: string | null;
  replayedSha256: string | null;
}

export interface ReplayTask {
  taskId: string;
  taskKey: string;
  kind: string;
  reproducible: boolean;
  /** Why the task was not re-executed, when it was not. */
  skipped?: string;
  outputs: ReplayOutput[];
}

export interface ReplayReport {
  runId: string;
  reproducible: boolean;
  catalogVersion: number;
  tasks: ReplayTask[];
  /** The outputs whose checksums differ. */
  differences: ReplayOutput[];
}

export interface RunLineage {
  inputs: string[];
  outputs: string[];
  edges: Record<string, unknown>[];
}

export interface LineageRequest {
  /** `db.table` (optionally with `partition`), or else `file`. */
  table?: string;
  /** `date=YYYY-MM-DD/hour=HH`, with `table`. */
  partition?: string;
  /** A data file key. */
  file?: string;
  direction?: 'upstream' | 'downstream';
  depth?: number;
}

export interface LineageGraph {
  level: 'table' | 'partition' | 'file';
  direction: 'upstream' | 'downstream';
  root: string;
  nodes: { id: string; depth: number }[];
  edges: { from: string; to: string; runId: string; taskId: string; kind: string }[];
}

export interface StartedRun {
  runId: string;
  planId: string;
  /** False when the trigger already had a run: nothing new was planned. */
  created: boolean;
  kind: string;
  dryRun: boolean;
  taskCount: number;
  summary: Record<string, unknown>;
}

const path = (id: string) => `/api/v1/runs/${encodeURIComponent(id)}`;

export class Runs {
  constructor(private readonly transport: Transport) {}

  /** Newest first. */
  async list(filter: RunFilter = {}): Promise<Run[]> {
    return (await this.transport.json<{ runs: Run[] }>('GET', '/api/v1/runs', { query: { ...filter } })).runs;
  }

  /** A run with its tasks, attempts, timings, inputs, outputs and errors. */
  async get(id: string): Promise<Run> {
    return (await this.transport.json<{ run: Run }>('GET', path(id))).run;
  }

  /** Starts a run from a trigger, e.g. `{kind: 'compaction', tier: 'hourly', database, table, partition}`. */
  start(trigger: { kind: string; [key: string]: unknown }): Promise<StartedRun> {
    return this.transport.json('POST', '/api/v1/runs', { json: trigger });
  }

  /** Queued tasks are removed, running ones finish, nothing new starts. */
  async cancel(id: string): Promise<Run> {
    return (await this.transport.json<{ run: Run }>('POST', `${path(id)}/cancel`)).run;
  }

  /** Re-executes a succeeded run into scratch and compares its outputs; commits nothing. */
  replay(id: string): Promise<ReplayReport> {
    return this.transport.json('POST', `${path(id)}/replay`);
  }

  /** What the run read and wrote. */
  lineage(id: string): Promise<RunLineage> {
    return this.transport.json('GET', `${path(id)}/lineage`);
  }
}

/** Upstream or downstream of a table, a partition or a file. */
export function lineage(transport: Transport, request: LineageRequest): Promise<LineageGraph> {
  return transport.json('GET', '/api/v1/lineage', { query: { ...request } });
}
