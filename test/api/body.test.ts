import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferBodyParser } from '../../services/api/body.js';

const LIMIT = 64 * 1024;
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** POSTs `pieces` over a real socket, one write each; without `length`, as chunked transfer encoding. */
function post(
  port: number,
  pieces: Buffer[],
  length?: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/echo',
        headers: {
          'content-type': 'application/octet-stream',
          ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': length }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
      },
    );
    req.on('error', reject);
    for (const piece of pieces) req.write(piece);
    req.end();
  });
}

describe('bufferBodyParser', () => {
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { bodyLimit: LIMIT }, bufferBodyParser(LIMIT));
    app.post('/echo', async (request) => {
      const body = request.body as Buffer;
      return { isBuffer: Buffer.isBuffer(body), length: body.length, sha: sha(body) };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  it('joins a body sent in many pieces, with Content-Length or chunked', async () => {
    const whole = randomBytes(LIMIT);
    const pieces = Array.from({ length: 16 }, (_, i) => whole.subarray(i * 4096, (i + 1) * 4096));
    for (const length of [whole.length, undefined]) {
      const res = await post(port, pieces, length);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ isBuffer: true, length: whole.length, sha: sha(whole) });
    }
    const empty = await post(port, [], 0);
    expect(empty.body).toMatchObject({ isBuffer: true, length: 0 });
  });

  it('refuses a body over the limit, declared or streamed, with 413', async () => {
    const declared = await post(port, [Buffer.alloc(LIMIT + 1)], LIMIT + 1);
    expect(declared.status).toBe(413);
    expect(declared.body.code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
    const streamed = await post(port, [Buffer.alloc(LIMIT), Buffer.alloc(1)]);
    expect(streamed.status).toBe(413);
    expect(streamed.body.code).toBe('FST_ERR_CTP_BODY_TOO_LARGE');
  });

  it('refuses a body shorter than its Content-Length with 400', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/octet-stream', 'content-length': '10' },
      payload: Buffer.alloc(4),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('FST_ERR_CTP_INVALID_CONTENT_LENGTH');
  });
});
