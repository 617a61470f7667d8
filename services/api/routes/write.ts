/**
 * Write endpoints of Arc and InfluxDB (ARC-COMPAT.md "Writes"), Arrow IPC and Weir's JSON form.
 * Bodies arrive as raw bytes (any content type, gzip or zstd by magic bytes; a `Content-Encoding`
 * Weir cannot decode is a 415); each route picks the database, decodes, and hands the batches to the
 * ingest service. An `Idempotency-Key` is bound to everything the decoder is given but the clock
 * (format, database, parameters, body), so the key sent again with another request is refused rather
 * than answered as a replay.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { paths } from '../../../catalog/index.js';
import {
  bindKey,
  checkIdempotencyKey,
  DEFAULT_DECODE_LIMITS,
  type DecodeContext,
  decodeArrowIpc,
  decodeBody,
  decodeJson,
  decodeLineProtocol,
  decodeMsgpack,
  type IngestService,
  type TableBatch,
} from '../../ingest/index.js';
import { assertDatabaseAccess } from '../auth.js';
import { bufferBodyParser } from '../body.js';
import { errorBodySchema } from '../errors.js';
import { tenantOf } from '../tenant.js';

export interface WriteRoutesOptions {
  service: IngestService;
  maxBodyBytes: number;
  maxDecompressedBytes: number;
}

const DATABASE_HEADER = 'x-arc-database';
const precisionV1 = z.enum(['ns', 'n', 'us', 'u', 'ms', 's', 'm', 'h']).default('ns');
const precisionV2 = z.enum(['ns', 'us', 'ms', 's']).default('ns');
const errors = {
  400: errorBodySchema,
  401: errorBodySchema,
  403: errorBodySchema,
  409: errorBodySchema,
  413: errorBodySchema,
  415: errorBodySchema,
  422: errorBodySchema,
  429: errorBodySchema,
};
const writeHeaders = z
  .object({
    'x-arc-database': z
      .string()
      .optional()
      .describe('Database to write to (else the endpoint parameter, else `default`).'),
    'idempotency-key': z
      .string()
      .optional()
      .describe(
        'A retried request with the same key lands once; the key with another request (rows, database or parameters) is a 422.',
      ),
  })
  .passthrough();

/** A decoder and its parameters besides the context (`{}` for those without any). */
type Decode<P extends object> = (body: Buffer, context: DecodeContext & P) => TableBatch[];

export const writeRoutes: FastifyPluginAsyncZod<WriteRoutesOptions> = async (app, options) => {
  const { service } = options;
  // Every body is bytes here: the decoders parse it (JSON included, which may be compressed).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { bodyLimit: options.maxBodyBytes }, bufferBodyParser(options.maxBodyBytes));

  async function write<P extends object>(
    request: FastifyRequest,
    reply: FastifyReply,
    format: string,
    parameterDatabase: string | undefined,
    decode: Decode<P>,
    parameters: P,
  ): Promise<number> {
    service.admit();
    const header = request.headers[DATABASE_HEADER];
    const database = paths.assertName(
      'database',
      (typeof header === 'string' && header) || parameterDatabase || 'default',
    );
    assertDatabaseAccess(request, database);
    const key = request.headers['idempotency-key'];
    const idempotencyKey = typeof key === 'string' ? checkIdempotencyKey(key) : undefined;
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const body = decodeBody(raw, {
      maxDecompressedBytes: options.maxDecompressedBytes,
      contentEncoding: request.headers['content-encoding'],
    });
    // Hashed off the event loop while the body is decoded; only keyed requests pay for it.
    const keyed =
      idempotencyKey === undefined
        ? undefined
        : bindKey(idempotencyKey, { format, database, parameters, body });
    const batches = decode(body, {
      database,
      nowMicros: BigInt(Date.now()) * 1000n,
      limits: DEFAULT_DECODE_LIMITS,
      ...parameters,
    });
    const outcome = await service.write(tenantOf(request), batches, {
      format,
      ...(keyed ? { idempotency: await keyed } : {}),
    });
    if (outcome.duplicate) reply.header('x-weir-idempotent-replay', 'true');
    return outcome.rows;
  }

  const config = { permission: 'write' as const };

  app.post(
    '/api/v1/write/msgpack',
    {
      config,
      schema: {
        tags: ['write'],
        summary: 'Write Arc MessagePack (columnar or row form; gzip or zstd allowed)',
        headers: writeHeaders,
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await write(request, reply, 'msgpack', undefined, decodeMsgpack, {});
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/write',
    {
      config,
      schema: {
        tags: ['write'],
        summary: 'InfluxDB 1.x line protocol write (`rp` is ignored)',
        headers: writeHeaders,
        querystring: z
          .object({ db: z.string().optional(), rp: z.string().optional(), precision: precisionV1 })
          .passthrough(),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { db, precision } = request.query;
      await write(request, reply, 'line-protocol', db, decodeLineProtocol, { precision });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/v2/write',
    {
      config,
      schema: {
        tags: ['write'],
        summary: 'InfluxDB 2.x line protocol write (`bucket` is the database; `org` is ignored)',
        headers: writeHeaders,
        querystring: z
          .object({ bucket: z.string().optional(), org: z.string().optional(), precision: precisionV2 })
          .passthrough(),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { bucket, precision } = request.query;
      await write(request, reply, 'line-protocol', bucket, decodeLineProtocol, { precision });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/v1/write/line-protocol',
    {
      config,
      schema: {
        tags: ['write'],
        summary: 'Line protocol write (database from `x-arc-database`)',
        headers: writeHeaders,
        querystring: z.object({ precision: precisionV1 }).passthrough(),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      const { precision } = request.query;
      await write(request, reply, 'line-protocol', undefined, decodeLineProtocol, { precision });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/api/v1/write/arrow',
    {
      config,
      schema: {
        tags: ['write'],
        summary: 'Write an Arrow IPC stream (`application/vnd.apache.arrow.stream`) with a `time` column',
        headers: writeHeaders.extend({
          'x-weir-tags': z
            .string()
            .optional()
            .describe('Comma-separated tag columns (else string columns are tags).'),
        }),
        querystring: z.object({
          table: z.string().describe('Table (Arc measurement) to write.'),
          database: z.string().optional(),
        }),
        response: { 200: z.object({ rows: z.number() }), ...errors },
      },
    },
    async (request, reply) => {
      const table = paths.assertName('table', request.query.table);
      const tagsHeader = request.headers['x-weir-tags'];
      const tags =
        typeof tagsHeader === 'string' && tagsHeader.trim() !== ''
          ? tagsHeader.split(',').map((t) => t.trim())
          : undefined;
      const rows = await write(request, reply, 'arrow', request.query.database, decodeArrowIpc, {
        table,
        ...(tags ? { tags } : {}),
      });
      return reply.status(200).send({ rows });
    },
  );

  app.post(
    '/api/v1/write/json',
    {
      config,
      schema: {
        tags: ['write'],
        summary: "Weir's JSON form: the MessagePack shapes as JSON, times as numbers or RFC 3339 strings",
        headers: writeHeaders,
        querystring: z.object({ database: z.string().optional() }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (request, reply) => {
      await write(request, reply, 'json', request.query.database, decodeJson, {});
      return reply.status(204).send(null);
    },
  );
};
