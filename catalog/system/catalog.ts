/**
 * The `_system` catalog: the platform's own commit log (tenants now; tokens join it with the
 * tenancy issue). Same protocol and checkpoints as a tenant catalog, different actions.
 */
import { Table } from 'apache-arrow';
import { z } from 'zod';
import { CatalogConflictError, CatalogNotFoundError } from '../errors.js';
import { CommitLog, type CommitLogOptions, type CommitOutcome } from '../log/commit-log.js';
import { CatalogHead } from '../log/head.js';
import type { LedgerView } from '../log/ledger.js';
import { parseActionsWith } from '../log/parse.js';
import type { CommitMeta, CommitSummary, LogState, StateMachine } from '../log/types.js';
import { column, readNonNullBigintColumn, readNonNullStringColumn } from '../parquet/index.js';
import { NAME_RULES, SYSTEM_SCOPE } from '../paths.js';
import type { ObjectStore } from '../store/index.js';

export const systemActionSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('createTenant'),
      tenant: z.string().regex(NAME_RULES.tenant, 'invalid tenant id'),
      displayName: z.string().min(1).max(200).optional(),
    })
    .strict(),
  z
    .object({ op: z.literal('dropTenant'), tenant: z.string().regex(NAME_RULES.tenant, 'invalid tenant id') })
    .strict(),
]);
export type SystemAction = z.infer<typeof systemActionSchema>;

export interface TenantRecord {
  readonly id: string;
  readonly displayName: string;
  readonly createdVersion: number;
  readonly createdAt: number;
}

export interface SystemState extends LogState {
  readonly tenants: ReadonlyMap<string, TenantRecord>;
}

interface PreparedSystemCommit {
  version: number;
  timestamp: number;
  tenants: ReadonlyMap<string, TenantRecord>;
}

const systemMachine: StateMachine<SystemState, SystemAction, PreparedSystemCommit> = {
  checkpointTables: ['tenants'],
  empty: (history) => ({ version: 0, timestamp: 0, history, tenants: new Map() }),
  parseActions: (raw) => parseActionsWith(systemActionSchema, raw, 'system'),
  prepare(state, actions, at) {
    const tenants = new Map(state.tenants);
    for (const action of actions) {
      if (action.op === 'createTenant') {
        if (tenants.has(action.tenant)) {
          throw new CatalogConflictError('TENANT_EXISTS', `tenant ${action.tenant} already exists`, {
            tenant: action.tenant,
          });
        }
        tenants.set(action.tenant, {
          id: action.tenant,
          displayName: action.displayName ?? action.tenant,
          createdVersion: at.version,
          createdAt: at.timestamp,
        });
      } else if (!tenants.delete(action.tenant)) {
        throw new CatalogNotFoundError('TENANT_NOT_FOUND', `tenant ${action.tenant} does not exist`, {
          tenant: action.tenant,
        });
      }
    }
    return { version: at.version, timestamp: at.timestamp, tenants };
  },
  finalize: (_state, prepared, history) => ({ ...prepared, history }),
  toCheckpoint(state) {
    const tenants = [...state.tenants.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
    return {
      tenants: new Table({
        id: column.utf8(tenants.map((t) => t.id)),
        display_name: column.utf8(tenants.map((t) => t.displayName)),
        created_version: column.int64(tenants.map((t) => t.createdVersion)),
        created_at: column.timestampMicros(tenants.map((t) => t.createdAt * 1000)),
      }),
    };
  },
  fromCheckpoint(tables, at: { version: number; timestamp: number; history: LedgerView<CommitSummary> }) {
    const table = tables.tenants!;
    const ids = readNonNullStringColumn(table, 'id');
    const names = readNonNullStringColumn(table, 'display_name');
    const versions = readNonNullBigintColumn(table, 'created_version');
    const createdAt = readNonNullBigintColumn(table, 'created_at');
    const tenants = new Map(
      ids.map((id, i) => [
        id,
        { id, displayName: names[i]!, createdVersion: versions[i]!, createdAt: createdAt[i]! / 1000 },
      ]),
    );
    return { ...at, tenants };
  },
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

  commit(actions: readonly unknown[], meta: CommitMeta = {}): Promise<CommitOutcome<SystemState>> {
    return this.head.commit(actions, meta);
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
