/**
 * Schedules (DESIGN.md §6): hourly compaction at :05, daily compaction, daily retention and
 * expiry, checkpoints and events compaction by backlog. A tick carries its scheduled time as
 * the trigger's logical time, so every orchestrator that sees a tick plans the same run id and
 * the recorded plan's put-if-absent leaves exactly one run. After downtime only the newest
 * `maxCatchUp` missed ticks of each schedule run. Each tenant keeps its own last tick, which moves
 * only once the tick's runs were submitted (or refused for good), so an outage costs a tenant no tick.
 * The `_system` catalog, which no tenant owns, is checkpointed by the pass itself.
 */
import type { Redis } from 'ioredis';
import {
  type ObjectStore,
  paths,
  type SystemCatalog,
  type TenantCatalogs,
  type TenantState,
  WeirError,
} from '../../catalog/index.js';
import type { Orchestrator } from './orchestrator.js';
import { compactionCandidates, cqTriggers, retentionTriggers } from './planner/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export interface Schedule {
  name: string;
  everyMs: number;
  /** Ticks fall at `offsetMs` past each multiple of `everyMs` since the epoch (UTC). */
  offsetMs: number;
  triggers(tenant: string, logicalTime: string, state: TenantState, store: ObjectStore): Promise<unknown[]>;
}

/** Ticks due in (last, now], oldest first, at most `maxCatchUp` of the newest. */
export function dueTicks(
  schedule: Pick<Schedule, 'everyMs' | 'offsetMs'>,
  lastTick: number | undefined,
  now: number,
  maxCatchUp: number,
): number[] {
  const latest =
    Math.floor((now - schedule.offsetMs) / schedule.everyMs) * schedule.everyMs + schedule.offsetMs;
  if (latest > now || latest < 0) return [];
  const first = lastTick === undefined ? latest : lastTick + schedule.everyMs;
  const ticks: number[] = [];
  for (let t = latest; t >= first && ticks.length < maxCatchUp; t -= schedule.everyMs) ticks.unshift(t);
  return ticks;
}

export interface SchedulerOptions {
  checkpointEvery?: number;
  eventsBacklogBatches?: number;
}

export function defaultSchedules(options: SchedulerOptions = {}): Schedule[] {
  const checkpointEvery = options.checkpointEvery ?? 100;
  const backlog = options.eventsBacklogBatches ?? 50;
  return [
    {
      name: 'compaction-hourly',
      everyMs: HOUR,
      offsetMs: 5 * MINUTE,
      triggers: async (_tenant, logicalTime, state) =>
        compactionCandidates(state, { tier: 'hourly', logicalTime }),
    },
    {
      name: 'compaction-daily',
      everyMs: DAY,
      offsetMs: 15 * MINUTE,
      triggers: async (_tenant, logicalTime, state) =>
        compactionCandidates(state, { tier: 'daily', logicalTime }),
    },
    {
      name: 'retention',
      everyMs: DAY,
      offsetMs: 30 * MINUTE,
      triggers: async (_tenant, logicalTime, state) => retentionTriggers(state, logicalTime),
    },
    {
      name: 'continuous-queries',
      everyMs: MINUTE,
      offsetMs: 0,
      triggers: async (_tenant, logicalTime, state) => cqTriggers(state, logicalTime),
    },
    {
      name: 'expire',
      everyMs: DAY,
      offsetMs: 45 * MINUTE,
      triggers: async (tenant, logicalTime) => [{ kind: 'expire', tenant, logicalTime }],
    },
    {
      name: 'checkpoint',
      everyMs: MINUTE,
      offsetMs: 0,
      triggers: async (tenant, logicalTime, state, store) => {
        const newest = await store.getIfExists(paths.catalogKeys.lastCheckpoint(paths.tenantScope(tenant)));
        const at = newest ? (JSON.parse(new TextDecoder().decode(newest)) as { version: number }).version : 0;
        return state.version - at >= checkpointEvery ? [{ kind: 'checkpoint', tenant, logicalTime }] : [];
      },
    },
    {
      name: 'events-compaction',
      everyMs: MINUTE,
      offsetMs: 0,
      triggers: async (tenant, logicalTime, _state, store) => {
        let batches = 0;
        for await (const object of store.listAll(paths.eventKeys.prefix(tenant))) {
          if (paths.eventKeys.isBatch(tenant, object.key) && ++batches >= backlog)
            return [{ kind: 'events-compaction', tenant, logicalTime }];
        }
        return [];
      },
    },
  ];
}

