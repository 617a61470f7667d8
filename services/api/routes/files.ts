/**
 * Data files of the local store through signed URLs (ADR 0023): `GET` and `HEAD /files/<key>?exp=&sig=`.
 * Public: the signature is the credential. Single byte ranges (206, 416), streamed from disk;
 * cacheable until the URL expires (the files are immutable); CORS open to any origin, since the
 * URL itself is the secret. Bytes of file bodies sent are counted in `weir_signed_file_bytes_total`.
 */
import { once } from 'node:events';
import { createReadStream, type ReadStream } from 'node:fs';
import { pipeline, Transform } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { ObjectNotFoundError, SIGNED_FILES_PATH, unixSeconds } from '../../../catalog/index.js';
import type { SignedFile, SignedFiles } from '../../browser/index.js';
import { errorBodySchema } from '../errors.js';

export interface FileRoutesOptions {
  files: SignedFiles;
}

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Content-Range, Content-Length, Accept-Ranges, ETag',
};
const PARQUET = 'application/vnd.apache.parquet';

function fileMetrics(registry: Registry) {
  return {
    bytes: new Counter({
      name: 'weir_signed_file_bytes_total',
      help: 'Bytes of data file bodies sent through signed URLs (/files).',
      registers: [registry],
    }),
    requests: new Counter({
      name: 'weir_signed_file_requests_total',
      help: 'Requests for signed URLs (/files), by status code.',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
  };
}

export const fileRoutes: FastifyPluginAsyncZod<FileRoutesOptions & { registry: Registry }> = async (
  app,
  { files, registry },
) => {
  const metrics = fileMetrics(registry);
  const url = `${SIGNED_FILES_PATH}*`;

  // Every answer of these routes, errors included, is readable cross-origin; errors are never cached.
  app.addHook('onSend', async (_request, reply, payload) => {
    void reply.headers(CORS);
    if (reply.statusCode >= 400) void reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('onResponse', async (_request, reply) => {
    metrics.requests.inc({ status: String(reply.statusCode) });
  });

  app.options(url, { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply
      .status(204)
      .headers({
        'access-control-allow-methods': 'GET, HEAD',
        'access-control-allow-headers': 'Range',
        'access-control-max-age': '86400',
      })
      .send(),
  );

  /** GET and HEAD of a signed file. */
  const serve = async (
    request: FastifyRequest<{ Params: { '*': string }; Querystring: { exp?: string; sig?: string } }>,
    reply: FastifyReply,
  ) => {
    const file = await files.open({
      key: request.params['*'],
      exp: request.query.exp,
      sig: request.query.sig,
      range: request.headers.range,
    });
    if (file.range.kind === 'unsatisfiable') {
      return reply
        .status(416)
        .header('content-range', `bytes */${file.size}`)
        .send({
          success: false,
          error: `range ${request.headers.range} is outside the file's ${file.size} bytes`,
          code: 'RANGE_NOT_SATISFIABLE',
        });
    }
    const { start, end } = file.range.kind === 'partial' ? file.range : { start: 0, end: file.size - 1 };
    const length = end - start + 1;
    const body = request.method === 'HEAD' || length === 0 ? undefined : await openRange(file, start, end);
    void reply.headers({
      'accept-ranges': 'bytes',
      'content-type': PARQUET,
      'content-length': String(length),
      etag: `"${file.etag}"`,
      'last-modified': file.lastModified.toUTCString(),
      'cache-control': `public, max-age=${Math.max(0, file.expiresAt - unixSeconds())}, immutable`,
    });
    if (file.range.kind === 'partial') {
      void reply.status(206).header('content-range', `bytes ${start}-${end}/${file.size}`);
    }
    if (!body) return reply.send();
    // Counted as each chunk goes out to the response.
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        metrics.bytes.inc(chunk.length);
        done(null, chunk);
      },
    });
    pipeline(body, counted, (error) => {
      if (error) request.log.debug({ err: error }, 'signed file stream ended early');
    });
    return reply.send(counted);
  };

  app.route({
    method: ['GET', 'HEAD'],
    url,
    config: { public: true },
    schema: {
      summary: 'A data file through a signed URL from a browser session (local store only)',
      tags: ['browser'],
      security: [],
      params: z.object({ '*': z.string() }),
      querystring: z.object({
        exp: z.string().optional().describe('Expiry, Unix seconds.'),
        sig: z.string().optional().describe('base64url HMAC-SHA256 of the method, tenant, key and expiry.'),
      }),
      // 200 (the whole file) and 206 (one byte range) stream the Parquet bytes.
      response: {
        403: errorBodySchema,
        404: errorBodySchema,
        416: errorBodySchema,
      },
    },
    handler: serve,
  });
};

/** The file's bytes from `start` to `end` (inclusive), once the file is open. */
async function openRange(file: SignedFile, start: number, end: number): Promise<ReadStream> {
  const stream = createReadStream(file.path, { start, end });
  try {
    await once(stream, 'open');
  } catch (error) {
    // Deleted (expired) since it was looked up.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(file.key);
    throw error;
  }
  return stream;
}
