/** Arc's token endpoints (ARC-COMPAT.md "Management → Tokens"), scoped to the caller's tenant. */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PERMISSIONS, paths, TOKEN_ID } from '../../../catalog/index.js';
import { assertCanGrant, assertCanManage, type TokenInfo, type TokenService } from '../../auth/index.js';
import { authOf, tokenFromRequest } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface TokenRoutesOptions {
  auth: TokenService;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const tokenView = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    permissions: z.array(z.enum(PERMISSIONS)),
    created_at: z.string(),
    last_used_at: z.string().nullable().describe('Last use seen by the node that answers (kept in memory).'),
    enabled: z.boolean().describe('False when disabled or revoked.'),
    expires_at: z.string().nullable(),
    databases: z.array(z.string()).nullable().describe('Databases the token may use; null: all of them.'),
    platform_admin: z.boolean(),
    revoked: z.boolean(),
    rotated_at: z.string().nullable(),
  })
  .meta({ id: 'Token' });

function view(token: TokenInfo): z.infer<typeof tokenView> {
  return {
    id: token.id,
    name: token.name,
    description: token.description,
    permissions: [...token.permissions],
    created_at: iso(token.createdAt)!,
    last_used_at: iso(token.lastUsedAt),
    enabled: token.enabled && token.revokedAt === null,
    expires_at: iso(token.expiresAt),
    databases: token.databases && [...token.databases],
    platform_admin: token.platformAdmin,
    revoked: token.revokedAt !== null,
    rotated_at: iso(token.rotatedAt),
  };
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 } as const;
const DURATION = /^(\d+)(s|m|h|d|w)?$/;
const MAX_EXPIRY_SECONDS = 100 * 365 * 86_400;
const expiresIn = z
  .union([
    z.number(),
    z.string().regex(DURATION, 'expires_in is seconds, or a number with s, m, h, d or w ("30d", "12h")'),
  ])
  .transform((value) => {
    if (typeof value === 'number') return value;
    const [, amount, unit] = DURATION.exec(value)!;
    return Number(amount) * UNIT_SECONDS[(unit ?? 's') as keyof typeof UNIT_SECONDS];
  })
  .pipe(z.number().int().min(1).max(MAX_EXPIRY_SECONDS))
  .describe('Seconds from now, or a duration such as "30d", "12h", "15m", "45s", "2w".');

const unique = (list: readonly string[]) => new Set(list).size === list.length;
const permissions = z.array(z.enum(PERMISSIONS)).min(1).describe('`admin` brings all permissions.');
const databases = z
  .array(z.string().regex(paths.NAME_RULES.database, 'invalid database name'))
  .min(1)
  .max(1000)
  .refine(unique, 'databases must not repeat')
  .nullable()
  .describe('Limit the token to these databases; null: all (default: those of the creating token).');
const idParams = z.object({ id: z.string().regex(TOKEN_ID, 'a token id is tok_ followed by 32 hex digits') });
const message = z.object({ success: z.literal(true), message: z.string() });
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };

