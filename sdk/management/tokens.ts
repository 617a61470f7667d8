/** Tokens of the caller's tenant, and tenants (platform admin tokens only). */
import type { Transport } from '../http.js';

export type Permission = 'read' | 'write' | 'delete' | 'admin';

export interface TokenInfo {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
  created_at: string;
  last_used_at: string | null;
  enabled: boolean;
  expires_at: string | null;
  databases: string[] | null;
  platform_admin: boolean;
  revoked: boolean;
  rotated_at: string | null;
}

export interface TokenCreate {
  name: string;
  description?: string;
  permissions?: Permission[];
  /** Seconds, or a duration: "45s", "15m", "12h", "30d", "2w". */
  expires_in?: number | string;
  /** Databases the token may use; null: all (default: those of the creating token). */
  databases?: string[] | null;
  platform_admin?: boolean;
}

export interface TokenUpdate {
  name?: string;
  description?: string;
  permissions?: Permission[];
  databases?: string[] | null;
  /** null removes the expiry. */
  expires_in?: number | string | null;
  enabled?: boolean;
}

export interface Verification {
  valid: boolean;
  /** Why the token is not valid. */
  error?: string;
  token_info?: TokenInfo;
  permissions?: Permission[];
  tenant?: string;
  databases?: string[] | null;
}

export interface Tenant {
  id: string;
  display_name: string;
  created_at: string;
}

const path = (id: string) => `/api/v1/auth/tokens/${encodeURIComponent(id)}`;

export class Tokens {
  constructor(private readonly transport: Transport) {}

  /** Checks the client's token, or another one. */
  verify(token?: string): Promise<Verification> {
    return this.transport.json('GET', '/api/v1/auth/verify', {
      ...(token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {}),
    });
  }

  /** The secret is in this answer only. */
  create(token: TokenCreate): Promise<{ token: string; id: string; message: string }> {
    return this.transport.json('POST', '/api/v1/auth/tokens', { json: token });
  }

  async list(): Promise<TokenInfo[]> {
    return (await this.transport.json<{ tokens: TokenInfo[] }>('GET', '/api/v1/auth/tokens')).tokens;
  }

  async get(id: string): Promise<TokenInfo> {
    return (await this.transport.json<{ token: TokenInfo }>('GET', path(id))).token;
  }

  async update(id: string, changes: TokenUpdate): Promise<TokenInfo> {
    return (await this.transport.json<{ token: TokenInfo }>('PATCH', path(id), { json: changes })).token;
  }

  async delete(id: string): Promise<void> {
    await this.transport.json('DELETE', path(id));
  }

  /** A new secret (in this answer only); the old one stops working. */
  rotate(id: string): Promise<{ new_token: string; message: string }> {
    return this.transport.json('POST', `${path(id)}/rotate`);
  }

  /** Final: the token stays listed, revoked. */
  async revoke(id: string): Promise<void> {
    await this.transport.json('POST', `${path(id)}/revoke`);
  }
}

export class Tenants {
  constructor(private readonly transport: Transport) {}

  async list(): Promise<Tenant[]> {
    return (await this.transport.json<{ tenants: Tenant[] }>('GET', '/api/v1/tenants')).tenants;
  }

  /** A new tenant with its first admin token (the secret is in this answer only). */
  create(tenant: {
    id: string;
    display_name?: string;
  }): Promise<{ tenant: Tenant; token: string; token_id: string; message: string }> {
    return this.transport.json('POST', '/api/v1/tenants', { json: tenant });
  }

  /** Deletes the tenant's tokens (its data stays); the server refuses without `confirm: true`. */
  async delete(id: string, options: { confirm?: boolean } = {}): Promise<void> {
    await this.transport.json('DELETE', `/api/v1/tenants/${encodeURIComponent(id)}`, {
      query: { confirm: options.confirm },
    });
  }
}
