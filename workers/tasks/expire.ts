/**
 * Expiry (DESIGN.md §4, §6; ADR 0026): deletes objects the catalog no longer needs. A listed task
 * deletes the objects of named tombstones; the sweep lists the tenant's data and scratch prefixes
 * and deletes what is stale there, including objects the catalog never named: outputs of attempts
 * that died or lost their commit (ADR 0009), refused continuous-query swaps (ADR 0019), and replay
 * scratch. Nothing live is ever deleted: every key is checked against the newest catalog state,
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
 * delete an upload whose commit is still coming.
 */
export const MIN_ORPHAN_AGE_MS = 3_600_000;

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

/**
 * Lists the tenant's data objects and deletes those that are not live at the newest catalog state
 * and either were removed at or before `removedBeforeMs`, or were never named by the catalog and
 * last written at or before `writtenBeforeMs`; and replay scratch objects written before that too.
 * A path the catalog once named stays a tombstone forever (paths are never re-added), so "neither
 * live nor removed" means "never committed as of this state": only an upload still awaiting its
 * commit could become live later, and the grace keeps those.
 */
async function sweep(envelope: DispatchEnvelope, bounds: SweepBounds, ctx: TaskContext): Promise<TaskResult> {
  const started = performance.now();
  const { tenant } = envelope;
  const catalog = ctx.catalogs.forTenant(tenant);
  const writtenBeforeMs = Math.min(bounds.writtenBeforeMs, (ctx.now ?? Date.now)() - MIN_ORPHAN_AGE_MS);
  const dataRoot = paths.dataKeys.prefix(tenant);
  const scratchRoot = `${paths.tenantPrefix(tenant)}scratch/`;
  let head = await catalog.refresh();
  const found = new Map<string, { staleness: Staleness; bytes: number }>();
  let more = false;
  const consider = (object: ObjectInfo, staleness: Staleness | undefined) => {
    if (staleness === undefined) return true;
    if (found.size === SWEEP_MAX_DELETES) {
      more = true;
      return false;
    }
    found.set(object.key, { staleness, bytes: object.size });
    return true;
  };
  const writtenLongAgo = (object: ObjectInfo) => object.lastModified.getTime() <= writtenBeforeMs;
  for await (const object of ctx.store.listAll(dataRoot)) {
    ctx.signal?.throwIfAborted();
    let staleness: Staleness | undefined;
    if (!isLive(head, dataRoot, object.key)) {
      const tombstone = head.tombstones.get(object.key);
      if (tombstone) staleness = tombstone.removedAt <= bounds.removedBeforeMs ? 'expired' : undefined;
      else staleness = writtenLongAgo(object) ? 'orphan' : undefined;
    }
    if (!consider(object, staleness)) break;
  }
  if (!more) {
    for await (const object of ctx.store.listAll(scratchRoot)) {
      ctx.signal?.throwIfAborted();
      if (!consider(object, writtenLongAgo(object) ? 'scratch' : undefined)) break;
    }
  }
  // A commit since the listing may have made an old upload live: check again, just before deleting.
  head = await catalog.refresh();
  const keys = [...found.keys()].filter((key) => !key.startsWith(dataRoot) || !isLive(head, dataRoot, key));
  const figures = { expired: 0, orphan: 0, scratch: 0, bytes: 0 };
  for (const key of keys) {
    const { staleness, bytes } = found.get(key)!;
    figures[staleness]++;
    figures.bytes += bytes;
  }
  const summary = { ...figures, more, catalogVersion: head.version };
  if (replayIdOf(envelope) !== undefined) {
    return taskResult(envelope, { summary: { ...summary, replay: true, ms: elapsed(started) } });
  }
  await deleteAll(keys, ctx);
  return taskResult(envelope, {
    wrote: { deleted: keys },
    summary: { ...summary, deleted: keys.length, ms: elapsed(started) },
  });
}

async function deleteAll(keys: readonly string[], ctx: TaskContext): Promise<void> {
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
