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
/** A UTF-16 code unit of a surrogate pair without its partner: UTF-8 cannot hold it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/**
 * Free text kept in checkpoints as UTF-8: a lone surrogate would come back as U+FFFD, so a
 * state loaded from a checkpoint would differ from the log's.
 */
const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !LONE_SURROGATE.test(value), 'must be well-formed Unicode (it has a lone surrogate)');
/** A name people read: a token's, a tenant's display name. */
const title = text(200).pipe(z.string().min(1));
const description = text(1000);
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
      displayName: title.optional(),
    })
    .strict(),
  z.object({ op: z.literal('dropTenant'), tenant: tenantId }).strict(),
  z
    .object({
      op: z.literal('createToken'),
      ...tokenRef,
      name: title,
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
      name: title.optional(),
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
