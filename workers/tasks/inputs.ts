/** A task's input data files: checked against the catalog at the task's version, then fetched. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type FileEntry,
  type ObjectStore,
  sha256Hex,
  type TableEntry,
  type TenantState,
  WeirError,
} from '../../catalog/index.js';
import { ContractError } from '../../proto/index.js';
import type { InputFile } from '../../proto/task-inputs.js';

const FETCH_CONCURRENCY = 4;

/** Every input must be a live file of its partition at the task's version, as the catalog knows it. */
export function liveInputs(
  kind: string,
  state: TenantState,
  table: TableEntry,
  files: readonly (InputFile & { partition: string })[],
): FileEntry[] {
  const seen = new Set<string>();
  return files.map((input) => {
    if (seen.has(input.path))
      throw new ContractError(`inputs of a ${kind} task: ${input.path} is listed twice`);
    seen.add(input.path);
    const entry = table.partitions.get(input.partition)?.get(input.path);
    const where = `${table.database}.${table.name} ${input.partition} at catalog version ${state.version}`;
    if (!entry) {
      throw new WeirError('INPUT_NOT_LIVE', `input ${input.path} is not a live file of ${where}`, 409, {
        path: input.path,
        catalogVersion: state.version,
      });
    }
    if (entry.sha256 !== input.sha256 || entry.rows !== input.rows || entry.bytes !== input.bytes) {
      throw new WeirError(
        'INPUT_NOT_LIVE',
        `input ${input.path} differs from the live file of ${where}`,
        409,
        {
          path: input.path,
          catalogVersion: state.version,
        },
      );
    }
    return entry;
  });
}

/**
 * Downloads the inputs through the store (same path for every backend) into `dir` as
 * `in-000000.parquet`…, checking each against its sha256; answers the local paths in input order.
 */
export async function fetchInputs(
  store: ObjectStore,
  files: readonly InputFile[],
  dir: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const local = files.map((_, i) => join(dir, `in-${String(i).padStart(6, '0')}.parquet`));
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      signal?.throwIfAborted();
      const file = files[i]!;
      const data = await store.get(file.path);
      if (sha256Hex(data) !== file.sha256) {
        throw new WeirError(
          'INPUT_CORRUPT',
          `object ${file.path} does not match its sha256 in the catalog`,
          422,
          {
            path: file.path,
          },
        );
      }
      await writeFile(local[i]!, data);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, files.length) }, worker));
  return local;
}
