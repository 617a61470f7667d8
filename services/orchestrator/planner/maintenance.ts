/** Catalog maintenance runs (checkpoint, events compaction, expiry) and the no-op benchmark run. */
import type { TenantState } from '../../../catalog/index.js';
import { compareText, padIndex } from './order.js';
import { msOf } from './time.js';
import type { EventsCompactionTrigger, ExpireTrigger, NoopTrigger } from './triggers.js';
import type { KindPlan, PlanTaskBody } from './types.js';

/** Paths per expire task: bounds one task's deletes (and its inputs' size). */
export const EXPIRE_CHUNK = 1000;

export function planCheckpoint(): KindPlan {
  return {
    tasks: [{ taskKey: 'checkpoint', kind: 'checkpoint', dependsOn: [], inputs: {} }],
    summary: { tasks: 1 },
  };
}

export function planEventsCompaction(trigger: EventsCompactionTrigger): KindPlan {
  return {
    tasks: [
      {
        taskKey: 'events-compaction',
        kind: 'events-compaction',
        dependsOn: [],
        inputs: { settleMs: trigger.settleMs },
      },
    ],
    summary: { tasks: 1 },
  };
}

/** Objects of files removed at or before `logicalTime − windowMs` (by their commit's timestamp). */
export function planExpire(trigger: ExpireTrigger, state: TenantState): KindPlan {
  const horizonMs = msOf(trigger.logicalTime) - trigger.windowMs;
  const bytesByPath = new Map<string, number>();
  let tombstones = 0;
  for (const tombstone of state.tombstones) {
    tombstones++;
    if (tombstone.removedAt <= horizonMs && !bytesByPath.has(tombstone.path))
      bytesByPath.set(tombstone.path, tombstone.bytes);
  }
  const paths = [...bytesByPath.keys()].sort(compareText);
  let bytes = 0;
  for (const size of bytesByPath.values()) bytes += size;
  const tasks: PlanTaskBody[] = [];
  for (let start = 0; start < paths.length; start += EXPIRE_CHUNK) {
    tasks.push({
      taskKey: `expire:${padIndex(start / EXPIRE_CHUNK)}`,
      kind: 'expire',
      dependsOn: [],
      inputs: { paths: paths.slice(start, start + EXPIRE_CHUNK) },
    });
  }
  return { tasks, summary: { tasks: tasks.length, paths: paths.length, bytes, tombstones } };
}

export function planNoop(trigger: NoopTrigger): KindPlan {
  const tasks: PlanTaskBody[] = [];
  for (let i = 0; i < trigger.tasks; i++) {
    tasks.push({
      taskKey: `noop:${padIndex(i)}`,
      kind: 'noop',
      dependsOn: [],
      inputs: { sleepMs: trigger.sleepMs },
    });
  }
  return { tasks, summary: { tasks: tasks.length } };
}
