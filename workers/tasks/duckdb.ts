/**
 * The DuckDB instance a worker process shares between its tasks (DESIGN.md §10): extensions are
 * never installed or loaded behind our back (httpfs cannot be downloaded here, so a query that
 * wants one fails fast), and anything that goes into SQL text is quoted by sqlString / sqlIdentifier.
 */
import { join, sep } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { lockDown } from '../../services/query/index.js';

// The quoting helpers live with the query engine, which puts tenant values into SQL too.
export { sqlIdentifier, sqlString } from '../../services/query/index.js';

export interface WorkerDuckDBOptions {
  /** Worker threads of the instance (DuckDB's default: one per core). */
  threads?: number;
  /** DuckDB memory limit, e.g. '2GB'. */
  memoryLimit?: string;
  /** Where DuckDB spills when a sort does not fit in memory. */
  tempDirectory?: string;
}

export async function openWorkerDuckDB(options: WorkerDuckDBOptions = {}): Promise<DuckDBInstance> {
  const config: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    // Table scans without ORDER BY keep insertion order: compaction slices a sorted table by it.
    preserve_insertion_order: 'true',
  };
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new RangeError(`threads must be a positive integer, got ${options.threads}`);
    }
    config.threads = String(options.threads);
  }
  if (options.memoryLimit !== undefined) config.memory_limit = options.memoryLimit;
  if (options.tempDirectory !== undefined) config.temp_directory = options.tempDirectory;
  return DuckDBInstance.create(':memory:', config);
}

/** Runs `work` on a fresh connection (its temp tables die with it), interrupted when `signal` aborts. */
export async function withConnection<T>(
  instance: DuckDBInstance,
  work: (connection: DuckDBConnection) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted();
  const connection = await instance.connect();
  const interrupt = () => connection.interrupt();
  signal?.addEventListener('abort', interrupt, { once: true });
  try {
    return await work(connection);
  } catch (error) {
    // An interrupted query fails with DuckDB's INTERRUPT error; report the abort itself.
    if (signal?.aborted) throw signal.reason;
    throw error;
  } finally {
    signal?.removeEventListener('abort', interrupt);
    connection.closeSync();
  }
}

/**
 * Runs `work` on an instance of its own that can open nothing outside `dir` and whose settings are
 * locked (times in UTC): the second wall (DESIGN.md §7) for a task that runs tenant SQL, such as a
 * delete's predicate, should the guard ever let something through. The instance closes after.
 */
export async function withLockedDuckDB<T>(
  dir: string,
  work: (connection: DuckDBConnection) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const instance = await openWorkerDuckDB({ tempDirectory: join(dir, 'spill') });
  try {
    return await withConnection(
      instance,
      async (connection) => {
        await lockDown(connection, [dir.endsWith(sep) ? dir : dir + sep]);
        return work(connection);
      },
      signal,
    );
  } finally {
    instance.closeSync();
  }
}
