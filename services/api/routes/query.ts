/**
 * Query endpoints in Arc's shapes (ARC-COMPAT.md "Queries"): JSON, Arrow IPC stream, CSV stream,
 * estimate, and the measurement and database listings. Every answer names the catalog version it
 * read (`x-weir-catalog-version`) and how many files it opened (`x-weir-files-scanned`).
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { paths, type TenantCatalogs, WeirError } from '../../../catalog/index.js';
import { hasDatabaseAccess } from '../../auth/index.js';
import type { QueryPlan, QueryRequest, QueryService } from '../../query/index.js';
import { arrowStream, csvStream, type ResultLimits, readJsonRows } from '../../query/results/index.js';
import { assertDatabaseAccess, authOf } from '../auth.js';
import { errorBodySchema, mapError } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface QueryRoutesOptions {
  service: QueryService;
  catalogs: TenantCatalogs;
  limits: ResultLimits;
}

const DATABASE_HEADER = 'x-arc-database';
const PREFETCH_BYTES = 1024 * 1024;

const queryBody = z.object({
  sql: z.string().min(1).max(1_000_000).describe('One SELECT (or SHOW DATABASES / SHOW TABLES).'),
  format: z.enum(['json']).default('json').optional(),
  database: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Database of bare table names (else x-arc-database, else default).'),
  as_of: z
    .union([
      z.object({ version: z.number().int().min(0) }).strict(),
      z.object({ timestamp: z.union([z.string().min(1), z.number()]) }).strict(),
    ])
    .optional()
    .describe('Read the catalog as of a version or a point in time.'),
});
type QueryBody = z.infer<typeof queryBody>;

const jsonAnswer = z.object({
  success: z.literal(true),
  columns: z.array(z.string()),
  data: z.array(z.array(z.unknown())),
  row_count: z.number(),
  execution_time_ms: z.number(),
  timestamp: z.string(),
});
/** Errors of the query itself carry Arc's `columns: null, data: null`; those of auth and validation do not. */
const queryError = errorBodySchema.extend({ columns: z.null().optional(), data: z.null().optional() });
const errors = {
  400: queryError,
  401: queryError,
  403: queryError,
  404: queryError,
  408: queryError,
  413: queryError,
};

