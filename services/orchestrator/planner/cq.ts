/**
 * Continuous queries (DESIGN.md §6, ADR 0019): a CQ materializes its query over consecutive
 * windows `[start, start + interval)` into a destination table, one task and one commit per
 * window. Its progress — the watermark (end of the last window materialized in order) and the
 * catalog version up to which source changes were accounted for — is a policy entry its window
 * commits update. A tick plans the windows that closed since the watermark and re-plans every
 * materialized window that source files added since then (late data, rewrites by deletes) overlap.
 */
import { z } from 'zod';
import {
  type CommitSummary,
  fileRecency,
  liveFiles,
  type PolicyEntry,
  paths,
  type TenantState,
  tableKey,
  WeirError,
} from '../../../catalog/index.js';
import type { TaskInputs } from '../../../proto/task-inputs.js';
import { invalidPolicy, invalidTrigger, policyNotFound } from './errors.js';
import { isoOf, msOf, partitionBoundsMs } from './time.js';
import type { CqTrigger } from './triggers.js';
import type { KindPlan, PlanTaskBody } from './types.js';

/** Most windows one tick plans; the rest wait for the next tick. */
export const MAX_TICK_WINDOWS = 1_000;
/** Most windows one range (execute, backfill) may cover. */
export const MAX_RANGE_WINDOWS = 10_000;
/**
 * Commits that add files holding rows already in the table (a compaction that does not dedup):
 * such a file is new to a CQ only if one of its rows is, i.e. by its recency (`fileRecency`: the
 * newest version at which one of its rows was first committed), not by the version adding it.
 */
const SAME_ROWS_OPERATIONS = new Set(['compaction']);
/**
 * The operation of a compaction that dropped duplicate rows (ADR 0011): its outputs hold fewer
 * rows than its inputs, so for a CQ its outputs are new and its removals are like a delete's.
 */
export const DEDUP_COMPACTION_OPERATION = 'compaction-dedup';
/** Commits whose removed files held rows the table no longer has. */
const ROWS_REMOVED_OPERATIONS = new Set(['delete', DEDUP_COMPACTION_OPERATION]);

const tableName = z.string().regex(paths.NAME_RULES.table, 'invalid table name');

/** The part of a CQ policy's definition the planner reads; other members are ignored. */
export const cqDefinitionSchema = z.looseObject({
  name: z.string().min(1),
  source_measurement: tableName,
  destination_measurement: tableName,
  /** SELECT with `{start_time}` / `{end_time}` placeholders. */
  query: z.string().min(1),
  interval_ms: z
    .number()
    .int()
    .min(1_000)
    .max(31 * 86_400_000),
  /** How long after a window ends its first materialization waits for late rows. */
  delay_ms: z.number().int().min(0).max(86_400_000),
  /** Start of the first window (µs); aligned to the interval. */
  start_us: z.number().int().min(0),
  is_active: z.boolean(),
});
export type CqDefinition = z.output<typeof cqDefinitionSchema>;

export const cqProgressSchema = z.looseObject({
  progress_of: z.string(),
  /** Every window ending at or before this (µs) was materialized. */
  watermark_us: z.number().int().min(0),
  /** Source files added up to this catalog version are accounted for. */
  checked_version: z.number().int().min(0),
  /**
   * A scan of the source changes after `checked_version` up to this version made more windows
   * stale than a tick plans: ticks go on with that scan (from `stale_cursor_us`) until it is done.
   */
  stale_version: z.number().int().min(0).optional(),
  /** Windows of that scan starting before this (µs) were re-materialized. */
  stale_cursor_us: z.number().int().min(0).optional(),
});
export type CqProgress = z.output<typeof cqProgressSchema>;

/** The progress entry of a CQ (`cq_x` → `cqp_x`). */
export function cqProgressId(cqId: string): string {
  return `cqp_${cqId.replace(/^cq_/, '')}`;
}

export interface CqWindow {
  startUs: number;
  endUs: number;
}

