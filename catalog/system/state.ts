/** The `_system` state (tenants and tokens) and how each action changes it. */
import { CatalogConflictError, CatalogNotFoundError } from '../errors.js';
import type { LogState } from '../log/types.js';
import type { Permission, SystemAction, TokenAction } from './actions.js';

export interface TenantRecord {
  readonly id: string;
  readonly displayName: string;
  readonly createdVersion: number;
  readonly createdAt: number;
}

/** An API token. Times are milliseconds since the epoch; the secret is known only by its sha256. */
export interface TokenRecord {
  readonly id: string;
  readonly tenant: string;
  readonly name: string;
  readonly description: string;
  readonly hash: string;
  readonly permissions: readonly Permission[];
  /** null: every database of the tenant. */
  readonly databases: readonly string[] | null;
  /** May create, list and drop tenants. */
  readonly platformAdmin: boolean;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly rotatedAt: number | null;
  /** Revoking is final; a disabled token can be enabled again. */
  readonly revokedAt: number | null;
}

export interface SystemState extends LogState {
  readonly tenants: ReadonlyMap<string, TenantRecord>;
  readonly tokens: ReadonlyMap<string, TokenRecord>;
  /** Token id by hash: verifying a secret is one lookup. */
  readonly tokenIdsByHash: ReadonlyMap<string, string>;
}

export type SystemMaps = Pick<SystemState, 'tenants' | 'tokens' | 'tokenIdsByHash'>;

/** Mutable copies of the maps one commit changes; the state it started from stays untouched. */
export class SystemDraft {
  readonly tenants: Map<string, TenantRecord>;
  readonly tokens: Map<string, TokenRecord>;
  readonly tokenIdsByHash: Map<string, string>;

  constructor(
    state: SystemMaps,
    private readonly at: { version: number; timestamp: number },
  ) {
    this.tenants = new Map(state.tenants);
    this.tokens = new Map(state.tokens);
    this.tokenIdsByHash = new Map(state.tokenIdsByHash);
  }

  apply(action: SystemAction): void {
    switch (action.op) {
      case 'createTenant':
        if (this.tenants.has(action.tenant)) {
          throw new CatalogConflictError('TENANT_EXISTS', `tenant ${action.tenant} already exists`, {
            tenant: action.tenant,
          });
        }
        this.tenants.set(action.tenant, {
          id: action.tenant,
          displayName: action.displayName ?? action.tenant,
          createdVersion: this.at.version,
          createdAt: this.at.timestamp,
        });
        return;
      case 'dropTenant':
        this.tenant(action.tenant);
        this.tenants.delete(action.tenant);
        // Its tokens go in the same commit, so a tenant re-created under the same id starts with none.
        for (const token of [...this.tokens.values()]) {
          if (token.tenant === action.tenant) this.removeToken(token);
        }
        return;
      default:
        this.applyToken(action);
    }
  }

  private applyToken(action: TokenAction): void {
    if (action.op === 'createToken') {
      this.tenant(action.tenant);
      if (this.tokens.has(action.id)) {
        throw new CatalogConflictError('TOKEN_EXISTS', `token ${action.id} already exists`, {
          id: action.id,
        });
      }
      this.assertHashFree(action.hash);
      this.assertNameFree(action.tenant, action.name);
      const { op: _op, ...fields } = action;
      this.putToken({
        ...fields,
        enabled: true,
        createdAt: this.at.timestamp,
        rotatedAt: null,
        revokedAt: null,
      });
      return;
    }
    const token = this.token(action.tenant, action.id);
    switch (action.op) {
      case 'updateToken': {
        if (action.name !== undefined && action.name !== token.name)
          this.assertNameFree(token.tenant, action.name);
        this.putToken({
          ...token,
          name: action.name ?? token.name,
          description: action.description ?? token.description,
          permissions: action.permissions ?? token.permissions,
          databases: action.databases === undefined ? token.databases : action.databases,
          expiresAt: action.expiresAt === undefined ? token.expiresAt : action.expiresAt,
          enabled: action.enabled ?? token.enabled,
        });
        return;
      }
      case 'rotateToken':
        if (token.revokedAt !== null) {
          throw new CatalogConflictError(
            'TOKEN_REVOKED',
            `token ${token.id} is revoked and cannot be rotated`,
            {
              id: token.id,
            },
          );
        }
        this.assertHashFree(action.hash);
        this.tokenIdsByHash.delete(token.hash);
        this.putToken({ ...token, hash: action.hash, rotatedAt: this.at.timestamp });
        return;
      case 'revokeToken':
        if (token.revokedAt === null) this.putToken({ ...token, revokedAt: this.at.timestamp });
        return;
      case 'deleteToken':
        this.removeToken(token);
        return;
    }
  }

  private tenant(id: string): TenantRecord {
    const tenant = this.tenants.get(id);
    if (!tenant)
      throw new CatalogNotFoundError('TENANT_NOT_FOUND', `tenant ${id} does not exist`, { tenant: id });
    return tenant;
  }

  /** A token of another tenant is as unknown as one that does not exist. */
  private token(tenant: string, id: string): TokenRecord {
    const token = this.tokens.get(id);
    if (!token || token.tenant !== tenant)
      throw new CatalogNotFoundError('TOKEN_NOT_FOUND', `token ${id} does not exist`, { id });
    return token;
  }

  private assertHashFree(hash: string): void {
    if (this.tokenIdsByHash.has(hash))
      throw new CatalogConflictError('TOKEN_HASH_EXISTS', 'a token with this secret already exists');
  }

  private assertNameFree(tenant: string, name: string): void {
    for (const token of this.tokens.values()) {
      if (token.tenant === tenant && token.name === name)
        throw new CatalogConflictError('TOKEN_NAME_EXISTS', `a token named ${name} already exists`, { name });
    }
  }

  private putToken(token: TokenRecord): void {
    this.tokens.set(token.id, token);
    this.tokenIdsByHash.set(token.hash, token.id);
  }

  private removeToken(token: TokenRecord): void {
    this.tokens.delete(token.id);
    this.tokenIdsByHash.delete(token.hash);
  }
}

/** The hash index of a token map (checkpoints store tokens only). */
export function indexByHash(tokens: ReadonlyMap<string, TokenRecord>): Map<string, string> {
  return new Map([...tokens.values()].map((t) => [t.hash, t.id]));
}
