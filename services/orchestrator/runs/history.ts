/**
 * Reads run history and lineage from the event log (compacted projections + tail).
 */
import { type EventEnvelope, type ObjectStore, readEvents } from '../../../catalog/index.js';
import type { LineageEdge, RunStatus } from './events.js';
import { foldRun, type RunView } from './fold.js';

export interface RunFilter {
  kind?: string;
  status?: RunStatus;
  /** Only runs not ended yet (planned or running). */
  unfinished?: boolean;
  /** `db.table` */
  table?: string;
  /** Only runs about one of these databases (a token limited to them); runs about none are left out. */
  databases?: readonly string[];
  /** Planned at or after (ISO or ms). */
  since?: number;
  until?: number;
  /** Only runs of this continuous query (`trigger.cqId`). */
  cqId?: string;
  /** Only runs listed after this one (newest first): the next page after a page ending with it. */
  before?: Pick<RunView, 'plannedAt' | 'runId'>;
  limit?: number;
}

export interface RunHistoryPage {
  runs: RunView[];
  /** Where the events came from: compacted Parquet vs the uncompacted tail. */
  sources: { compacted: number; tail: number };
}

/**
 * The database a run is about (its table's or its trigger's for runs recorded before `database`);
 * undefined for a run about the whole tenant (checkpoint, expire, events compaction).
 */
export function runDatabase(run: Pick<RunView, 'database' | 'table' | 'trigger'>): string | undefined {
  if (run.database) return run.database;
  if (run.table) return run.table.slice(0, run.table.indexOf('.'));
  return typeof run.trigger.database === 'string' ? run.trigger.database : undefined;
}

/** The listing's order: newest planned first, then by run id. */
const newestFirst = (a: Pick<RunView, 'plannedAt' | 'runId'>, b: Pick<RunView, 'plannedAt' | 'runId'>) =>
  a.plannedAt < b.plannedAt
    ? 1
    : a.plannedAt > b.plannedAt
      ? -1
      : a.runId < b.runId
        ? -1
        : a.runId > b.runId
          ? 1
          : 0;

/** Event types that end a run (the fold's terminal transitions). */
const RUN_ENDS: ReadonlySet<string> = new Set(['run.succeeded', 'run.failed', 'run.cancelled']);

export class RunHistory {
  constructor(private readonly store: ObjectStore) {}

  private async runEvents(tenant: string, runIds?: ReadonlySet<string>) {
    // Only the chosen runs' payloads are decoded.
    const rows = runIds && ((runId: string | null) => runId !== null && runIds.has(runId));
    const [runs, tasks] = await Promise.all([
      readEvents(this.store, tenant, 'runs', undefined, rows),
      readEvents(this.store, tenant, 'tasks', undefined, rows),
    ]);
    const byRun = new Map<string, EventEnvelope[]>();
    for (const event of [...runs.events, ...tasks.events]) {
      const id = String(event.payload.runId);
      const list = byRun.get(id);
      if (list) list.push(event);
      else byRun.set(id, [event]);
    }
    const sources = {
      compacted: runs.compactedEvents + tasks.compactedEvents,
      tail: runs.tailEvents + tasks.tailEvents,
    };
    return { byRun, sources };
  }

  async get(tenant: string, runId: string): Promise<RunView | undefined> {
    const { byRun } = await this.runEvents(tenant, new Set([runId]));
    return foldRun(byRun.get(runId) ?? []);
  }

  async list(tenant: string, filter: RunFilter = {}): Promise<RunHistoryPage> {
    const { byRun, sources } = await this.runEvents(
      tenant,
      filter.unfinished ? await this.unfinishedRunIds(tenant) : undefined,
    );
    const runs: RunView[] = [];
    for (const events of byRun.values()) {
      const run = foldRun(events);
      if (!run) continue;
      if (filter.kind && run.kind !== filter.kind) continue;
      if (filter.status && run.status !== filter.status) continue;
      if (filter.unfinished && run.status !== 'planned' && run.status !== 'running') continue;
      if (filter.table && run.table !== filter.table) continue;
      if (filter.cqId && run.trigger.cqId !== filter.cqId) continue;
      if (filter.before && newestFirst(run, filter.before) <= 0) continue;
      if (filter.databases && !filter.databases.includes(runDatabase(run) ?? '')) continue;
      const planned = Date.parse(run.plannedAt);
      if (filter.since !== undefined && planned < filter.since) continue;
      if (filter.until !== undefined && planned > filter.until) continue;
      runs.push(run);
    }
    runs.sort(newestFirst);
    return { runs: runs.slice(0, filter.limit ?? 100), sources };
  }

  /**
   * Runs planned and not ended, from the events' types alone: no payload is decoded, so finding
   * the few open runs (what reconcile does every pass) does not cost a read of the whole history.
   */
  private async unfinishedRunIds(tenant: string): Promise<Set<string>> {
    const planned = new Set<string>();
    const ended = new Set<string>();
    await readEvents(this.store, tenant, 'runs', undefined, (runId, type) => {
      if (runId !== null) {
        if (type === 'run.planned') planned.add(runId);
        else if (RUN_ENDS.has(type)) ended.add(runId);
      }
      return false;
    });
    for (const runId of ended) planned.delete(runId);
    return planned;
  }

  async lineageEdges(
    tenant: string,
    where: (edge: LineageEdge) => boolean = () => true,
  ): Promise<LineageEdge[]> {
    const { events } = await readEvents(this.store, tenant, 'lineage_edges');
    return events.map((e) => e.payload as unknown as LineageEdge).filter(where);
  }
}
