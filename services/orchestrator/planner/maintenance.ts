/** Catalog maintenance runs (checkpoint, events compaction, expiry) and the no-op benchmark run. */
import type { TenantState } from '../../../catalog/index.js';
import { compareText, padIndex } from './order.js';
import { DAY_MS, msOf } from './time.js';
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

/**
 * How far back before the horizon an expire run lists tombstones itself: two daily runs list each
 * removal. Older ones are the sweep's (what a failed or missed run left); without the bound every
 * run would list every removal the tenant ever made.
 */
export const EXPIRE_LISTED_SPAN_MS = 2 * DAY_MS;

/**
 * Objects of files removed in the two days up to `logicalTime − windowMs` (by their commit's
 * timestamp), in tasks of EXPIRE_CHUNK paths, and one sweep task: it lists the tenant's data and
 * scratch objects and deletes those removed before the listed span, and those the catalog never
 * named (outputs of attempts that never committed, replay scratch) written `orphanGraceMs` before
 * the logical time (ADR 0026).
 */
export function planExpire(trigger: ExpireTrigger, state: TenantState): KindPlan {
  const logicalMs = msOf(trigger.logicalTime);
  const horizonMs = logicalMs - trigger.windowMs;
  const bytesByPath = new Map<string, number>();
  let tombstones = 0;
  for (const tombstone of state.tombstones) {
    tombstones++;
    const { removedAt, path } = tombstone;
    if (removedAt <= horizonMs && removedAt > horizonMs - EXPIRE_LISTED_SPAN_MS && !bytesByPath.has(path))
      bytesByPath.set(path, tombstone.bytes);
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
  tasks.push({
    taskKey: 'expire:sweep',
    kind: 'expire',
    dependsOn: [],
    inputs: {
      sweep: {
        removedBeforeMs: horizonMs - EXPIRE_LISTED_SPAN_MS,
        writtenBeforeMs: logicalMs - trigger.orphanGraceMs,
      },
    },
  });
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