export const queryRoutes: FastifyPluginAsyncZod<QueryRoutesOptions> = async (app, options) => {
  const { service, limits } = options;

  /** Arc answers query errors with `columns` and `data` set to null. */
  const fail = (reply: FastifyReply, error: unknown) => {
    const { status, body } = mapError(error as Error);
    if (status >= 500) reply.log.error({ err: error }, 'query failed');
    return reply.status(status).send({ ...body, columns: null, data: null });
  };

  const requestOf = (request: FastifyRequest, body: QueryBody): QueryRequest => {
    const header = request.headers[DATABASE_HEADER];
    const database = paths.assertName(
      'database',
      body.database ?? ((typeof header === 'string' && header) || 'default'),
    );
    const abort = new AbortController();
    request.raw.once('close', () => {
      if (!request.raw.complete || request.raw.destroyed) abort.abort(new Error('the client went away'));
    });
    return {
      tenant: tenantOf(request),
      database,
      sql: body.sql,
      ...(body.as_of ? { asOf: body.as_of } : {}),
      signal: abort.signal,
      authorize: (db) => assertDatabaseAccess(request, db),
    };
  };

  const describe = (reply: FastifyReply, plan: QueryPlan | { version: number; tables?: undefined }) => {
    void reply.header('x-weir-catalog-version', String(plan.version));
    const files = plan.tables?.reduce((sum, t) => sum + t.files.length, 0) ?? 0;
    void reply.header('x-weir-files-scanned', String(files));
  };

  app.post(
    '/api/v1/query',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Run a query; rows as JSON arrays (Arc shape)',
        tags: ['query'],
        body: queryBody,
        response: { 200: jsonAnswer, ...errors },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      try {
        const query = requestOf(request, request.body);
        const shown = await service.show(query);
        const answer = shown
          ? {
              plan: { version: shown.version },
              value: { columns: [...shown.columns], data: shown.data.map((r) => [...r]) },
            }
          : await service.run(query, (result) => readJsonRows(result, limits));
        describe(reply, answer.plan);
        return {
          success: true as const,
          columns: answer.value.columns,
          data: answer.value.data,
          row_count: answer.value.data.length,
          execution_time_ms: Math.round((performance.now() - started) * 1000) / 1000,
          timestamp: new Date().toISOString(),
        };
      } catch (error) {
        return fail(reply, error);
      }
    },
  );

  /** Streams an encoded result while the query holds its connection and files. */
  const streamed =
    (
      contentType: string,
      encode: (result: Parameters<Parameters<QueryService['run']>[1]>[0]) => AsyncIterable<Uint8Array>,
    ) =>
    async (request: FastifyRequest<{ Body: QueryBody }>, reply: FastifyReply) => {
      try {
        const query = requestOf(request, request.body);
        if (await service.show(query))
          throw new WeirError(
            'UNSUPPORTED_FORMAT',
            'SHOW statements answer as JSON (POST /api/v1/query)',
            400,
          );
        await service.run(query, async (result, plan) => {
          // The first PREFETCH_BYTES are read before the status goes out, so a query that fails or
          // passes a limit early gets a proper error answer; later failures can only cut the stream
          // short (an Arrow stream then lacks its end marker, a CSV its last lines).
          const pieces = encode(result)[Symbol.asyncIterator]();
          const head: Uint8Array[] = [];
          let headBytes = 0;
          let done = false;
          while (headBytes < PREFETCH_BYTES && !done) {
            const next = await pieces.next();
            if (next.done) done = true;
            else {
              head.push(next.value);
              headBytes += next.value.byteLength;
            }
          }
          describe(reply, plan);
          const body = Readable.from(
            (async function* () {
              yield* head;
              if (done) return;
              for (let next = await pieces.next(); !next.done; next = await pieces.next()) yield next.value;
            })(),
          );
          void reply.type(contentType).send(body);
          // The connection and files stay held until the last byte is out (or the stream fails).
          await finished(body).catch((error) => request.log.warn({ err: error }, 'query stream ended early'));
        });
        return reply;
      } catch (error) {
        return fail(reply, error);
      }
    };

  app.post(
    '/api/v1/query/arrow',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Run a query; the result as an Apache Arrow IPC stream',
        tags: ['query'],
        body: queryBody,
        response: errors,
      },
    },
    streamed('application/vnd.apache.arrow.stream', (result) => arrowStream(result, limits)),
  );

  app.post(
    '/api/v1/query/stream',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Run a query; the result as streamed CSV',
        tags: ['query'],
        body: queryBody,
        response: errors,
      },
    },
    streamed('text/csv; charset=utf-8', (result) => csvStream(result, limits)),
  );

  app.post(
    '/api/v1/query/estimate',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'What a query would read: files, bytes and rows after pruning, without running it',
        tags: ['query'],
        body: queryBody,
        response: {
          200: z.object({
            success: z.literal(true),
            estimated_rows: z.number(),
            files: z.number(),
            bytes: z.number(),
            warning_level: z.enum(['none', 'low', 'medium', 'high']),
            execution_time_ms: z.number(),
          }),
          ...errors,
        },
      },
    },
    async (request, reply) => {
      const started = performance.now();
      try {
        const plan = await service.plan(requestOf(request, request.body));
        describe(reply, plan);
        const files = plan.tables.flatMap((t) => t.files);
        const rows = files.reduce((sum, f) => sum + f.rows, 0);
        return {
          success: true as const,
          estimated_rows: rows,
          files: files.length,
          bytes: files.reduce((sum, f) => sum + f.bytes, 0),
          warning_level:
            rows < 1e6
              ? ('none' as const)
              : rows < 1e7
                ? ('low' as const)
                : rows < 1e8
                  ? ('medium' as const)
                  : ('high' as const),
          execution_time_ms: Math.round((performance.now() - started) * 1000) / 1000,
        };
      } catch (error) {
        return fail(reply, error);
      }
    },
  );

  app.get(
    '/api/v1/measurements',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Tables (measurements) with their file counts and sizes',
        tags: ['query'],
        querystring: z.object({ database: z.string().min(1).max(64).optional() }),
        response: {
          200: z.object({
            success: z.literal(true),
            measurements: z.array(
              z.object({
                database: z.string(),
                measurement: z.string(),
                file_count: z.number(),
                total_size_mb: z.number(),
                storage_path: z.string(),
              }),
            ),
            count: z.number(),
          }),
          400: errorBodySchema,
          403: errorBodySchema,
        },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const { database } = request.query;
      if (database) assertDatabaseAccess(request, database);
      const state = await options.catalogs.forTenant(tenant).refresh();
      const measurements = [...state.tables.values()]
        .filter((t) => (database ? t.database === database : readable(request, t.database)))
        .map((t) => ({
          database: t.database,
          measurement: t.name,
          file_count: t.fileCount,
          total_size_mb: Math.round((t.byteCount / 2 ** 20) * 1000) / 1000,
          storage_path: paths.dataKeys.tablePrefix(tenant, t.database, t.name),
        }));
      return { success: true as const, measurements, count: measurements.length };
    },
  );

  app.get(
    '/api/v1/databases',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'Databases with their table counts',
        tags: ['query'],
        response: {
          200: z.object({
            databases: z.array(
              z.object({ name: z.string(), measurement_count: z.number(), created_at: z.string() }),
            ),
            count: z.number(),
          }),
        },
      },
    },
    async (request) => {
      const state = await options.catalogs.forTenant(tenantOf(request)).refresh();
      const databases = [...state.databases.values()]
        .filter((d) => readable(request, d.name))
        .map((d) => ({
          name: d.name,
          measurement_count: [...state.tables.values()].filter((t) => t.database === d.name).length,
          created_at: new Date(d.createdAt).toISOString(),
        }));
      return { databases, count: databases.length };
    },
  );
};

function readable(request: FastifyRequest, database: string): boolean {
  return hasDatabaseAccess(authOf(request), database);
}
