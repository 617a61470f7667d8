/**
 * What the schedules should plan at a tick: compaction candidates of a tier and the retention
 * triggers of every retention policy. Pure, like the planner: the tick's logical time is the
 * only time used, and the answer is sorted so equal inputs give equal lists.
 */
import type { TenantState } from '../../../catalog/index.js';
import { invalidTrigger } from './errors.js';
import { compareText } from './order.js';
import { DAY_MS, HOUR_MS, msOf, partitionBoundsMs } from './time.js';
import {
  type CompactionTrigger,
  normaliseLogicalTime,
  parseTrigger,
  type RetentionTrigger,
  sealTrigger,
} from './triggers.js';

export type CompactionTier = CompactionTrigger['tier'];

export interface CompactionCandidateOptions {
  tier: CompactionTier;
  /** The tick's scheduled time (ISO-8601 with a zone). */
  logicalTime: string;
  /** Hourly tier only: least number of files worth compacting (default 10). The daily tier takes any partition with ≥ 2. */
  minFiles?: number;
  /** Passed on to every trigger (defaults of the compaction trigger otherwise). */
  dedup?: boolean;
  targetRows?: number;
}

/** How long after a partition's end each tier waits for late data before it compacts. */
export const TIER_GRACE_MS: Readonly<Record<CompactionTier, number>> = { hourly: HOUR_MS, daily: DAY_MS };
export const DEFAULT_HOURLY_MIN_FILES = 10;
const DAILY_MIN_FILES = 2;

/**
 * Compaction triggers for the partitions a tier should compact at `logicalTime`:
 * - hourly: partitions that ended at least 1 h before and hold ≥ `minFiles` files;
 * - daily: partitions that ended at least 24 h before and hold ≥ 2 such files.
 * Sorted by database, table, partition.
 */
export function compactionCandidates(
  state: TenantState,
  options: CompactionCandidateOptions,
): CompactionTrigger[] {
  const { tier } = options;
  if (tier !== 'hourly' && tier !== 'daily') {
    throw invalidTrigger(`invalid compaction candidates: tier: must be hourly or daily`, 400, {
      field: 'tier',
    });
  }
  const minFiles = tier === 'daily' ? DAILY_MIN_FILES : (options.minFiles ?? DEFAULT_HOURLY_MIN_FILES);
  if (!Number.isSafeInteger(minFiles) || minFiles < 2) {
    throw invalidTrigger(`invalid compaction candidates: minFiles: must be an integer ≥ 2`, 400, {
      field: 'minFiles',
    });
  }
  // Validates the tick (and the pass-through options) once, and gives the canonical time.
  const template = parseTrigger({
    kind: 'compaction',
    tenant: state.tenant,
    logicalTime: options.logicalTime,
    tier,
    database: 'x',
    table: 'x',
    partition: 'date=1970-01-01',
    dedup: options.dedup,
    targetRows: options.targetRows,
  }) as CompactionTrigger;
  const latestEndMs = msOf(template.logicalTime) - TIER_GRACE_MS[tier];

  const out: CompactionTrigger[] = [];
  const tables = [...state.tables.values()].sort(
    (a, b) => compareText(a.database, b.database) || compareText(a.name, b.name),
  );
  for (const table of tables) {
    const partitions: string[] = [];
    for (const [partition, files] of table.partitions) {
      if (partitionBoundsMs(partition).endMs > latestEndMs) continue;
      if (files.size < minFiles) continue;
      if (tier === 'daily') {
        // Files already at the target size are done: counting them would recompact a large
        // partition every day. (An hourly candidate needs ≥ 10 files, which a compacted
        // partition never has, and reading every file entry is most of this function's cost.)
        let small = 0;
        for (const file of files.values()) if (file.rows < template.targetRows && ++small >= minFiles) break;
        if (small < minFiles) continue;
      }
      partitions.push(partition);
    }
    partitions.sort(compareText);
    for (const partition of partitions) {
      // Catalog names and partitions obey the trigger's rules, so the result is already normal.
      out.push(sealTrigger({ ...template, database: table.database, table: table.name, partition }));
    }
  }
  return out;
}

/** One retention trigger per retention policy (sorted by policy id) for the tick at `logicalTime`. */
export function retentionTriggers(state: TenantState, logicalTime: string): RetentionTrigger[] {
  const tick = normaliseLogicalTime(logicalTime);
  const ids = [...state.policies.values()]
    .filter((p) => p.kind === 'retention')
    .map((p) => p.id)
    .sort(compareText);
  return ids.map(
    (policyId) =>
      parseTrigger({
        kind: 'retention',
        tenant: state.tenant,
        logicalTime: tick,
        policyId,
      }) as RetentionTrigger,
  );
}
