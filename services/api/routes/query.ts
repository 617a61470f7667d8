/**
 * Query endpoints in Arc's shapes (ARC-COMPAT.md "Queries"): JSON, Arrow IPC stream, CSV stream,
 * estimate, and the measurement listing (the database routes are in databases.ts and registered
 * here). Every answer names the catalog version it read (`x-weir-catalog-version`), how many files
 * it opened (`x-weir-files-scanned`) and whether it came from the result cache (`x-weir-cache`:
 * `hit`, `miss`, or `bypass` for statements that are never cached).
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { paths, type TenantCatalogs, WeirError } from '../../../catalog/index.js';
import { hasDatabaseAccess } from '../../auth/index.js';
import {
  type CachedFormat,
  DEFAULT_RESULT_CACHE_BYTES,
  type QueryPlan,
  type QueryRequest,
  type QueryService,
  ResultCache,
} from '../../query/index.js';
import { arrowStream, csvStream, type ResultLimits, readJsonRows } from '../../query/results/index.js';
import { assertDatabaseAccess, authOf } from '../auth.js';
import { errorBodySchema, mapError } from '../errors.js';
import { databaseOf, tenantOf } from '../tenant.js';
import { assertDatabaseExists, databaseRoutes } from './databases.js';

export interface QueryRoutesOptions {
  service: QueryService;
  catalogs: TenantCatalogs;
  limits: ResultLimits;
  /** Bytes of encoded answers kept for repeated queries (`query.resultCacheBytes`); 0 turns it off. */
  resultCacheBytes?: number | undefined;
}

type CacheOutcome = 'hit' | 'miss' | 'bypass';

const PREFETCH_BYTES = 1024 * 1024;
const JSON_HEAD = Buffer.from('{"success":true,');

/**
 * `as_of` of a request body: a catalog version, or a point in time (RFC 3339 text or epoch ms; the
 * query service checks the text, for every route that reads as of a time).
 */
export const asOfSchema = z.union(
  [
    z.object({ version: z.number().int().min(0) }).strict(),
    z.object({ timestamp: z.union([z.string().min(1), z.number()]) }).strict(),
  ],
  {
    error:
      'must be {"version": n} with n ≥ 0, or {"timestamp": t} with t an RFC 3339 date-time with a zone (e.g. 2026-03-01T05:00:00Z) or epoch milliseconds',
  },
);

/** The `database` of a query body: where bare table names resolve. */
export const databaseSchema = z
  .string()
  .min(1)
  .max(64)
  .describe('Database of bare table names (else x-arc-database, else default).');

