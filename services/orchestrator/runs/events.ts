/**
 * Run, task and lineage transitions as Tier 2 events (DESIGN.md §6). Idempotency keys are
 * derived from the transition itself, so a retried emit — or a redelivered task reporting the
 * same attempt again — folds once.
 */
import { type EventInput, type EventLogWriter, sha256Hex } from '../../../catalog/index.js';
import type { TaskResult } from '../../../proto/index.js';

export type RunStatus = 'planned' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type TaskStatus =
  | 'planned'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'retry_wait'
  | 'skipped'
  | 'cancelled';

/** What `run.planned` records: enough to list and filter runs without reading the plan. */
export interface RunPlannedPayload {
  runId: string;
  runKey: string;
  planId: string;
  kind: string;
  catalogVersion: number;
  logicalTime: string;
  dryRun: boolean;
  /** The normalised trigger the run was planned from. */
  trigger: Record<string, unknown>;
  /** `db.table` when the run concerns one table. */
  table?: string;
  /** The database when the run concerns one (runs planned before this field: see `runDatabase`). */
  database?: string;
  tasks: { taskId: string; taskKey: string; kind: string; dependsOn: string[] }[];
  summary: Record<string, unknown>;
}

export interface LineageEdge {
  runId: string;
  taskId: string;
  kind: string;
  input: { path: string; database: string; table: string; partition: string; version: number };
  output: { path: string; database: string; table: string; partition: string; version: number };
}

export class RunEventLog {
  constructor(
    private readonly writer: EventLogWriter,
    private readonly source: string,
    private readonly now: () => number = Date.now,
  ) {}

  private emit(tenant: string, type: string, key: string, payload: Record<string, unknown>): Promise<void> {
    const event: EventInput = {
      type,
      tenant,
      idempotencyKey: key,
      occurredAt: this.now(),
      source: this.source,
      payload,
    };
    return this.writer.append(event);
  }

  planned(tenant: string, payload: RunPlannedPayload) {
    return this.emit(tenant, 'run.planned', `${payload.runId}:planned`, { ...payload });
  }
  runStarted(tenant: string, runId: string) {
    return this.emit(tenant, 'run.started', `${runId}:started`, { runId });
  }
  runFinished(
    tenant: string,
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
    detail: Record<string, unknown> = {},
  ) {
    return this.emit(tenant, `run.${status}`, `${runId}:${status}`, { runId, ...detail });
  }
  taskQueued(tenant: string, runId: string, taskId: string, attempt: number) {
    return this.emit(tenant, 'task.queued', `${taskId}:${attempt}:queued`, { runId, taskId, attempt });
  }
  taskRunning(
    tenant: string,
    runId: string,
    taskId: string,
    attempt: number,
    attemptId: string,
    worker: string,
  ) {
    return this.emit(tenant, 'task.running', `${taskId}:${attempt}:running`, {
      runId,
      taskId,
      attempt,
      attemptId,
      worker,
    });
  }
  taskSucceeded(tenant: string, runId: string, attempt: number, result: TaskResult) {
    return this.emit(tenant, 'task.succeeded', `${result.taskId}:succeeded`, {
      runId,
      taskId: result.taskId,
      attempt,
      result: result as unknown as Record<string, unknown>,
    });
  }
  /** `final` false means a retry follows (the task goes to retry_wait). */
  taskFailed(
    tenant: string,
    runId: string,
    taskId: string,
    attempt: number,
    error: { code: string; message: string },
    final: boolean,
  ) {
    const type = final ? 'task.failed' : 'task.retry_wait';
    return this.emit(tenant, type, `${taskId}:${attempt}:${final ? 'failed' : 'retry'}`, {
      runId,
      taskId,
      attempt,
      error,
    });
  }
  taskEnded(tenant: string, runId: string, taskId: string, status: 'skipped' | 'cancelled', reason: string) {
    return this.emit(tenant, `task.${status}`, `${taskId}:${status}`, { runId, taskId, reason });
  }
  lineage(tenant: string, edges: readonly LineageEdge[]) {
    return Promise.all(edges.map((edge) => this.emit(tenant, 'lineage.edge', lineageKey(edge), { ...edge })));
  }
}

/**
 * The idempotency key of an edge: the task id and a hash of its two paths, so its length is fixed
 * (two paths of long legal names pass the event key's 512-character cap). Readers and compaction
 * only compare keys; edges recorded under the earlier `{taskId}:{input}->{output}` keys still read.
 */
function lineageKey(edge: LineageEdge): string {
  return `${edge.taskId}:${sha256Hex(JSON.stringify([edge.input.path, edge.output.path]))}`;
}

/** Lineage of a finished task: every file it read feeds every file it wrote. */
export function lineageOf(runId: string, kind: string, result: TaskResult): LineageEdge[] {
  const edges: LineageEdge[] = [];
  for (const read of result.reads) {
    for (const input of read.files) {
      for (const output of result.wrote.files) {
        edges.push({
          runId,
          taskId: result.taskId,
          kind,
          input: {
            path: input.path,
            database: input.database,
            table: input.table,
            partition: input.partition,
            version: read.catalogVersion,
          },
          output: {
            path: output.path,
            database: output.database,
            table: output.table,
            partition: output.partition,
            version: result.wrote.commitVersion,
          },
        });
      }
    }
  }
  return edges;
}
