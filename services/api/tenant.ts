import type { FastifyRequest } from 'fastify';
import { paths } from '../../catalog/index.js';
import { authOf } from './auth.js';

const DATABASE_HEADER = 'x-arc-database';

/** The tenant a request acts for: its token's, never one named in the request. */
export function tenantOf(request: FastifyRequest): string {
  return authOf(request).tenant;
}

/** The database bare table names mean: the one the body names, else `x-arc-database`, else `default`. */
export function databaseOf(request: FastifyRequest, named: string | undefined): string {
  const header = request.headers[DATABASE_HEADER];
  return paths.assertName('database', named ?? ((typeof header === 'string' && header) || 'default'));
}
