/**
 * The `_system` catalog: the platform's own commit log of tenants and API tokens. Same protocol
 * and checkpoints as a tenant catalog, different actions.
 */
import { CatalogConflictError } from '../errors.js';
import { CommitLog, type CommitLogOptions, type CommitOutcome } from '../log/commit-log.js';
import { CatalogHead } from '../log/head.js';
import { parseActionsWith } from '../log/parse.js';
import type { CommitConditions, CommitMeta, StateMachine } from '../log/types.js';
import { SYSTEM_SCOPE } from '../paths.js';
import type { ObjectStore } from '../store/index.js';
import { type SystemAction, systemActionSchema } from './actions.js';
import { SYSTEM_CHECKPOINT_TABLES, systemFromCheckpoint, systemToCheckpoint } from './checkpoint.js';
import { SystemDraft, type SystemMaps, type SystemState, type TenantRecord } from './state.js';

interface PreparedSystemCommit extends SystemMaps {
  version: number;
  timestamp: number;
}

const systemMachine: StateMachine<SystemState, SystemAction, PreparedSystemCommit> = {
  checkpointTables: SYSTEM_CHECKPOINT_TABLES,
  empty: (history) => ({
    version: 0,
    timestamp: 0,
    history,
    tenants: new Map(),
    tokens: new Map(),
    tokenIdsByHash: new Map(),
  }),
  parseActions: (raw) => parseActionsWith(systemActionSchema, raw, 'system'),
  prepare(state, actions, at) {
    const draft = new SystemDraft(state, at);
    for (const action of actions) draft.apply(action);
    const { tenants, tokens, tokenIdsByHash } = draft;
    return { version: at.version, timestamp: at.timestamp, tenants, tokens, tokenIdsByHash };
  },
  /**
   * New commits only (`StateMachine.checkNew`): a tenant id may not differ from another only in
   * case. On a case-insensitive filesystem the local store would give both one directory.
   */
  checkNew(state, actions) {
    const folded = new Map([...state.tenants.keys()].map((id) => [id.toLowerCase(), id]));
    for (const action of actions) {
      if (action.op !== 'createTenant') continue;
      const other = folded.get(action.tenant.toLowerCase());
      if (other !== undefined && other !== action.tenant) {
        throw new CatalogConflictError(
          'NAME_CASE_CONFLICT',
          `tenant ${action.tenant} differs from tenant ${other} only in case; tenant ids are compared without regard to case`,
          { tenant: action.tenant, existing: other },
        );
      }
      folded.set(action.tenant.toLowerCase(), action.tenant);
    }
  },
  finalize: (_state, prepared, history) => ({ ...prepared, history }),
  toCheckpoint: systemToCheckpoint,
  fromCheckpoint: (tables, at) => ({ ...at, ...systemFromCheckpoint(tables) }),
};

export class SystemCatalog {
  readonly log: CommitLog<SystemState, SystemAction, PreparedSystemCommit>;
  private readonly head: CatalogHead<SystemState, SystemAction, PreparedSystemCommit>;

  constructor(store: ObjectStore, options: CommitLogOptions = {}) {
    this.log = new CommitLog(store, SYSTEM_SCOPE, systemMachine, options);
    this.head = new CatalogHead(this.log);
  }

  refresh(): Promise<SystemState> {
    return this.head.refresh();
  }

  commit(
    actions: readonly unknown[],
    meta: CommitMeta = {},
    conditions: CommitConditions<SystemState> = {},
  ): Promise<CommitOutcome<SystemState>> {
    return this.head.commit(actions, meta, conditions);
  }

  /**
   * Checkpoints the newest state once the log has grown `every` commits past the newest checkpoint,
   * so a node loading the catalog reads at most about that many commits. No tenant owns this
   * catalog, so no checkpoint run does it (the scheduler calls this). Answers the version written.
   */
  async checkpointIfBehind(every: number): Promise<number | undefined> {
    return this.log.checkpointIfBehind(await this.refresh(), every);
  }

  /** Creates the tenant unless it exists (first start creates `default` this way). */
  async ensureTenant(tenant: string, displayName?: string): Promise<TenantRecord> {
    const state = await this.refresh();
    const existing = state.tenants.get(tenant);
    if (existing) return existing;
    try {
      const { state: next } = await this.commit([{ op: 'createTenant', tenant, displayName }], {
        operation: 'create-tenant',
      });
      return next.tenants.get(tenant)!;
    } catch (error) {
      if (error instanceof CatalogConflictError && error.code === 'TENANT_EXISTS')
        return (await this.refresh()).tenants.get(tenant)!;
      throw error;
    }
  }
}
