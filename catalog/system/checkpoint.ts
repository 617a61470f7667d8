/** `_system` state ↔ the `tenants` and `tokens` tables of a checkpoint (docs/catalog-checkpoints.md). */
import { type Bool, Table, type Vector } from 'apache-arrow';
import {
  column,
  readBigintColumn,
  readNonNullBigintColumn,
  readNonNullStringColumn,
  readStringListColumn,
} from '../parquet/index.js';
import type { Permission } from './actions.js';
import { indexByHash, type SystemMaps, type TenantRecord, type TokenRecord } from './state.js';

export const SYSTEM_CHECKPOINT_TABLES = ['tenants', 'tokens'] as const;

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : 1);
const micros = (ms: number | null) => (ms === null ? null : ms * 1000);
const millis = (us: number | null) => (us === null ? null : us / 1000);

export function systemToCheckpoint(state: SystemMaps): Record<string, Table> {
  const tenants = [...state.tenants.values()].sort(byId);
  const tokens = [...state.tokens.values()].sort(byId);
  return {
    tenants: new Table({
      id: column.utf8(tenants.map((t) => t.id)),
      display_name: column.utf8(tenants.map((t) => t.displayName)),
      created_version: column.int64(tenants.map((t) => t.createdVersion)),
      created_at: column.timestampMicros(tenants.map((t) => micros(t.createdAt))),
    }),
    tokens: new Table({
      id: column.utf8(tokens.map((t) => t.id)),
      tenant: column.utf8(tokens.map((t) => t.tenant)),
      name: column.utf8(tokens.map((t) => t.name)),
      description: column.utf8(tokens.map((t) => t.description)),
      hash: column.utf8(tokens.map((t) => t.hash)),
      permissions: column.utf8List(tokens.map((t) => t.permissions)),
      // A null list (every database) stays distinct from a list.
      databases: column.utf8List(tokens.map((t) => t.databases as string[])),
      platform_admin: column.bool(tokens.map((t) => t.platformAdmin)),
      enabled: column.bool(tokens.map((t) => t.enabled)),
      created_at: column.timestampMicros(tokens.map((t) => micros(t.createdAt))),
      expires_at: column.timestampMicros(tokens.map((t) => micros(t.expiresAt))),
      rotated_at: column.timestampMicros(tokens.map((t) => micros(t.rotatedAt))),
      revoked_at: column.timestampMicros(tokens.map((t) => micros(t.revokedAt))),
    }),
  };
}

export function systemFromCheckpoint(tables: Record<string, Table>): SystemMaps {
  const tenants = readTenants(tables.tenants!);
  const tokens = new Map(readTokens(tables.tokens!).map((t) => [t.id, t]));
  return { tenants: new Map(tenants.map((t) => [t.id, t])), tokens, tokenIdsByHash: indexByHash(tokens) };
}

function readTenants(table: Table): TenantRecord[] {
  const names = readNonNullStringColumn(table, 'display_name');
  const versions = readNonNullBigintColumn(table, 'created_version');
  const createdAt = readNonNullBigintColumn(table, 'created_at');
  return readNonNullStringColumn(table, 'id').map((id, i) => ({
    id,
    displayName: names[i]!,
    createdVersion: versions[i]!,
    createdAt: createdAt[i]! / 1000,
  }));
}

function readTokens(table: Table): TokenRecord[] {
  const text = (name: string) => readNonNullStringColumn(table, name);
  const time = (name: string) => readBigintColumn(table, name).map(millis);
  const flag = (name: string) => Array.from(table.getChild(name) as Vector<Bool>, (v) => v === true);
  const tenant = text('tenant');
  const name = text('name');
  const description = text('description');
  const hash = text('hash');
  const permissions = readStringListColumn(table, 'permissions') as Permission[][];
  const databases = readNullableStringListColumn(table, 'databases');
  const platformAdmin = flag('platform_admin');
  const enabled = flag('enabled');
  const createdAt = readNonNullBigintColumn(table, 'created_at');
  const expiresAt = time('expires_at');
  const rotatedAt = time('rotated_at');
  const revokedAt = time('revoked_at');
  return text('id').map((id, i) => ({
    id,
    tenant: tenant[i]!,
    name: name[i]!,
    description: description[i]!,
    hash: hash[i]!,
    permissions: permissions[i]!,
    databases: databases[i] ?? null,
    platformAdmin: platformAdmin[i]!,
    enabled: enabled[i]!,
    createdAt: createdAt[i]! / 1000,
    expiresAt: expiresAt[i] ?? null,
    rotatedAt: rotatedAt[i] ?? null,
    revokedAt: revokedAt[i] ?? null,
  }));
}

function readNullableStringListColumn(table: Table, name: string): (string[] | null)[] {
  const vector = table.getChild(name)!;
  const lists = readStringListColumn(table, name);
  return lists.map((list, i) => (vector.isValid(i) ? list : null));
}
