/**
 * Run keys and ids (DESIGN.md §6, ADR 0007). Every id is a type prefix plus the first 32 hex
 * digits (128 bits) of a sha256, so it is never integer-like, never holds ':' (both matter to
 * BullMQ jobIds) and satisfies `paths.NAME_RULES.objectId` (output keys derive from task ids).
 * Composite inputs are hashed as a canonical JSON array, which cannot be ambiguous whatever
 * characters the parts hold.
 */
import { canonicalJson, paths, sha256Hex } from '../../../catalog/index.js';
import type { Trigger } from './triggers.js';
import type { PlanBody } from './types.js';

export const ID_PREFIX = { run: 'run_', plan: 'pln_', task: 'tsk_', attempt: 'att_' } as const;
export const ID_PATTERN = /^(run|pln|tsk|att)_[0-9a-f]{32}$/;

function digest(text: string): string {
  return sha256Hex(text).slice(0, 32);
}

/**
 * The name of a trigger: one run key, one run. Times are the trigger's canonical logical time.
 * - `compaction:{tier}:{db}.{table}:{partition}:{logicalTime}` (DESIGN names only the partition;
 *   tier and tick are added so a partition can be compacted again, see ADR 0007)
 * - `retention:{policyId}:{logicalTime}`, plus `:dry-run` for a dry run (which must not take
 *   the run id of the real run of the same tick)
 * - `flush:{batchId}`: a staging batch is flushed by one run whenever and however often it is
 *   asked for (recovery after a crash asks again)
 * - `delete:{db}.{table}:{digest of predicate and files}:{logicalTime}`
 * - `cq:{cqId}:{logicalTime}` for a tick (it may re-materialize stale windows, so the window alone
 *   cannot name it), `cq:{cqId}:{start}/{end}:{logicalTime}` for a range
 * - `checkpoint:{catalogVersion}`, `events-compaction:{logicalTime}`, `expire:{logicalTime}`,
 *   `noop:{logicalTime}`
 */
export function runKeyOf(trigger: Trigger, catalogVersion: number): string {
  switch (trigger.kind) {
    case 'compaction':
      return `compaction:${trigger.tier}:${trigger.database}.${trigger.table}:${trigger.partition}:${trigger.logicalTime}`;
    case 'retention':
      return `retention:${trigger.policyId}:${trigger.logicalTime}${trigger.dryRun ? ':dry-run' : ''}`;
    case 'checkpoint':
      if (!Number.isSafeInteger(catalogVersion) || catalogVersion < 0)
        throw new TypeError(`invalid catalog version ${catalogVersion}`);
      return `checkpoint:${catalogVersion}`;
    case 'events-compaction':
      return `events-compaction:${trigger.logicalTime}`;
    case 'expire':
      return `expire:${trigger.logicalTime}`;
    case 'flush':
      return `flush:${trigger.batchId}`;
    case 'delete':
      return `delete:${trigger.database}.${trigger.table}:${digest(canonicalJson([trigger.predicate, trigger.files])).slice(0, 16)}:${trigger.logicalTime}`;
    case 'cq':
      return trigger.range
        ? `cq:${trigger.cqId}:${trigger.range.start}/${trigger.range.end}:${trigger.logicalTime}`
        : `cq:${trigger.cqId}:${trigger.logicalTime}`;
    case 'noop':
      return `noop:${trigger.logicalTime}`;
  }
}

/** Run id = hash of tenant + run key: one trigger never makes two runs. */
export function runIdOf(tenant: string, runKey: string): string {
  paths.assertName('tenant', tenant);
  return ID_PREFIX.run + digest(canonicalJson(['run', tenant, runKey]));
}

/** Plan id = hash of the canonical JSON of the plan body (sorted keys, integers only). */
export function planIdOf(body: PlanBody): string {
  return ID_PREFIX.plan + digest(canonicalJson(body));
}

/** Task id = hash of plan id + task key. */
export function taskIdOf(planId: string, taskKey: string): string {
  return ID_PREFIX.task + digest(canonicalJson(['task', planId, taskKey]));
}

/** Attempt id = hash of task id + attempt number (1 for the first attempt). */
export function attemptIdOf(taskId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 1)
    throw new TypeError(`attempt must be an integer ≥ 1, got ${attempt}`);
  return ID_PREFIX.attempt + digest(canonicalJson(['attempt', taskId, attempt]));
}
