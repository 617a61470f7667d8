/** What a verified token may do: the tenant it acts for, its permissions and its databases. */
import { PERMISSIONS, type Permission, type TokenRecord } from '../../catalog/index.js';

export interface AuthContext {
  /** The only source of a request's tenant. */
  readonly tenant: string;
  readonly tokenId: string;
  readonly name: string;
  /** Effective permissions: `admin` brings all of them. */
  readonly permissions: ReadonlySet<Permission>;
  /** null: every database of the tenant. */
  readonly databases: readonly string[] | null;
  readonly platformAdmin: boolean;
  /** When the token expires (ms since the epoch); null: never. What it hands out (signed URLs) must not outlive it. */
  readonly expiresAt: number | null;
}

export function contextOf(record: TokenRecord): AuthContext {
  return {
    tenant: record.tenant,
    tokenId: record.id,
    name: record.name,
    permissions: new Set(record.permissions.includes('admin') ? PERMISSIONS : record.permissions),
    databases: record.databases,
    platformAdmin: record.platformAdmin,
    expiresAt: record.expiresAt,
  };
}

export function hasDatabaseAccess(context: AuthContext, database: string): boolean {
  return context.databases === null || context.databases.includes(database);
}
