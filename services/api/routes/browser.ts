/**
 * The browser console's API (DESIGN.md §7, ADR 0023): a session pins a catalog version and answers
 * each table's schema and pruned files with signed URLs, for the page to query on DuckDB-WASM;
 * the catalog's commit history lets it pick a version to read `as_of`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { COLUMN_TYPES } from '../../../catalog/index.js';
import type { BrowserSession, BrowserSessions } from '../../browser/index.js';
import { assertAllDatabases, assertDatabaseAccess, authOf } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { databaseOf, tenantOf } from '../tenant.js';
import { asOfSchema, databaseSchema } from './query.js';

export interface BrowserRoutesOptions {
  sessions: BrowserSessions;
}

const sessionAnswer = z.object({
  success: z.literal(true),
  version: z.number().describe('The pinned catalog version.'),
  expires_at: z.string().describe('When the URLs stop working (RFC 3339).'),
  sql: z
    .string()
    .optional()
    .describe('SQL sessions: the statement to run, each table reference replaced by its table’s `name`.'),
  tables: z.array(
    z.object({
      name: z.string().optional().describe('SQL sessions: the name the statement reads this reference as.'),
      database: z.string(),
      table: z.string(),
      columns: z.array(z.object({ name: z.string(), type: z.enum(COLUMN_TYPES) })),
      read_columns: z
        .array(z.string())
        .describe('Columns the statement may read (a superset, with time); all for table sessions.'),
      time_range: z
        .object({ from: z.number().nullable(), to: z.number().nullable() })
        .describe('Inclusive bounds in µs from the statement’s time predicates; null when unbounded.'),
      table_files: z.number().describe('Live files of the table before pruning.'),
      files: z.array(
        z.object({
          url: z.string().describe('Signed GET URL: relative (/files/…) on the local store, absolute on S3.'),
          rows: z.number(),
          bytes: z.number(),
          min_time: z.string(),
          max_time: z.string(),
          min_time_us: z.number(),
          max_time_us: z.number(),
          partition: z.string(),
        }),
      ),
    }),
  ),
});

const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema };

export const browserRoutes: FastifyPluginAsyncZod<BrowserRoutesOptions> = async (app, { sessions }) => {
  const sessionBody = z
    .strictObject({
      tables: z
        .array(z.string().min(1).max(200))
        .min(1)
        .max(100)
        .optional()
        .describe('Tables to read whole: `db.table`, or a bare name of `database`.'),
      sql: z.string().min(1).max(1_000_000).optional().describe('One SELECT to run in the browser.'),
      database: databaseSchema.optional(),
      as_of: asOfSchema.optional().describe('Read the catalog as of a version or a point in time.'),
      ttl_seconds: z
        .number()
        .int()
        .min(1)
        .max(sessions.ttl.maxSeconds)
        .optional()
        .describe(`Lifetime of the URLs (default ${sessions.ttl.defaultSeconds} s).`),
    })
    .refine((body) => (body.tables === undefined) !== (body.sql === undefined), {
      message: 'give exactly one of tables and sql',
    });

  app.post(
    '/api/v1/browser/session',
    {
      config: { permission: 'read' },
      schema: {
        summary:
          'Signed URLs of the pruned files a statement (or whole tables) reads, for the browser console',
        tags: ['browser'],
        body: sessionBody,
        response: { 200: sessionAnswer, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      const auth = authOf(request);
      const session = await sessions.create({
        tenant: tenantOf(request),
        database: databaseOf(request, body.database),
        ...(body.tables ? { tables: body.tables } : {}),
        ...(body.sql !== undefined ? { sql: body.sql } : {}),
        ...(body.as_of ? { asOf: body.as_of } : {}),
        ...(body.ttl_seconds !== undefined ? { ttlSeconds: body.ttl_seconds } : {}),
        authorize: (database) => assertDatabaseAccess(request, database),
        // A URL must not outlive the token that asked for it.
        ...(auth.expiresAt !== null ? { notAfter: Math.floor(auth.expiresAt / 1000) } : {}),
      });
      return sessionJson(session);
    },
  );

  app.get(
    '/api/v1/catalog/versions',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The tenant’s catalog commits, newest first',
        tags: ['browser'],
        querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: {
          200: z.object({
            success: z.literal(true),
            versions: z.array(
              z.object({
                version: z.number(),
                committed_at: z.string(),
                operation: z.string().nullable(),
                author: z.string().nullable(),
                run_id: z.string().nullable(),
                action_count: z.number(),
              }),
            ),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      assertAllDatabases(request, 'the commit history covers every database of the tenant');
      const commits = await sessions.versions(tenantOf(request), request.query.limit);
      return {
        success: true as const,
        versions: commits.map((c) => ({
          version: c.version,
          committed_at: new Date(c.timestamp).toISOString(),
          operation: c.operation ?? null,
          author: c.author ?? null,
          run_id: c.runId ?? null,
          action_count: c.actionCount,
        })),
      };
    },
  );
};

function sessionJson(session: BrowserSession) {
  return {
    success: true as const,
    version: session.version,
    expires_at: new Date(session.expiresAt * 1000).toISOString(),
    ...(session.sql !== undefined ? { sql: session.sql } : {}),
    tables: session.tables.map((t) => ({
      ...(t.name !== undefined ? { name: t.name } : {}),
      database: t.database,
      table: t.table,
      columns: [...t.columns],
      read_columns: [...t.readColumns],
      time_range: { from: t.timeRange.from ?? null, to: t.timeRange.to ?? null },
      table_files: t.tableFiles,
      files: t.files.map((f) => ({
        url: f.url,
        rows: f.rows,
        bytes: f.bytes,
        min_time: f.minTime,
        max_time: f.maxTime,
        min_time_us: f.minTimeUs,
        max_time_us: f.maxTimeUs,
        partition: f.partition,
      })),
    })),
  };
}
