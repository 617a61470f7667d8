import type { FastifyRequest } from 'fastify';

/**
 * The tenant a request acts for. Tokens arrive with the tenancy issue, which replaces this with
 * the token's tenant (never one from the request body); until then the API serves the embedded
 * default tenant only.
 */
export const DEFAULT_TENANT = 'default';

export function tenantOf(_request: FastifyRequest): string {
  return DEFAULT_TENANT;
}
