/** Building task results: file references, the outputs checksum replays compare, the contract check. */
import { createHash } from 'node:crypto';
import { paths, WeirError } from '../../catalog/index.js';
import {
  type DispatchEnvelope,
  type FileRef,
  parseTaskResult,
  type TaskRead,
  type TaskResult,
  type TaskWrote,
} from '../../proto/index.js';

/** Just the FileRef fields of a catalog entry (which carries more). */
export function fileRef(file: FileRef): FileRef {
  const { path, database, table, partition, rows, bytes, sha256 } = file;
  return { path, database, table, partition, rows, bytes, sha256 };
}

/**
 * An output's path relative to its output root: the tenant prefix, or a replay's scratch prefix,
 * stripped. A replayed file and the file it reproduces therefore have the same relative path.
 */
export function outputRelativePath(tenant: string, key: string): string {
  const root = paths.tenantPrefix(tenant);
  if (!key.startsWith(root))
    throw new WeirError('FOREIGN_OUTPUT', `output ${key} is not a key of ${tenant}`, 500);
  const rest = key.slice(root.length);
  if (!rest.startsWith('scratch/')) return rest;
  const afterReplayId = rest.indexOf('/', 'scratch/'.length);
  return rest.slice(afterReplayId + 1);
}

/** sha256 over the sorted lines `relative path \t sha256` of the outputs (empty list: sha256 of ''). */
export function outputsChecksum(tenant: string, files: readonly { path: string; sha256: string }[]): string {
  const lines = files.map((f) => `${outputRelativePath(tenant, f.path)}\t${f.sha256}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

export interface ResultParts {
  reads?: TaskRead[];
  wrote?: Partial<TaskWrote>;
  summary?: Record<string, unknown>;
}

/** The task's result, checked against the TaskResult contract before it leaves the worker. */
export function taskResult(envelope: DispatchEnvelope, parts: ResultParts): TaskResult {
  const wrote: TaskWrote = {
    files: parts.wrote?.files ?? [],
    removed: parts.wrote?.removed ?? [],
    commitVersion: parts.wrote?.commitVersion ?? 0,
    committed: parts.wrote?.committed ?? false,
    deleted: parts.wrote?.deleted ?? [],
  };
  return parseTaskResult({
    taskId: envelope.taskId,
    attemptId: envelope.attemptId,
    kind: envelope.kind,
    reads: parts.reads ?? [],
    wrote,
    outputsChecksum: outputsChecksum(envelope.tenant, wrote.files),
    summaryJson: JSON.stringify(parts.summary ?? {}),
  });
}
