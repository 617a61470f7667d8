/**
 * API tokens of a tenant: create, list, update, rotate, revoke, delete, and verify a secret.
 * Tokens live in the `_system` catalog; this node verifies against a copy at most `cacheTtlMs`
 * old, so a change made on another node is seen here within that time, and at once when made here.
 */
import {
  CatalogConflictError,
  CatalogNotFoundError,
  type CommitConditions,
  type Permission,
  type SystemCatalog,
  type SystemState,
  type TokenRecord,
} from '../../catalog/index.js';
import { type AuthContext, contextOf } from './context.js';
import {
  type CreateTokenInput,
  canonical,
  type IssuedToken,
  type TokenInfo,
  tokenAction,
  tokenInfo,
} from './records.js';
import { bootstrapTokenId, generateSecret, hashSecret } from './secrets.js';
import { TenantService } from './tenants.js';
import { SystemView } from './view.js';

export interface UpdateTokenInput {
  name?: string;
  description?: string;
  permissions?: readonly Permission[];
  databases?: readonly string[] | null;
  /** Counted from now; null: never expires. */
  expiresInSeconds?: number | null;
  enabled?: boolean;
}

export type VerifyFailure = 'unknown' | 'revoked' | 'disabled' | 'expired';
export type VerifyResult =
  | { ok: true; context: AuthContext; token: TokenInfo }
  | { ok: false; reason: VerifyFailure; message: string };

export interface BootstrapResult {
  /** Whether this call created the token (false: it existed, or another process won the race). */
  created: boolean;
  tokenId?: string;
  /** Only when this call generated the secret: the caller prints it once. */
  secret?: string;
}

export interface TokenServiceOptions {
  /** How long verification trusts this node's copy of the tokens (`auth.cacheTtlMs`). */
  cacheTtlMs: number;
  now?: () => number;
}

const FAILURES: Record<VerifyFailure, string> = {
  unknown: 'invalid token',
  revoked: 'token has been revoked',
  disabled: 'token is disabled',
  expired: 'token has expired',
};
const failure = (reason: VerifyFailure): VerifyResult => ({ ok: false, reason, message: FAILURES[reason] });

export class TokenService {
  /** Tenants: create (with a first admin token), list, drop. */
  readonly tenants: TenantService;
  private readonly view: SystemView;
  private readonly now: () => number;
  private readonly lastUsed = new Map<string, number>();

  constructor(system: SystemCatalog, options: TokenServiceOptions) {
    this.now = options.now ?? Date.now;
    this.view = new SystemView(system, options.cacheTtlMs, this.now);
    this.tenants = new TenantService(this.view, this.now);
  }

  async create(tenant: string, input: CreateTokenInput, author?: string): Promise<IssuedToken> {
    const { secret, action } = tokenAction(tenant, input, this.now());
    const state = await this.view.commit([action], { operation: 'create-token', author });
    return { token: secret, record: this.info(state.tokens.get(action.id)!) };
  }

  async list(tenant: string): Promise<TokenInfo[]> {
    const state = await this.view.fresh();
    return [...state.tokens.values()]
      .filter((t) => t.tenant === tenant)
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
      .map((t) => this.info(t));
  }

  async get(tenant: string, id: string): Promise<TokenInfo> {
    return this.info(this.find(await this.view.fresh(), tenant, id));
  }

  async update(tenant: string, id: string, input: UpdateTokenInput, author?: string): Promise<TokenInfo> {
    const { expiresInSeconds, permissions, ...rest } = input;
    const action = {
      op: 'updateToken' as const,
      tenant,
      id,
      ...rest,
      ...(permissions === undefined ? {} : { permissions: canonical(permissions) }),
      ...(expiresInSeconds === undefined
        ? {}
        : { expiresAt: expiresInSeconds === null ? null : this.now() + expiresInSeconds * 1000 }),
    };
    const state = await this.view.commit(
      [action],
      { operation: 'update-token', author },
      this.adminsRemain(tenant, id, (token) => ({
        ...token,
        permissions: action.permissions ?? token.permissions,
        databases: action.databases === undefined ? token.databases : action.databases,
        expiresAt: action.expiresAt === undefined ? token.expiresAt : action.expiresAt,
        enabled: action.enabled ?? token.enabled,
      })),
    );
    return this.info(this.find(state, tenant, id));
  }

  /** A new secret for the token; the old one stops working (on other nodes within the TTL). */
  async rotate(tenant: string, id: string, author?: string): Promise<IssuedToken> {
    const secret = generateSecret();
    const state = await this.view.commit([{ op: 'rotateToken', tenant, id, hash: hashSecret(secret) }], {
      operation: 'rotate-token',
      author,
    });
    return { token: secret, record: this.info(this.find(state, tenant, id)) };
  }

  async revoke(tenant: string, id: string, author?: string): Promise<TokenInfo> {
    const state = await this.view.commit(
      [{ op: 'revokeToken', tenant, id }],
      { operation: 'revoke-token', author },
      this.adminsRemain(tenant, id, (token) => ({ ...token, revokedAt: this.now() })),
    );
    return this.info(this.find(state, tenant, id));
  }

