/** New tokens as catalog actions, and token records as management calls show them. */
import { PERMISSIONS, type Permission, type TokenRecord } from '../../catalog/index.js';
import { generateSecret, hashSecret, newTokenId } from './secrets.js';

export interface CreateTokenInput {
  name: string;
  description?: string;
  /** Default: read and write (Arc's default). */
  permissions?: readonly Permission[];
  /** null or absent: every database of the tenant. */
  databases?: readonly string[] | null;
  /** Absent: never expires. */
  expiresInSeconds?: number;
  platformAdmin?: boolean;
}

/** A token as management calls show it: never the secret or its hash. */
export interface TokenInfo extends Omit<TokenRecord, 'hash'> {
  /** Last successful verification on this node (kept in memory only). */
  readonly lastUsedAt: number | null;
}

export interface IssuedToken {
  /** The secret, shown once. */
  token: string;
  record: TokenInfo;
}

const DEFAULT_PERMISSIONS: readonly Permission[] = ['read', 'write'];

/** Permissions in one canonical order, without repeats. */
export const canonical = (permissions: readonly Permission[]) =>
  PERMISSIONS.filter((p) => permissions.includes(p));

/** The createToken action of a new token and its secret (shared by tokens and a new tenant's first token). */
export function tokenAction(
  tenant: string,
  input: CreateTokenInput,
  now: number,
  ids: { id?: string; secret?: string } = {},
) {
  const secret = ids.secret ?? generateSecret();
  const action = {
    op: 'createToken' as const,
    tenant,
    id: ids.id ?? newTokenId(),
    name: input.name,
    description: input.description ?? '',
    hash: hashSecret(secret),
    permissions: canonical(input.permissions ?? DEFAULT_PERMISSIONS),
    databases: input.databases ?? null,
    platformAdmin: input.platformAdmin ?? false,
    expiresAt: input.expiresInSeconds === undefined ? null : now + input.expiresInSeconds * 1000,
  };
  return { secret, action };
}

export function tokenInfo(record: TokenRecord, lastUsedAt: number | null): TokenInfo {
  const { hash: _hash, ...rest } = record;
  return { ...rest, lastUsedAt };
}
