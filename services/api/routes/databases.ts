/**
 * Databases in Arc's shapes (ARC-COMPAT.md "Queries"): list (read), create and delete (admin).
 * A token limited to some databases sees, creates and deletes only those. Deleting a database is
 * one catalog commit (`dropDatabase`) that drops its tables and policies with it, as Arc's DELETE
 * removes a database with its data; the data files stay readable by time travel until retention
 * removes old versions' files.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CatalogNotFoundError,
  paths,
  type TenantCatalogs,
  type TenantState,
  WeirError,
} from '../../../catalog/index.js';
import { hasDatabaseAccess } from '../../auth/index.js';
import { assertDatabaseAccess, authOf } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface DatabaseRoutesOptions {
  catalogs: TenantCatalogs;
}

const NAME_RULE = 'a database name is a letter, then up to 63 letters, digits, _ or -';
const databaseName = z.string().regex(paths.NAME_RULES.database, NAME_RULE);

const databaseView = z
  .object({ name: z.string(), measurement_count: z.number(), created_at: z.string() })
  .meta({ id: 'Database' });

function view(state: TenantState, name: string): z.infer<typeof databaseView> {
  const database = state.databases.get(name)!;
  let tables = 0;
  for (const table of state.tables.values()) if (table.database === name) tables++;
  return { name, measurement_count: tables, created_at: new Date(database.createdAt).toISOString() };
}

/**
 * 404 DATABASE_NOT_FOUND, the catalog's own answer for a missing database, for routes that only read:
 * a filter naming a database that does not exist is a mistake, not an empty list.
 */
export function assertDatabaseExists(state: TenantState, name: string): void {
  if (!state.databases.has(name))
    throw new CatalogNotFoundError('DATABASE_NOT_FOUND', `database ${name} does not exist`, {
      database: name,
    });
}

export const databaseRoutes: FastifyPluginAsyncZod<DatabaseRoutesOptions> = async (app, { catalogs }) => {
  app.get(
    '/api/v1/databases',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Databases with their table counts',
        tags: ['query'],
        response: {
          200: z.object({ databases: z.array(databaseView), count: z.number() }),
          401: errorBodySchema,
          403: errorBodySchema,
        },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const state = await catalogs.forTenant(auth.tenant).refresh();
      const databases = [...state.databases.keys()]
        .filter((name) => hasDatabaseAccess(auth, name))
        .map((name) => view(state, name));
      return { databases, count: databases.length };
    },
  );

  app.post(
    '/api/v1/databases',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Create a database',
        tags: ['query'],
        body: z.strictObject({ name: databaseName }),
        response: {
          201: z.object({ success: z.literal(true), database: databaseView }),
          400: errorBodySchema,
          401: errorBodySchema,
          403: errorBodySchema,
          409: errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { name } = request.body;
      assertDatabaseAccess(request, name);
      // The catalog refuses an existing name (409 DATABASE_EXISTS), also when another request wins a race.
      const { state } = await catalogs
        .forTenant(tenantOf(request))
        .commit([{ op: 'createDatabase', database: name }], {
          operation: 'create-database',
          author: authOf(request).tokenId,
        });
      return reply.status(201).send({ success: true as const, database: view(state, name) });
    },
  );

  app.delete(
    '/api/v1/databases/:name',
    {
      config: { permission: 'admin' },
      schema: {
        summary: 'Delete a database with its tables (needs ?confirm=true)',
        tags: ['query'],
        params: z.object({ name: databaseName }),
        querystring: z.object({
          confirm: z.string().optional().describe('Must be `true`: the database and its tables go.'),
        }),
        response: {
          200: z.object({
            success: z.literal(true),
            message: z.string(),
            measurements_dropped: z.number(),
            catalog_version: z.number(),
          }),
          400: errorBodySchema,
          401: errorBodySchema,
          403: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (request.query.confirm !== 'true') {
        throw new WeirError(
          'CONFIRM_REQUIRED',
          `deleting database ${name} drops its tables: repeat the request with ?confirm=true`,
          400,
          { database: name },
        );
      }
      assertDatabaseAccess(request, name);
      const catalog = catalogs.forTenant(tenantOf(request));
      const before = await catalog.refresh();
      const dropped = before.databases.has(name) ? view(before, name).measurement_count : 0;
      // The catalog refuses a missing database (404 DATABASE_NOT_FOUND), also when another request dropped it first.
      const { version } = await catalog.commit([{ op: 'dropDatabase', database: name }], {
        operation: 'drop-database',
        author: authOf(request).tokenId,
      });
      return {
        success: true as const,
        message: `database ${name} deleted with its ${dropped} measurement${dropped === 1 ? '' : 's'}`,
        measurements_dropped: dropped,
        catalog_version: version,
      };
    },
  );
};