  async delete(tenant: string, id: string, author?: string): Promise<void> {
    await this.view.commit(
      [{ op: 'deleteToken', tenant, id }],
      { operation: 'delete-token', author },
      this.adminsRemain(tenant, id, () => undefined),
    );
    this.lastUsed.delete(id);
  }

  /**
   * Refuses a change (`changed`: the token after it, undefined when deleted) that would leave the
   * tenant without a working admin token for every database, or the platform without a working
   * platform admin token: nobody could undo it through the API. Checked against the state the
   * commit lands on, so of two changes at the same moment that would each leave one admin, only
   * the first passes.
   */
  private adminsRemain(
    tenant: string,
    id: string,
    changed: (token: TokenRecord) => TokenRecord | undefined,
  ): CommitConditions<SystemState> {
    return { require: (state) => this.assertAdminsRemain(state, tenant, id, changed) };
  }

  private assertAdminsRemain(
    state: SystemState,
    tenant: string,
    id: string,
    changed: (token: TokenRecord) => TokenRecord | undefined,
  ): void {
    const token = this.find(state, tenant, id);
    const isWorking = (t: TokenRecord) => this.failureOf(t) === undefined;
    const after = [...state.tokens.values()].filter((t) => t.id !== id);
    const replacement = changed(token);
    if (replacement) after.push(replacement);
    const tenantAdmin = (t: TokenRecord) =>
      t.tenant === tenant && isWorking(t) && t.permissions.includes('admin') && t.databases === null;
    if (tenantAdmin(token) && !after.some(tenantAdmin)) {
      throw new CatalogConflictError(
        'LAST_ADMIN_TOKEN',
        `token ${id} is the last working admin token of tenant ${tenant} that reaches every database; create another before changing it`,
        { id, tenant },
      );
    }
    const platformAdmin = (t: TokenRecord) => t.platformAdmin && isWorking(t);
    if (platformAdmin(token) && !after.some(platformAdmin)) {
      throw new CatalogConflictError(
        'LAST_PLATFORM_ADMIN_TOKEN',
        `token ${id} is the last working platform admin token; create another before changing it`,
        { id },
      );
    }
  }

  /** The context of a valid secret, or why it is not valid (never the secret itself). */
  async verify(secret: string): Promise<VerifyResult> {
    const state = await this.view.cached();
    const id = state.tokenIdsByHash.get(hashSecret(secret));
    const record = id === undefined ? undefined : state.tokens.get(id);
    if (!record) return failure('unknown');
    const reason = this.failureOf(record);
    if (reason) return failure(reason);
    this.lastUsed.set(record.id, this.now());
    return { ok: true, context: contextOf(record), token: this.info(record) };
  }

  /**
   * First start: when no token exists at all, creates tenant `tenant` and an admin + platform
   * admin token for it, from `token` when given, else generated. A configured `token` is also
   * created when tokens exist but none has its secret (a fleet adding one). Processes starting
   * together race on one deterministic token id: exactly one creates it and gets the secret back.
   */
  async bootstrap(options: { tenant: string; token?: string }): Promise<BootstrapResult> {
    const { tenant, token } = options;
    const configuredHash = token === undefined ? undefined : hashSecret(token);
    const state = await this.view.fresh();
    if (configuredHash ? state.tokenIdsByHash.has(configuredHash) : state.tokens.size > 0) {
      return { created: false };
    }
    await this.view.system.ensureTenant(tenant);
    const id = bootstrapTokenId(tenant, configuredHash);
    const { secret, action } = tokenAction(
      tenant,
      {
        name: `bootstrap-${id.slice(4, 12)}`,
        description: 'created on first start',
        permissions: ['admin'],
        platformAdmin: true,
      },
      this.now(),
      { id, ...(token === undefined ? {} : { secret: token }) },
    );
    try {
      await this.view.commit([action], { operation: 'bootstrap-token', author: 'bootstrap' });
    } catch (error) {
      const lost = error instanceof CatalogConflictError && /^TOKEN_(EXISTS|HASH_EXISTS)$/.test(error.code);
      if (lost) return { created: false };
      throw error;
    }
    return { created: true, tokenId: id, ...(token === undefined ? { secret } : {}) };
  }

  private find(state: SystemState, tenant: string, id: string): TokenRecord {
    const record = state.tokens.get(id);
    // Another tenant's token is as unknown as a missing one.
    if (!record || record.tenant !== tenant)
      throw new CatalogNotFoundError('TOKEN_NOT_FOUND', `token ${id} does not exist`, { id });
    return record;
  }

  private failureOf(record: TokenRecord): VerifyFailure | undefined {
    if (record.revokedAt !== null) return 'revoked';
    if (!record.enabled) return 'disabled';
    if (record.expiresAt !== null && record.expiresAt <= this.now()) return 'expired';
    return undefined;
  }

  private info(record: TokenRecord): TokenInfo {
    return tokenInfo(record, this.lastUsed.get(record.id) ?? null);
  }
}
