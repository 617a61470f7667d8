import type { FastifyRequest } from 'fastify';
import { authOf } from './auth.js';

/** The tenant a request acts for: its token's, never one named in the request. */
export function tenantOf(request: FastifyRequest): string {
  return authOf(request).tenant;
}
