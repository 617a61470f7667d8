/**
 * One tenant's catalog as a service sees it: the newest state kept in memory and refreshed
 * incrementally, commits, time travel and checkpoints. Calls that move the in-memory head run
 * one at a time, so the states this process builds form one line and share their history.
 */
import { CatalogNotFoundError, CatalogRequestError } from '../errors.js';
import { CommitLog, type CommitLogOptions, type CommitOutcome } from '../log/commit-log.js';
import { CatalogHead } from '../log/head.js';
import { LedgerView } from '../log/ledger.js';
import { parseActionsWith } from '../log/parse.js';
import type { CheckpointManifest, CommitConditions, CommitMeta, StateMachine } from '../log/types.js';
import { tenantScope } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import { type TenantAction, tenantActionSchema } from './actions.js';
import { TENANT_CHECKPOINT_TABLES, tenantStateFromTables, tenantStateToTables } from './checkpoint-codec.js';
import { checkNewTenantCommit, prepareTenantCommit } from './rules.js';
import { finalizeTenantCommit, type PreparedTenantCommit, type TenantState } from './state.js';

export function tenantStateMachine(
  tenant: string,
): StateMachine<TenantState, TenantAction, PreparedTenantCommit> {
  return {
    checkpointTables: TENANT_CHECKPOINT_TABLES,
    empty: (history) => ({
      tenant,
      version: 0,
      timestamp: 0,
      history,
      databases: new Map(),
      tables: new Map(),
      policies: new Map(),
      tombstones: LedgerView.empty((t) => t.path),
    }),
    parseActions: (raw) => parseActionsWith(tenantActionSchema, raw, 'commit'),
    prepare: prepareTenantCommit,
    checkNew: checkNewTenantCommit,
    finalize: finalizeTenantCommit,
    toCheckpoint: tenantStateToTables,
    fromCheckpoint: (tables, at) => tenantStateFromTables(tenant, tables, at),
  };
}

/** How a read names the version it wants: the head, a version, or a point in time. */
export type VersionRef = { version: number } | { timestamp: number | string | Date };

export interface TenantCatalogOptions extends CommitLogOptions {
  /** Old versions kept in memory for time travel. */
  timeTravelCacheSize?: number;
}

export class TenantCatalog {
  readonly log: CommitLog<TenantState, TenantAction, PreparedTenantCommit>;
  private readonly head: CatalogHead<TenantState, TenantAction, PreparedTenantCommit>;
  private readonly pinned = new Map<number, Promise<TenantState>>();
  private readonly cacheSize: number;

  constructor(
    store: ObjectStore,
    readonly tenant: string,
    options: TenantCatalogOptions = {},
  ) {
    this.log = new CommitLog(store, tenantScope(tenant), tenantStateMachine(tenant), options);
    this.head = new CatalogHead(this.log);
    this.cacheSize = options.timeTravelCacheSize ?? 8;
  }

  /** The in-memory head, loading it on first use; does not look for newer commits. */
  current(): Promise<TenantState> {
    return this.head.current();
  }

  /** Reads commits newer than the in-memory head (one probe when there are none). */
  refresh(): Promise<TenantState> {
    return this.head.refresh();
  }

  /** Commits actions (validated, conflict-checked, rebased on races); answers the new head. */
  commit(
    actions: readonly unknown[],
    meta: CommitMeta = {},
    conditions: CommitConditions<TenantState> = {},
  ): Promise<CommitOutcome<TenantState>> {
    return this.head.commit(actions, meta, conditions);
  }

  /** The state at a version or point in time (snapshot isolation: pin it for a whole read). */
  async at(ref: VersionRef): Promise<TenantState> {
    const head = await this.refresh();
    const version = 'version' in ref ? ref.version : versionAtTimestamp(head, ref.timestamp);
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new CatalogRequestError('INVALID_VERSION', `invalid catalog version ${String(version)}`);
    }
    if (version === head.version) return head;
    if (version > head.version) {
      throw new CatalogNotFoundError(
        'VERSION_NOT_FOUND',
        `catalog of ${this.tenant} has no version ${version} (head is ${head.version})`,
      );
    }
    return this.pin(version);
  }

  private pin(version: number): Promise<TenantState> {
    let state = this.pinned.get(version);
    if (!state) {
      state = this.log.loadAt(version);
      state.catch(() => this.pinned.delete(version));
      this.pinned.set(version, state);
      if (this.pinned.size > this.cacheSize) this.pinned.delete(this.pinned.keys().next().value!);
    } else {
      // Refresh its place in the LRU order.
      this.pinned.delete(version);
      this.pinned.set(version, state);
    }
    return state;
  }

  /** Writes a checkpoint of the head (or of `state`, a version this catalog handed out). */
  async checkpoint(state?: TenantState): Promise<CheckpointManifest> {
    return this.log.writeCheckpoint(state ?? (await this.refresh()));
  }
}

function versionAtTimestamp(head: TenantState, timestamp: number | string | Date): number {
  const ms =
    timestamp instanceof Date
      ? timestamp.getTime()
      : typeof timestamp === 'string'
        ? Date.parse(timestamp)
        : timestamp;
  if (!Number.isFinite(ms))
    throw new CatalogRequestError('INVALID_TIMESTAMP', `invalid timestamp ${String(timestamp)}`);
  const index = head.history.lastIndexWhere((c) => c.timestamp <= ms);
  if (index < 0) {
    throw new CatalogNotFoundError(
      'VERSION_NOT_FOUND',
      `catalog of ${head.tenant} has no version at or before ${new Date(ms).toISOString()}`,
    );
  }
  return head.history.at(index)!.version;
}
