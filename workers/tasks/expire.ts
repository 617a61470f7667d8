/**
 * Expiry (DESIGN.md §4, §6; ADR 0026): deletes objects the catalog no longer needs. A listed task
 * deletes the objects of named tombstones; the sweep lists the tenant's data and scratch prefixes
 * and deletes what is stale there, including objects the catalog never named: outputs of attempts
 * that died or lost their commit (ADR 0009), refused continuous-query swaps (ADR 0019), and replay
 * scratch; and the temp files of local-store writes that a crash cut off. Nothing live is ever deleted: every key is checked against the newest catalog state,
 * and the sweep checks again just before it deletes.
 */
import { performance } from 'node:perf_hooks';
import { type ObjectInfo, paths, type TenantState, tableKey, WeirError } from '../../catalog/index.js';
import { ContractError, type DispatchEnvelope, type TaskResult } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { replayIdOf, type TaskContext } from './context.js';
import { taskResult } from './result.js';

const DELETE_CONCURRENCY = 8;
/** Deletes per sweep task: bounds its report; a larger backlog is the next run's. */
export const SWEEP_MAX_DELETES = 10_000;
/**
 * However the sweep's bounds were computed, an object the catalog never named is kept while it is
 * younger than this by the worker's clock: a trigger with a logical time in the future must not
 * delete an upload whose commit is still coming. An attempt publishes its outputs and commits them
 * within its own run, far inside a day.
 */
export const MIN_ORPHAN_AGE_MS = 24 * 3_600_000;

type ExpireInputs = TaskInputs<'expire'>;
type SweepBounds = Extract<ExpireInputs, { sweep: unknown }>['sweep'];

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

export async function runExpire(
  envelope: DispatchEnvelope,
  inputs: ExpireInputs,
  ctx: TaskContext,
): Promise<TaskResult> {
  return 'sweep' in inputs ? sweep(envelope, inputs.sweep, ctx) : expireListed(envelope, inputs.paths, ctx);
}

/**
 * Deletes the objects of the listed removed (tombstoned) data files. Every path is checked against
 * the newest catalog state before anything is deleted: a live file or a key the catalog never
 * removed refuses the whole task. Deleting an absent object is fine, so a retry is harmless.
 */
async function expireListed(
  envelope: DispatchEnvelope,
  listed: readonly string[],
  ctx: TaskContext,
): Promise<TaskResult> {
  const started = performance.now();
  const { tenant } = envelope;
  const head = await ctx.catalogs.forTenant(tenant).refresh();
  const dataRoot = paths.dataKeys.prefix(tenant);
  const keys = [...new Set(listed)];
  for (const key of keys) {
    paths.assertSafeKey(key);
    if (!key.startsWith(dataRoot)) {
      throw new ContractError(`inputs of an expire task: ${key} is not a data file key of tenant ${tenant}`);
    }
    if (isLive(head, dataRoot, key)) {
      throw new WeirError(
        'EXPIRE_LIVE_FILE',
        `refusing to delete ${key}: it is live at catalog version ${head.version}`,
        409,
        { path: key, catalogVersion: head.version },
      );
    }
    if (head.tombstones.get(key) === undefined) {
      throw new WeirError(
        'EXPIRE_NOT_REMOVED',
        `refusing to delete ${key}: the catalog never removed it (at version ${head.version})`,
        409,
        { path: key, catalogVersion: head.version },
      );
    }
  }
  if (replayIdOf(envelope) !== undefined) {
    return taskResult(envelope, { summary: { paths: keys.length, replay: true, ms: elapsed(started) } });
  }
  await deleteAll(keys, ctx);
  return taskResult(envelope, {
    wrote: { deleted: keys },
    summary: { deleted: keys.length, catalogVersion: head.version, ms: elapsed(started) },
  });
}

/** Why the sweep deletes an object. */
type Staleness = 'expired' | 'orphan' | 'scratch';

/** Candidates checked against a fresh catalog state (and, for never-named ones, their own time) per round. */
const SWEEP_CHECK_CHUNK = 100;

/**
 * Lists the tenant's replay scratch and data objects and deletes scratch objects last written at or
 * before `writtenBeforeMs`, and data objects that are not live at the newest catalog state and
 * either were removed at or before `removedBeforeMs`, or were never named by the catalog and last
 * written at or before `writtenBeforeMs`. A path the catalog once named stays a tombstone forever
 * (paths are never re-added), so "neither live nor removed" means "never committed as of this
 * state": only an upload awaiting its commit could become live later. The grace keeps those, and
 * `publish` rewrites an output an attempt is about to commit, so its time is that attempt's.
 */