export interface SchedulerDeps {
  orchestrator: Orchestrator;
  system: SystemCatalog;
  catalogs: TenantCatalogs;
  store: ObjectStore;
  redis: Redis;
  schedules?: Schedule[];
  maxCatchUp?: number;
  /** Commits of the `_system` catalog (tokens, tenants) after which a pass checkpoints it. */
  systemCheckpointEvery?: number;
  now?: () => number;
  onError?: (error: unknown, context: Record<string, unknown>) => void;
}

/** An error a retry would get again: the planner or the orchestrator refused (4xx). */
const isRefusal = (error: unknown) => error instanceof WeirError && error.httpStatus < 500;

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly schedules: Schedule[];
  private readonly now: () => number;

  constructor(private readonly deps: SchedulerDeps) {
    this.schedules = deps.schedules ?? defaultSchedules();
    this.now = deps.now ?? Date.now;
  }

  /** Runs every due tick once; returns the runs it submitted (new or already existing). */
  async tick(): Promise<{ schedule: string; logicalTime: string; runId: string; created: boolean }[]> {
    const submitted: { schedule: string; logicalTime: string; runId: string; created: boolean }[] = [];
    const now = this.now();
    const tenants = [...(await this.deps.system.refresh()).tenants.keys()];
    for (const schedule of this.schedules) {
      const keyOf = (tenant: string) => `weir:schedule:${schedule.name}:tenant:${tenant}:last`;
      // One round trip for every tenant's mark. The schedule-wide mark kept before each tenant had
      // its own is where a tenant's starts.
      const [shared, ...marks] = await this.deps.redis.mget(
        `weir:schedule:${schedule.name}:last`,
        ...tenants.map(keyOf),
      );
      for (const [index, tenant] of tenants.entries()) {
        const key = keyOf(tenant);
        const last = marks[index] ?? shared ?? null;
        for (const tick of dueTicks(
          schedule,
          last === null ? undefined : Number(last),
          now,
          this.deps.maxCatchUp ?? 3,
        )) {
          const logicalTime = new Date(tick).toISOString();
          // A refusal (4xx: a bad policy, a table dropped since) comes back the same on a retry:
          // it is reported and the tick's other triggers go on. Anything else (the store or Redis
          // away) leaves the tick due: the next pass submits it again, and the triggers it already
          // submitted answer their existing runs.
          try {
            const state = await this.deps.catalogs.forTenant(tenant).refresh();
            for (const trigger of await schedule.triggers(tenant, logicalTime, state, this.deps.store)) {
              try {
                const result = await this.deps.orchestrator.submit(trigger);
                submitted.push({
                  schedule: schedule.name,
                  logicalTime,
                  runId: result.runId,
                  created: result.created,
                });
              } catch (error) {
                if (!isRefusal(error)) throw error;
                this.deps.onError?.(error, { schedule: schedule.name, tenant, logicalTime, trigger });
              }
            }
          } catch (error) {
            this.deps.onError?.(error, { schedule: schedule.name, tenant, logicalTime });
            if (!isRefusal(error)) break;
          }
          await this.deps.redis.set(key, String(tick));
        }
      }
    }
    for (const tenant of tenants) {
      await this.deps.orchestrator
        .reconcile(tenant)
        .catch((error: unknown) => this.deps.onError?.(error, { tenant, reconcile: true }));
    }
    await this.maintainSystem(now).catch((error: unknown) => this.deps.onError?.(error, { system: true }));
    return submitted;
  }

  /**
   * Checkpoints the `_system` catalog once it is `systemCheckpointEvery` commits past its newest
   * checkpoint (every orchestrator may do it at once: a version is checkpointed once), then removes
   * temp files of writes under `_system/` a crash cut off, a day old or more, as a tenant's expire
   * sweep does under its prefix.
   */
  private async maintainSystem(now: number): Promise<void> {
    const written = await this.deps.system.checkpointIfBehind(this.deps.systemCheckpointEvery ?? 100);
    if (written === undefined) return;
    await this.deps.store.removeIncompleteWrites(paths.SYSTEM_PREFIX, new Date(now - DAY));
  }

  start(intervalMs = 15_000): void {
    const loop = () => {
      this.running = this.tick()
        .then(() => undefined)
        .catch((error: unknown) => this.deps.onError?.(error, {}))
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(loop, intervalMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
