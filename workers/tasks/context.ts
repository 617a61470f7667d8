/** What every task executor gets from its worker process, and the replay (scratch) mode. */
import type { DuckDBInstance } from '@duckdb/node-api';
import {
  CatalogNotFoundError,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  type ObjectStore,
  paths,
  type TableEntry,
  type TenantCatalogs,
  type TenantState,
  tableKey,
  WeirError,
} from '../../catalog/index.js';
import { ContractError, type DispatchEnvelope } from '../../proto/index.js';
import type { QueryService } from '../../services/query/index.js';

export interface TaskContext {
  store: ObjectStore;
  catalogs: TenantCatalogs;
  /** Shared by the process's tasks; open it with `openWorkerDuckDB`. */
  duckdb: DuckDBInstance;
  /** Local scratch directory of this process; each task works in its own subdirectory. */
  workDir: string;
  /** Aborts the attempt: pending waits reject and running DuckDB queries are interrupted. */
  signal?: AbortSignal;
  /** Runs tenant SQL (continuous queries) behind the query guard, on locked per-tenant engines. */
  query?: QueryService;
  /**
   * How long tenant SQL a task runs itself may take per file (a delete's predicate): the server
   * sets `query.timeoutMs`, the limit of every query. Unset: no limit.
   */
  tenantSqlTimeoutMs?: number;
  /** The wall clock in ms (default `Date.now`): the expire sweep keeps uploads younger than an hour by it. */
  now?: () => number;
  /**
   * Throws RunCancelledError once the task's run has been cancelled. Tasks ask right before each
   * step that cannot be undone (a catalog commit, a round of deletes), so a cancel stops work that
   * is still running, not only work still queued. Unset for replays, which commit nothing.
   */
  checkCancelled?: () => Promise<void>;
}

/** The task's run was cancelled before the task committed or deleted anything: it ends `cancelled`. */
export class RunCancelledError extends WeirError {
  constructor(runId: string) {
    super('RUN_CANCELLED', `run ${runId} was cancelled before this task committed`, 409, { runId });
  }
}

/** The replay id of a replay envelope (outputs go to scratch, nothing is committed); undefined otherwise. */
export function replayIdOf(envelope: DispatchEnvelope): string | undefined {
  if (envelope.scratchPrefix === '') return undefined;
  return paths.scratchKeys.parsePrefix(envelope.tenant, envelope.scratchPrefix);
}

/**
 * A view of the store in which the tenant's keys live under a replay's scratch prefix: code that
 * writes real keys (a checkpoint) writes the scratch mirror of them instead. Keys outside the
 * tenant are refused.
 */
export function scratchStore(store: ObjectStore, tenant: string, replayId: string): ObjectStore {
  const scratchRoot = paths.scratchKeys.prefix(tenant, replayId);
  const tenantRoot = paths.tenantPrefix(tenant);
  const map = (key: string) => paths.scratchKeys.mirror(tenant, replayId, key);
  const mapPrefix = (prefix: string) => {
    if (!prefix.startsWith(tenantRoot)) throw new RangeError(`prefix ${prefix} is not under ${tenantRoot}`);
    return `${scratchRoot}${prefix.slice(tenantRoot.length)}`;
  };
  const unmap = (info: ObjectInfo): ObjectInfo => ({
    ...info,
    key: `${tenantRoot}${info.key.slice(scratchRoot.length)}`,
  });
  return {
    kind: store.kind,
    get: (key, range) => store.get(map(key), range),
    getIfExists: (key) => store.getIfExists(map(key)),
    head: async (key) => {
      const info = await store.head(map(key));
      return info && unmap(info);
    },
    put: (key, body) => store.put(map(key), body),
    putIfAbsent: (key, body) => store.putIfAbsent(map(key), body),
    delete: (key) => store.delete(map(key)),
    list: async (prefix: string, options: ListOptions = {}): Promise<ListPage> => {
      const page = await store.list(mapPrefix(prefix), {
        ...options,
        ...(options.startAfter === undefined ? {} : { startAfter: map(options.startAfter) }),
      });
      return { ...page, objects: page.objects.map(unmap) };
    },
    listAll: async function* (prefix, options = {}) {
      const startAfter = options.startAfter === undefined ? {} : { startAfter: map(options.startAfter) };
      for await (const info of store.listAll(mapPrefix(prefix), startAfter)) yield unmap(info);
    },
    removeIncompleteWrites: (prefix, writtenBefore) =>
      store.removeIncompleteWrites(mapPrefix(prefix), writtenBefore),
    close: async () => {},
  };
}

/** The table as it was at the state's version; a task for a dropped table fails with 404. */
export function tableAt(state: TenantState, database: string, table: string): TableEntry {
  const entry = state.tables.get(tableKey(database, table));
  if (!entry) {
    throw new CatalogNotFoundError(
      'TABLE_NOT_FOUND',
      `table ${database}.${table} does not exist at catalog version ${state.version}`,
      { database, table, catalogVersion: state.version },
    );
  }
  return entry;
}

/**
 * A task's inputs carry the table's columns and sort key as the plan saw them at the task's
 * version; they must still describe the table read at that version.
 */
export function assertTableShape(
  kind: string,
  inputs: { columns: readonly { name: string; type: string; role: string }[]; sortKey: readonly string[] },
  table: TableEntry,
): void {
  const same =
    inputs.columns.length === table.columns.length &&
    inputs.columns.every((c, i) => {
      const t = table.columns[i]!;
      return c.name === t.name && c.type === t.type && c.role === t.role;
    }) &&
    inputs.sortKey.length === table.sortKey.length &&
    inputs.sortKey.every((name, i) => name === table.sortKey[i]);
  if (!same) {
    throw new ContractError(
      `inputs of a ${kind} task: columns and sortKey differ from ${table.database}.${table.name} at the task's catalog version`,
    );
  }
}