export function cqDefinitionOf(policy: PolicyEntry): CqDefinition {
  if (policy.kind !== 'cq') {
    throw invalidTrigger(`invalid cq trigger: cqId: policy ${policy.id} is a ${policy.kind} policy`, 400, {
      field: 'cqId',
    });
  }
  const parsed = cqDefinitionSchema.safeParse(policy.definition);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = `definition.${issue.path.map(String).join('.')}`;
    throw invalidPolicy(policy.id, `${field}: ${issue.message}`, field);
  }
  if (parsed.data.start_us % (parsed.data.interval_ms * 1000) !== 0)
    throw invalidPolicy(
      policy.id,
      'definition.start_us is not aligned to the interval',
      'definition.start_us',
    );
  return parsed.data;
}

/** The CQ's progress at this state; before its first window commit, its start and creation version. */
export function cqProgressAt(state: TenantState, policy: PolicyEntry, definition: CqDefinition): CqProgress {
  const entry = state.policies.get(cqProgressId(policy.id));
  const parsed = entry ? cqProgressSchema.safeParse(entry.definition) : undefined;
  if (parsed?.success) return parsed.data;
  return { progress_of: policy.id, watermark_us: definition.start_us, checked_version: policy.version };
}

/**
 * The scan of source changes a tick goes on with: changes after the checked version up to
 * `version`, windows from `fromUs` on. An unfinished scan (more stale windows than a tick plans)
 * is finished before later changes are looked at; otherwise a scan is up to the state's version.
 */
export interface CqStaleScan {
  version: number;
  fromUs: number;
}

export function cqStaleScan(state: TenantState, progress: CqProgress): CqStaleScan {
  const { stale_version: version, stale_cursor_us: fromUs } = progress;
  if (version !== undefined && fromUs !== undefined && version > progress.checked_version)
    return { version, fromUs };
  return { version: state.version, fromUs: 0 };
}

/**
 * The windows a tick at `logicalTime` should (re)materialize, whether that covers every stale one
 * of the scan, and the scan. Past MAX_TICK_WINDOWS, due and stale windows each get at least half of
 * the tick, so neither a backlog of due windows nor one of stale windows holds the other back.
 */
export function cqTickWindows(
  state: TenantState,
  policy: PolicyEntry,
  logicalTime: string,
): {
  windows: CqWindow[];
  stale: ReadonlySet<number>;
  invalid: number;
  complete: boolean;
  scan: CqStaleScan;
} {
  const definition = cqDefinitionOf(policy);
  const progress = cqProgressAt(state, policy, definition);
  const width = definition.interval_ms * 1000;
  const dueEnd = Math.floor((msOf(logicalTime) - definition.delay_ms) / definition.interval_ms) * width;
  const scan = cqStaleScan(state, progress);
  const stale = staleWindowStarts(state, policy.database, definition, progress, width, scan).sort(
    (a, b) => a - b,
  );
  // Floored: a watermark left by windows of an earlier, narrower interval may fall inside one.
  const dueStart = Math.floor(progress.watermark_us / width) * width;
  const dueCount = Math.max(0, Math.min((dueEnd - dueStart) / width, MAX_TICK_WINDOWS));
  const staleBudget = Math.min(stale.length, Math.max(MAX_TICK_WINDOWS / 2, MAX_TICK_WINDOWS - dueCount));
  const kept = new Set(stale.slice(0, staleBudget));
  const starts = new Set<number>(kept);
  for (let start = dueStart; start + width <= dueEnd && starts.size < MAX_TICK_WINDOWS; start += width)
    starts.add(start);
  const ordered = [...starts].sort((a, b) => a - b);
  return {
    windows: ordered.map((startUs) => ({ startUs, endUs: startUs + width })),
    stale: kept,
    invalid: stale.length,
    complete: kept.size === stale.length,
    scan,
  };
}

/**
 * Starts of materialized windows (below the watermark) that source data changed since the checked
 * version overlaps: files added by any commit but a compaction, files a compaction added holding
 * rows first committed after it, and partitions a delete or a deduplicating compaction removed
 * files from. Before the CQ's start, only windows the destination holds rows of (a backfill).
 */
