/** Tenants, for platform admin tokens only: create (with a first admin token), list, delete. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { paths, type TenantRecord, WeirError } from '../../../catalog/index.js';
import type { TokenService } from '../../auth/index.js';
import { authOf } from '../auth.js';
import { errorBodySchema } from '../errors.js';

export interface TenantRoutesOptions {
  auth: TokenService;
}

const tenantView = z
  .object({ id: z.string(), display_name: z.string(), created_at: z.string() })
  .meta({ id: 'Tenant' });
const view = (tenant: TenantRecord): z.infer<typeof tenantView> => ({
  id: tenant.id,
  display_name: tenant.displayName,
  created_at: new Date(tenant.createdAt).toISOString(),
});
const tenantId = z
  .string()
  .regex(paths.NAME_RULES.tenant, 'a tenant id is a letter, then up to 63 letters, digits, _ or -');
const errors = { 401: errorBodySchema, 403: errorBodySchema };

export const tenantRoutes: FastifyPluginAsyncZod<TenantRoutesOptions> = async (app, { auth }) => {
  app.post(
    '/api/v1/tenants',
    {
      config: { platformAdmin: true },
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant and its first admin token (the secret is in this answer only)',
        body: z.strictObject({ id: tenantId, display_name: z.string().trim().min(1).max(200).optional() }),
        response: {
          201: z.object({
            success: z.literal(true),
            tenant: tenantView,
            token: z.string(),
            token_id: z.string(),
            message: z.string(),
          }),
          400: errorBodySchema,
          409: errorBodySchema,
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const { id, display_name: displayName } = request.body;
      const created = await auth.tenants.create(id, displayName, authOf(request).tokenId);
      return reply.status(201).send({
        success: true as const,
        tenant: view(created.tenant),
        token: created.token,
        token_id: created.record.id,
        message: `tenant ${id} created with an admin token: store it now, it is not shown again`,
      });
    },
  );

  app.get(
    '/api/v1/tenants',
    {
      config: { platformAdmin: true },
      schema: {
        tags: ['tenants'],
        summary: 'Every tenant',
        response: {
          200: z.object({ success: z.literal(true), tenants: z.array(tenantView), count: z.number() }),
          ...errors,
        },
      },
    },
    async () => {
      const tenants = (await auth.tenants.list()).map(view);
      return { success: true as const, tenants, count: tenants.length };
    },
  );

  app.delete(
    '/api/v1/tenants/:id',
    {
      config: { platformAdmin: true },
      schema: {
        tags: ['tenants'],
        summary: 'Delete a tenant and all its tokens (needs confirm=true; its stored data stays)',
        params: z.object({ id: tenantId }),
        querystring: z.object({ confirm: z.enum(['true', 'false']).optional() }),
        response: {
          200: z.object({ success: z.literal(true), message: z.string() }),
          400: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const actor = authOf(request);
      if (request.query.confirm !== 'true') {
        throw new WeirError(
          'CONFIRM_REQUIRED',
          `deleting tenant ${id} revokes all its tokens: pass ?confirm=true`,
          400,
        );
      }
      if (id === actor.tenant) {
        throw new WeirError('TENANT_IN_USE', `tenant ${id} owns the token making this request`, 409);
      }
      await auth.tenants.drop(id, actor.tokenId);
      return { success: true as const, message: `tenant ${id} deleted` };
    },
  );
};