export const tokenRoutes: FastifyPluginAsyncZod<TokenRoutesOptions> = async (app, { auth }) => {
  /** The token a management call acts on, once the caller is shown to have authority over it. */
  const managed = async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const actor = authOf(request);
    const token = await auth.get(actor.tenant, request.params.id);
    assertCanManage(actor, token);
    return { actor, token };
  };

  app.get(
    '/api/v1/auth/verify',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Whether the request carries a valid token, and what it may do',
        response: {
          200: z.object({
            valid: z.boolean(),
            error: z.string().optional().describe('Why the token is not valid.'),
            token_info: tokenView.optional(),
            permissions: z.array(z.enum(PERMISSIONS)).optional(),
            tenant: z.string().optional(),
            databases: z.array(z.string()).nullable().optional(),
          }),
        },
      },
    },
    async (request) => {
      const secret = tokenFromRequest(request);
      if (secret === undefined) return { valid: false, error: 'missing token' };
      const result = await auth.verify(secret);
      if (!result.ok) return { valid: false, error: result.message };
      const info = view(result.token);
      return {
        valid: true,
        token_info: info,
        permissions: info.permissions,
        tenant: result.context.tenant,
        databases: info.databases,
      };
    },
  );

  app.post(
    '/api/v1/auth/tokens',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Create a token; its secret is in this answer only',
        body: z
          .object({
            name: z.string().trim().min(1).max(200),
            description: z.string().max(1000).optional(),
            permissions: permissions.optional().describe('Default: read and write.'),
            expires_in: expiresIn.optional(),
            databases: databases.optional(),
            platform_admin: z.boolean().optional().describe('Only a platform admin token may grant it.'),
          })
          .strict(),
        response: {
          201: z.object({ success: z.literal(true), token: z.string(), id: z.string(), message: z.string() }),
          ...errors,
          409: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const actor = authOf(request);
      const { body } = request;
      const grant = {
        platformAdmin: body.platform_admin ?? false,
        databases: body.databases === undefined ? actor.databases : body.databases,
      };
      assertCanGrant(actor, grant);
      const { token, record } = await auth.create(
        actor.tenant,
        {
          name: body.name,
          ...(body.description === undefined ? {} : { description: body.description }),
          ...(body.permissions ? { permissions: body.permissions } : {}),
          ...(body.expires_in === undefined ? {} : { expiresInSeconds: body.expires_in }),
          ...grant,
        },
        actor.tokenId,
      );
      return reply.status(201).send({
        success: true as const,
        token,
        id: record.id,
        message: 'token created: store it now, it is not shown again',
      });
    },
  );

  app.get(
    '/api/v1/auth/tokens',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Tokens of this tenant (never their secrets)',
        response: {
          200: z.object({ success: z.literal(true), tokens: z.array(tokenView), count: z.number() }),
          ...errors,
        },
      },
    },
    async (request) => {
      const tokens = (await auth.list(tenantOf(request))).map(view);
      return { success: true as const, tokens, count: tokens.length };
    },
  );

  app.get(
    '/api/v1/auth/tokens/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'A token of this tenant',
        params: idParams,
        response: { 200: z.object({ success: z.literal(true), token: tokenView }), ...errors },
      },
    },
    async (request) => ({
      success: true as const,
      token: view(await auth.get(tenantOf(request), request.params.id)),
    }),
  );

  app.patch(
    '/api/v1/auth/tokens/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Change a token: name, description, permissions, databases, expiry, enabled',
        params: idParams,
        body: z
          .object({
            name: z.string().trim().min(1).max(200).optional(),
            description: z.string().max(1000).optional(),
            permissions: permissions.optional(),
            databases: databases.optional(),
            expires_in: expiresIn.nullable().optional().describe('From now; null: never expires.'),
            enabled: z.boolean().optional(),
          })
          .strict()
          .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one field to change'),
        response: {
          200: message.extend({ token: tokenView }),
          ...errors,
          409: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { actor, token } = await managed(request);
      const { expires_in: expiresInSeconds, ...changes } = request.body;
      if (changes.databases !== undefined) {
        assertCanGrant(actor, { platformAdmin: token.platformAdmin, databases: changes.databases });
      }
      const updated = await auth.update(
        actor.tenant,
        token.id,
        { ...changes, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) },
        actor.tokenId,
      );
      return { success: true as const, message: `token ${token.id} updated`, token: view(updated) };
    },
  );

  app.delete(
    '/api/v1/auth/tokens/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Delete a token',
        params: idParams,
        response: { 200: message, ...errors },
      },
    },
    async (request) => {
      const { actor, token } = await managed(request);
      await auth.delete(actor.tenant, token.id, actor.tokenId);
      return { success: true as const, message: `token ${token.id} deleted` };
    },
  );

  app.post(
    '/api/v1/auth/tokens/:id/rotate',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Give a token a new secret (in this answer only); the old secret stops working',
        params: idParams,
        response: {
          200: z.object({ success: z.literal(true), new_token: z.string(), message: z.string() }),
          ...errors,
          409: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { actor, token } = await managed(request);
      const rotated = await auth.rotate(actor.tenant, token.id, actor.tokenId);
      return {
        success: true as const,
        new_token: rotated.token,
        message: `token ${token.id} rotated: store the new secret now, it is not shown again`,
      };
    },
  );

  app.post(
    '/api/v1/auth/tokens/:id/revoke',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['auth'],
        summary: 'Revoke a token for good (it stays listed as revoked)',
        params: idParams,
        response: { 200: message, ...errors },
      },
    },
    async (request) => {
      const { actor, token } = await managed(request);
      await auth.revoke(actor.tenant, token.id, actor.tokenId);
      return { success: true as const, message: `token ${token.id} revoked` };
    },
  );
};