function staleWindowStarts(
  state: TenantState,
  database: string,
  definition: CqDefinition,
  progress: CqProgress,
  width: number,
  scan: CqStaleScan,
): number[] {
  const source = state.tables.get(tableKey(database, definition.source_measurement));
  if (!source || progress.checked_version >= scan.version) return [];
  const inScan = (version: number) => version > progress.checked_version && version <= scan.version;
  const ranges: [number, number][] = [];
  for (const files of source.partitions.values()) {
    for (const file of files.values()) {
      if (file.addedVersion <= progress.checked_version || file.minTime >= progress.watermark_us) continue;
      // Late rows a compaction merged before this tick are in its output, whose recency is theirs.
      const sameRows = SAME_ROWS_OPERATIONS.has(operationAt(state, file.addedVersion) ?? '');
      if (!inScan(sameRows ? fileRecency(file) : file.addedVersion)) continue;
      ranges.push([file.minTime, file.maxTime]);
    }
  }
  const tombstones = state.tombstones;
  for (let i = tombstones.lastIndexWhere((t) => t.removedVersion <= progress.checked_version) + 1; ; i++) {
    const tombstone = tombstones.at(i);
    if (!tombstone || tombstone.removedVersion > scan.version) break;
    if (tombstone.database !== database || tombstone.table !== definition.source_measurement) continue;
    if (!ROWS_REMOVED_OPERATIONS.has(operationAt(state, tombstone.removedVersion) ?? '')) continue;
    const { startMs, endMs } = partitionBoundsMs(tombstone.partition);
    ranges.push([startMs * 1000, endMs * 1000 - 1]);
  }
  // Windows before the CQ's start are the destination's only if a range run (backfill, execute)
  // materialized them: those go stale like the others; the rest were never asked for.
  const destination = state.tables.get(tableKey(database, definition.destination_measurement));
  const backfilled = destination
    ? [...liveFiles(destination)].filter((f) => f.minTime < definition.start_us)
    : [];
  const materialized = (start: number) =>
    start >= definition.start_us || backfilled.some((f) => f.minTime < start + width && f.maxTime >= start);
  const starts = new Set<number>();
  for (const [from, to] of ranges) {
    const last = Math.min(to, progress.watermark_us - 1);
    for (let start = Math.max(Math.floor(from / width) * width, scan.fromUs); start <= last; start += width) {
      if (materialized(start)) starts.add(start);
    }
  }
  return [...starts];
}

/** The commit at `version`, from the state's history. */
export function commitAt(state: TenantState, version: number): CommitSummary | undefined {
  const entry = state.history.at(state.history.lastIndexWhere((e) => e.version <= version));
  return entry?.version === version ? entry : undefined;
}

/** The `operation` of the commit at `version`. */
function operationAt(state: TenantState, version: number): string | undefined {
  return commitAt(state, version)?.operation;
}

/**
 * Windows covering `[start, end)`, the start floored and the end ceiled to the interval, as a
 * range run (execute, backfill) at `logicalMs` materializes them. Refuses a range of more than
 * MAX_RANGE_WINDOWS windows — counted, never enumerated, since a 1s interval over years would be
 * hundreds of millions of them — and one whose last window has not closed at `logicalMs`: its rows
 * are still arriving, so its aggregate would be partial.
 */
export function cqRangeWindows(
  definition: CqDefinition,
  startMs: number,
  endMs: number,
  logicalMs: number,
): CqWindow[] {
  const width = definition.interval_ms * 1000;
  const first = Math.floor((startMs * 1000) / width) * width;
  const end = Math.ceil((endMs * 1000) / width) * width;
  const count = (end - first) / width;
  if (count > MAX_RANGE_WINDOWS) {
    throw new WeirError(
      'CQ_RANGE_TOO_LARGE',
      `the range ${isoOf(first / 1000)} to ${isoOf(end / 1000)} covers ${count} windows of ${definition.interval_ms / 1000}s, more than the limit of ${MAX_RANGE_WINDOWS}; split it into smaller ranges`,
      400,
      { field: 'range', windows: count, limit: MAX_RANGE_WINDOWS },
    );
  }
  if (end > logicalMs * 1000) {
    throw new WeirError(
      'CQ_RANGE_NOT_CLOSED',
      `the range's last window ends at ${isoOf(end / 1000)}, after the run's logical time ${isoOf(logicalMs)}: a window is materialized only once it has closed`,
      400,
      { field: 'range' },
    );
  }
  return Array.from({ length: count }, (_, i) => ({
    startUs: first + i * width,
    endUs: first + (i + 1) * width,
  }));
}

