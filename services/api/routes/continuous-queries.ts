/** Continuous queries in Arc's shapes (ARC-COMPAT.md "Continuous queries"). */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hasDatabaseAccess } from '../../auth/index.js';
import type { ContinuousQueries, CqView } from '../../cq/index.js';
import { assertDatabaseAccess, authOf } from '../auth.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface ContinuousQueryRoutesOptions {
  cqs: ContinuousQueries;
}

const duration = z.union([z.string().min(1).max(32), z.number().int().min(0)]);
const instant = z.string().max(64);
// Strict bodies: a misspelt field (`dryrun`) is refused rather than silently ignored.
const cqInput = z.strictObject({
  name: z.string().min(1).max(200),
  database: z.string().min(1).max(64),
  source_measurement: z.string().min(1).max(128),
  destination_measurement: z.string().min(1).max(128),
  query: z
    .string()
    .min(1)
    .max(100_000)
    .describe(
      "A SELECT over the source with '{start_time}' and '{end_time}' placeholders; it reads only tables of `database`, the source among them.",
    ),
  interval: duration.describe(
    'Window length: 30s, 5m, 1h, 1d (or seconds); a whole multiple of every time_bucket width of the query.',
  ),
  delay: duration.optional().describe('How long after a window ends it is first run (default 30s).'),
  start_time: instant.optional().describe('First window, RFC 3339 with a zone (default: the current one).'),
  is_active: z.boolean().optional(),
  description: z.string().max(2000).optional(),
});
const cqOutput = z.object({
  id: z.string(),
  name: z.string(),
  database: z.string(),
  source_measurement: z.string(),
  destination_measurement: z.string(),
  query: z.string(),
  interval: z.string(),
  interval_ms: z.number(),
  delay_ms: z.number(),
  is_active: z.boolean(),
  description: z.string().nullable(),
  start_time: z.string(),
  watermark: z.string().describe('Windows ending at or before this were materialized.'),
  checked_version: z.number(),
  version: z.number(),
});
const idParams = z.object({ id: z.string().min(1).max(128) });
const errors = { 400: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

export const continuousQueryRoutes: FastifyPluginAsyncZod<ContinuousQueryRoutesOptions> = async (
  app,
  { cqs },
) => {
  /** A CQ's query may read only databases the request's token reaches (its ticks run unattended). */
  const readableBy = (request: FastifyRequest) => (database: string) =>
    assertDatabaseAccess(request, database);

  /** The CQ, once the request's token is shown to reach its database. */
  const find = async (request: FastifyRequest, id: string): Promise<CqView> => {
    const cq = await cqs.get(tenantOf(request), id);
    assertDatabaseAccess(request, cq.database);
    return cq;
  };

  app.get(
    '/api/v1/continuous_queries',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['continuous queries'],
        summary: 'List continuous queries',
        response: {
          200: z.object({ success: z.literal(true), queries: z.array(cqOutput), count: z.number() }),
        },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const queries = (await cqs.list(auth.tenant)).filter((q) => hasDatabaseAccess(auth, q.database));
      return { success: true as const, queries, count: queries.length };
    },
  );

  app.post(
    '/api/v1/continuous_queries',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['continuous queries'],
        summary: 'Create a continuous query (and its destination table)',
        body: cqInput,
        response: { 201: z.object({ success: z.literal(true), query: cqOutput }), ...errors },
      },
    },
    async (request, reply) => {
      assertDatabaseAccess(request, request.body.database);
      const query = await cqs.create(tenantOf(request), request.body, readableBy(request));
      return reply.status(201).send({ success: true as const, query });
    },
  );

  app.get(
    '/api/v1/continuous_queries/:id',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['continuous queries'],
        summary: 'A continuous query and its progress',
        params: idParams,
        response: { 200: z.object({ success: z.literal(true), query: cqOutput }), ...errors },
      },
    },
    async (request) => ({ success: true as const, query: await find(request, request.params.id) }),
  );

  app.put(
    '/api/v1/continuous_queries/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['continuous queries'],
        summary: 'Replace a continuous query (its name, start and progress stay)',
        params: idParams,
        body: cqInput,
        response: { 200: z.object({ success: z.literal(true), query: cqOutput }), ...errors },
      },
    },
    async (request) => {
      await find(request, request.params.id);
      const query = await cqs.update(tenantOf(request), request.params.id, request.body, readableBy(request));
      return { success: true as const, query };
    },
  );

  app.delete(
    '/api/v1/continuous_queries/:id',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['continuous queries'],
        summary: 'Delete a continuous query (its destination table stays)',
        params: idParams,
        response: { 200: z.object({ success: z.literal(true), message: z.string() }), ...errors },
      },
    },
    async (request) => {
      await find(request, request.params.id);
      await cqs.remove(tenantOf(request), request.params.id);
      return { success: true as const, message: `continuous query ${request.params.id} deleted` };
    },
  );

  app.post(
    '/api/v1/continuous_queries/:id/execute',
    {
      config: { permission: 'admin' },
      schema: {
        tags: ['continuous queries'],
        summary:
          'Run a continuous query over a range now (a backfill: one window per task); a dry run counts without writing',
        params: idParams,
        body: z
          .strictObject({
            start_time: instant.optional(),
            end_time: instant.optional().describe('At most now: only closed windows are materialized.'),
            dry_run: z.boolean().default(false),
          })
          .default({ dry_run: false }),
        response: {
          200: z.object({
            success: z.literal(true),
            query_id: z.string(),
            query_name: z.string(),
            execution_id: z.string().nullable(),
            start_time: z.string(),
            end_time: z.string(),
            windows: z.number(),
            records_written: z.number(),
            execution_time_ms: z.number(),
            dry_run: z.boolean(),
            status: z.string(),
          }),
          ...errors,
          408: errorBodySchema,
          500: errorBodySchema,
          504: errorBodySchema,
        },
      },
    },
    async (request) => {
      const started = performance.now();
      await find(request, request.params.id);
      const outcome = await cqs.execute(
        tenantOf(request),
        request.params.id,
        request.body,
        readableBy(request),
      );
      return {
        success: true as const,
        query_id: outcome.cq.id,
        query_name: outcome.cq.name,
        execution_id: outcome.runId,
        start_time: outcome.startTime,
        end_time: outcome.endTime,
        windows: outcome.windows,
        records_written: outcome.recordsWritten,
        execution_time_ms: Math.round((performance.now() - started) * 100) / 100,
        dry_run: outcome.dryRun,
        status: outcome.status,
      };
    },
  );

  app.get(
    '/api/v1/continuous_queries/:id/executions',
    {
      config: { permission: 'read' },
      schema: {
        tags: ['continuous queries'],
        summary: 'Runs of a continuous query (ticks, executes, backfills), newest first',
        params: idParams,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(1000).default(100).describe('Runs per page (1–1000).'),
          before: z
            .string()
            .min(1)
            .max(128)
            .optional()
            .describe("A run id: the page after it (the previous page's next_before)."),
        }),
        response: {
          200: z.object({
            success: z.literal(true),
            executions: z.array(z.record(z.string(), z.unknown())),
            count: z.number(),
            next_before: z
              .string()
              .nullable()
              .describe('Pass as before for the next page; null on the last page.'),
          }),
          ...errors,
        },
      },
    },
    async (request) => {
      await find(request, request.params.id);
      const { limit, before } = request.query;
      const executions = (
        await cqs.executions(tenantOf(request), request.params.id, { limit, ...(before ? { before } : {}) })
      ).map(({ tasks, ...run }) => ({ ...run, task_count: tasks.length }));
      const last = executions.length === limit ? executions[executions.length - 1]!.runId : null;
      return { success: true as const, executions, count: executions.length, next_before: last };
    },
  );
};