const queryBody = z.object({
  sql: z.string().min(1).max(1_000_000).describe('One SELECT (or SHOW DATABASES / SHOW TABLES).'),
  format: z.enum(['json']).default('json').optional(),
  database: databaseSchema.optional(),
  as_of: asOfSchema.optional().describe('Read the catalog as of a version or a point in time.'),
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
  const cache = new ResultCache(options.resultCacheBytes ?? DEFAULT_RESULT_CACHE_BYTES);

  /** Arc answers query errors with `columns` and `data` set to null. */
  const fail = (reply: FastifyReply, error: unknown) => {
    const { status, body } = mapError(error as Error);
    if (status >= 500) reply.log.error({ err: error }, 'query failed');
    return reply.status(status).send({ ...body, columns: null, data: null });
  };

  const requestOf = (request: FastifyRequest, reply: FastifyReply, body: QueryBody): QueryRequest => {
    const database = databaseOf(request, body.database);
    // The response closing before it finished means the client went away (or a stream was cut): stop
    // the query. (The request's own 'close' is no such sign: Node emits it, destroyed, once the body
    // has been read.)
    const abort = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished)
        abort.abort(new WeirError('CLIENT_CLOSED_REQUEST', 'the client closed the connection', 499));
    });
    return {
      tenant: tenantOf(request),
      database,
      sql: body.sql,
      ...(body.as_of ? { asOf: body.as_of } : {}),
      signal: abort.signal,
      authorize: (db) => assertDatabaseAccess(request, db),
      readable: (db) => hasDatabaseAccess(authOf(request), db),
    };
  };

  const describe = (
    reply: FastifyReply,
    plan: QueryPlan | { version: number; tables?: undefined },
    cached: CacheOutcome,
  ) => {
    void reply.header('x-weir-catalog-version', String(plan.version));
    const files = plan.tables?.reduce((sum, t) => sum + t.files.length, 0) ?? 0;
    void reply.header('x-weir-files-scanned', String(files));
    void reply.header('x-weir-cache', cached);
  };

  /**
   * The cached answer of the planned statement, if any, after checking the token against every
   * database it read (planning did too; the entry's own list is checked as well). Answers the key
   * to store a fresh answer under (undefined: never cached).
   */
  const lookup = (query: QueryRequest, plan: QueryPlan, format: CachedFormat) => {
    const key = cache.keyOf(query.tenant, format, plan);
    const hit = key === undefined ? undefined : cache.get(key);
    if (hit) for (const database of hit.databases) query.authorize?.(database);
    return { key, hit, databases: [...new Set(plan.tables.map((t) => t.database))] };
  };

  /** Arc's JSON answer around its cached part; timings are those of this request. */
  const sendJson = (reply: FastifyReply, core: Buffer, started: number) => {
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    const tail = `,"execution_time_ms":${ms},"timestamp":"${new Date().toISOString()}"}`;
    return reply
      .type('application/json; charset=utf-8')
      .send(Buffer.concat([JSON_HEAD, core, Buffer.from(tail)]));
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
        const query = requestOf(request, reply, request.body);
        const shown = await service.show(query);
        if (shown) {
          describe(reply, { version: shown.version }, 'bypass');
          return sendJson(reply, jsonCore(shown.columns, shown.data), started);
        }
        const prepared = await service.prepare(query);
        const { key, hit, databases } = lookup(query, prepared.plan, 'json');
        if (hit) {
          describe(reply, prepared.plan, 'hit');
          return sendJson(reply, hit.body, started);
        }
        const answer = await service.run(query, (result) => readJsonRows(result, limits), prepared, {
          wholeAnswerMaxRows: limits.maxRows,
        });
        const core = jsonCore(answer.value.columns, answer.value.data);
        if (key !== undefined) cache.set(key, { body: core, databases });
        describe(reply, answer.plan, key === undefined ? 'bypass' : 'miss');
        return sendJson(reply, core, started);
      } catch (error) {
        return fail(reply, error);
      }
    },
  );

  /** Streams an encoded result while the query holds its connection and files. */
  const streamed =
    (
      format: CachedFormat,
      contentType: string,
      encode: (result: Parameters<Parameters<QueryService['run']>[1]>[0]) => AsyncIterable<Uint8Array>,
    ) =>
    async (request: FastifyRequest<{ Body: QueryBody }>, reply: FastifyReply) => {
      try {
        const query = requestOf(request, reply, request.body);
        if (await service.show(query))
          throw new WeirError(
            'UNSUPPORTED_FORMAT',
            'SHOW statements answer as JSON (POST /api/v1/query)',
            400,
          );
        const prepared = await service.prepare(query);
        const { key, hit, databases } = lookup(query, prepared.plan, format);
        if (hit) {
          describe(reply, prepared.plan, 'hit');
          return reply.type(contentType).send(hit.body);
        }
        await service.run(
          query,
          async (result, plan) => {
            // The first PREFETCH_BYTES are read before the status goes out, so a query that fails or
            // passes a limit early gets a proper error answer. A later failure can only cut the
            // stream short: the connection is closed without the chunked encoding's last chunk, so
            // every HTTP client reports an incomplete answer (curl exit 18, fetch "terminated")
            // rather than a CSV missing its last lines or an Arrow stream without its end marker.
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
            describe(reply, plan, key === undefined ? 'bypass' : 'miss');
            // The answer is kept once it is complete, unless it grew past the cache's entry cap.
            let kept: Uint8Array[] | undefined = key === undefined ? undefined : [];
            let keptBytes = 0;
            const keep = (piece: Uint8Array) => {
              if (!kept) return;
              keptBytes += piece.byteLength;
              if (cache.admits(keptBytes)) kept.push(piece);
              else kept = undefined;
            };
            const body = Readable.from(
              (async function* () {
                for (const piece of head) {
                  keep(piece);
                  yield piece;
                }
                if (!done)
                  for (let next = await pieces.next(); !next.done; next = await pieces.next()) {
                    keep(next.value);
                    yield next.value;
                  }
                if (kept && key !== undefined) cache.set(key, { body: Buffer.concat(kept), databases });
              })(),
            );
            void reply.type(contentType).send(body);
            // The connection and files stay held until the last byte is out (or the stream fails;
            // fastify then destroys the socket, see above).
            await finished(body).catch((error) =>
              request.log.debug({ err: error }, 'query stream ended early; the connection was cut'),
            );
          },
          prepared,
        );
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
    streamed('arrow', 'application/vnd.apache.arrow.stream', (result) => arrowStream(result, limits)),
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
    streamed('csv', 'text/csv; charset=utf-8', (result) => csvStream(result, limits)),
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
        const plan = await service.plan(requestOf(request, reply, request.body));
        describe(reply, plan, 'bypass');
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
          404: errorBodySchema,
        },
      },
    },
    async (request) => {
      const tenant = tenantOf(request);
      const { database } = request.query;
      if (database) assertDatabaseAccess(request, database);
      const state = await options.catalogs.forTenant(tenant).refresh();
      if (database) assertDatabaseExists(state, database);
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

  await app.register(databaseRoutes, { catalogs: options.catalogs });
};

function readable(request: FastifyRequest, database: string): boolean {
  return hasDatabaseAccess(authOf(request), database);
}

/** The cached part of Arc's JSON answer: `"columns":…,"data":…,"row_count":n`. */
function jsonCore(columns: readonly string[], data: readonly (readonly unknown[])[]): Buffer {
  return Buffer.from(
    `"columns":${JSON.stringify(columns)},"data":${JSON.stringify(data)},"row_count":${data.length}`,
  );
}