export function planCq(trigger: CqTrigger, state: TenantState): KindPlan {
  const policy = state.policies.get(trigger.cqId);
  if (!policy) throw policyNotFound(trigger.cqId, state.version);
  const definition = cqDefinitionOf(policy);
  const destination = state.tables.get(tableKey(policy.database, definition.destination_measurement));
  if (!destination) {
    throw invalidPolicy(
      policy.id,
      `destination table ${policy.database}.${definition.destination_measurement} does not exist`,
      'definition.destination_measurement',
    );
  }
  let windows: CqWindow[];
  let complete = false;
  let invalid = 0;
  let stale: ReadonlySet<number> = new Set();
  let scan: CqStaleScan | undefined;
  if (trigger.range) {
    windows = cqRangeWindows(
      definition,
      msOf(trigger.range.start),
      msOf(trigger.range.end),
      msOf(trigger.logicalTime),
    );
  } else {
    ({ windows, complete, invalid, stale, scan } = cqTickWindows(state, policy, trigger.logicalTime));
  }
  const key = (w: CqWindow) => `window:${new Date(w.startUs / 1000).toISOString()}`;
  const tasks: PlanTaskBody[] = windows.map((window, i) => {
    const inputs: TaskInputs<'cq'> = {
      cqId: policy.id,
      policyVersion: policy.version,
      progressId: cqProgressId(policy.id),
      database: policy.database,
      source: definition.source_measurement,
      destination: definition.destination_measurement,
      query: definition.query,
      windowStartUs: window.startUs,
      windowEndUs: window.endUs,
      columns: destination.columns.map(({ name, type, role }) => ({ name, type, role })),
      sortKey: [...destination.sortKey],
      partitioning: destination.partitioning,
      // A range run leaves the progress alone: ticks own it.
      advanceWatermark: !trigger.range,
      // The last window of a tick that covered every stale window of its scan accounts for the
      // source up to the scan's version.
      checkedVersion: scan && complete && i === windows.length - 1 ? scan.version : -1,
      // A tick that could not: each of its stale windows moves the scan's cursor past itself.
      ...(scan && !complete && stale.has(window.startUs)
        ? { staleCursor: { version: scan.version, untilUs: window.endUs } }
        : {}),
    };
    // Windows commit in order, so the watermark only moves forward.
    return { taskKey: key(window), kind: 'cq', dependsOn: i === 0 ? [] : [key(windows[i - 1]!)], inputs };
  });
  return {
    tasks,
    summary: {
      tasks: tasks.length,
      windows: windows.length,
      invalidWindows: invalid,
      intervalMs: definition.interval_ms,
      ...(windows.length > 0
        ? { fromUs: windows[0]!.startUs, toUs: windows[windows.length - 1]!.endUs }
        : {}),
    },
  };
}

/** Tick triggers of every active CQ that has windows to (re)materialize at `logicalTime`, by id. */
export function cqTriggers(state: TenantState, logicalTime: string): CqTrigger[] {
  const triggers: CqTrigger[] = [];
  for (const policy of [...state.policies.values()].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  )) {
    if (policy.kind !== 'cq' || !cqDefinitionSchema.safeParse(policy.definition).success) continue;
    if (!cqDefinitionOf(policy).is_active) continue;
    if (cqTickWindows(state, policy, logicalTime).windows.length === 0) continue;
    triggers.push({ kind: 'cq', tenant: state.tenant, logicalTime, cqId: policy.id });
  }
  return triggers;
}