async function sweep(envelope: DispatchEnvelope, bounds: SweepBounds, ctx: TaskContext): Promise<TaskResult> {
  const started = performance.now();
  const { tenant } = envelope;
  const catalog = ctx.catalogs.forTenant(tenant);
  const writtenBeforeMs = Math.min(bounds.writtenBeforeMs, (ctx.now ?? Date.now)() - MIN_ORPHAN_AGE_MS);
  const dataRoot = paths.dataKeys.prefix(tenant);
  const scratchRoot = `${paths.tenantPrefix(tenant)}scratch/`;
  const writtenLongAgo = (info: ObjectInfo) => info.lastModified.getTime() <= writtenBeforeMs;
  let head = await catalog.refresh();
  const candidates: { key: string; staleness: Staleness }[] = [];
  let more = false;
  /** Scratch first: it is small, and a backlog of data objects must not starve it. */
  const listings: [string, (info: ObjectInfo) => Staleness | undefined][] = [
    [scratchRoot, (info) => (writtenLongAgo(info) ? 'scratch' : undefined)],
    [
      dataRoot,
      (info) => {
        if (isLive(head, dataRoot, info.key)) return undefined;
        const tombstone = head.tombstones.get(info.key);
        if (tombstone) return tombstone.removedAt <= bounds.removedBeforeMs ? 'expired' : undefined;
        return writtenLongAgo(info) ? 'orphan' : undefined;
      },
    ],
  ];
  listing: for (const [prefix, stalenessOf] of listings) {
    for await (const info of ctx.store.listAll(prefix)) {
      ctx.signal?.throwIfAborted();
      const staleness = stalenessOf(info);
      if (staleness === undefined) continue;
      if (candidates.length === SWEEP_MAX_DELETES) {
        more = true;
        break listing;
      }
      candidates.push({ key: info.key, staleness });
    }
  }
  const replay = replayIdOf(envelope) !== undefined;
  const deleted: string[] = [];
  const figures = { expired: 0, orphan: 0, scratch: 0, bytes: 0 };
  // A commit since the listing may have made an old upload live, and an attempt about to commit
  // rewrites its outputs: each round checks a fresh state, and every never-named object's own
  // time, just before deleting.
  for (let start = 0; start < candidates.length; start += SWEEP_CHECK_CHUNK) {
    ctx.signal?.throwIfAborted();
    head = await catalog.refresh();
    const round = candidates.slice(start, start + SWEEP_CHECK_CHUNK);
    const checked = await Promise.all(
      round.map(async ({ key, staleness }) => {
        if (staleness !== 'scratch' && isLive(head, dataRoot, key)) return undefined;
        const info = await ctx.store.head(key);
        if (!info || (staleness !== 'expired' && !writtenLongAgo(info))) return undefined;
        return { key, staleness, bytes: info.size };
      }),
    );
    const stale = checked.filter((c) => c !== undefined);
    if (!replay)
      await deleteAll(
        stale.map((c) => c.key),
        ctx,
      );
    for (const { key, staleness, bytes } of stale) {
      deleted.push(key);
      figures[staleness]++;
      figures.bytes += bytes;
    }
  }
  // Temp files that a crash cut off mid-write (local store) age by the same bound as never-named uploads.
  let incompleteWrites = 0;
  if (!replay) {
    await ctx.checkCancelled?.();
    incompleteWrites = await ctx.store.removeIncompleteWrites(
      paths.tenantPrefix(tenant),
      new Date(writtenBeforeMs),
    );
  }
  const summary = { ...figures, incompleteWrites, more, catalogVersion: head.version, ms: elapsed(started) };
  if (replay) return taskResult(envelope, { summary: { ...summary, replay: true } });
  return taskResult(envelope, { wrote: { deleted }, summary: { ...summary, deleted: deleted.length } });
}

/** Deletes the keys, unless the run was cancelled; each round of the sweep asks again. */
async function deleteAll(keys: readonly string[], ctx: TaskContext): Promise<void> {
  if (keys.length === 0) return;
  await ctx.checkCancelled?.();
  let next = 0;
  const worker = async () => {
    while (next < keys.length) {
      ctx.signal?.throwIfAborted();
      await ctx.store.delete(keys[next++]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
}

/** Whether a data key is a live file of the state: `{db}/{table}/{partition…}/{file}` after the data root. */
function isLive(state: TenantState, dataRoot: string, key: string): boolean {
  const parts = key.slice(dataRoot.length).split('/');
  if (parts.length < 4) return false;
  const partition = parts.slice(2, -1).join('/');
  return state.tables.get(tableKey(parts[0]!, parts[1]!))?.partitions.get(partition)?.has(key) ?? false;
}
