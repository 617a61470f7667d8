/**
 * The actions a `_system` commit may carry: tenants and their API tokens. Validated when written
 * and when read back, like a tenant catalog's actions.
 */
import { z } from 'zod';
import { NAME_RULES } from '../paths.js';

export const PERMISSIONS = ['read', 'write', 'delete', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];

const tenantId = z.string().regex(NAME_RULES.tenant, 'invalid tenant id');
export const TOKEN_ID = /^tok_[0-9a-f]{32}$/;
const tokenId = z.string().regex(TOKEN_ID, 'a token id is tok_ followed by 32 hex digits');
/** sha256 of the secret: the secret itself is never stored. */
const tokenHash = z.string().regex(/^[0-9a-f]{64}$/, 'hash must be 64 lowercase hex digits');
const tokenName = z.string().min(1).max(200);
const description = z.string().max(1000);
const permissions = z
  .array(z.enum(PERMISSIONS))
  .min(1)
  .refine((list) => new Set(list).size === list.length, 'permissions must not repeat');
/** null: every database of the tenant; else exactly these. */
const databases = z
  .array(z.string().regex(NAME_RULES.database, 'invalid database name'))
  .min(1, 'give at least one database, or null for all')
  .max(1000)
  .refine((list) => new Set(list).size === list.length, 'databases must not repeat')
  .nullable();
/** Milliseconds since the epoch; null: never expires. */
const expiresAt = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable();

const tokenRef = { tenant: tenantId, id: tokenId };

export const systemActionSchema = z.discriminatedUnion('op', [
  z
    .object({
      op: z.literal('createTenant'),
      tenant: tenantId,
      displayName: z.string().min(1).max(200).optional(),
    })
    .strict(),
  z.object({ op: z.literal('dropTenant'), tenant: tenantId }).strict(),
  z
    .object({
      op: z.literal('createToken'),
      ...tokenRef,
      name: tokenName,
      description,
      hash: tokenHash,
      permissions,
      databases,
      platformAdmin: z.boolean(),
      expiresAt,
    })
    .strict(),
  z
    .object({
      op: z.literal('updateToken'),
      ...tokenRef,
      name: tokenName.optional(),
      description: description.optional(),
      permissions: permissions.optional(),
      databases: databases.optional(),
      expiresAt: expiresAt.optional(),
      enabled: z.boolean().optional(),
    })
    .strict(),
  z.object({ op: z.literal('rotateToken'), ...tokenRef, hash: tokenHash }).strict(),
  z.object({ op: z.literal('revokeToken'), ...tokenRef }).strict(),
  z.object({ op: z.literal('deleteToken'), ...tokenRef }).strict(),
]);
export type SystemAction = z.infer<typeof systemActionSchema>;
export type TokenAction = Extract<
  SystemAction,
  { op: 'createToken' | 'updateToken' | 'rotateToken' | 'revokeToken' | 'deleteToken' }
>;
