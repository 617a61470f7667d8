/**
 * Request bodies as one Buffer, for the write routes. fastify's `parseAs: 'buffer'` keeps every
 * chunk and joins them at the end, a second pass over the whole body (~1.2 ms of a 650 KiB Arrow
 * request in a `--cpu-prof` of the server, most of it page faults on the fresh allocation). Here
 * each chunk is copied into a buffer sized by Content-Length as it arrives, while still in cache;
 * the faults remain (the body must be fresh memory: decoded columns are views of it). Bodies
 * without a length (chunked transfer encoding) are joined at the end.
 */
import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyRequest } from 'fastify';

type Done = (error: Error | null, body?: Buffer) => void;

/** A fastify content type parser reading the body into one Buffer, refusing more than `maxBytes`. */
export function bufferBodyParser(maxBytes: number) {
  return (request: FastifyRequest, payload: IncomingMessage, done: Done): void => {
    const header = request.headers['content-length'];
    const declared = header === undefined ? undefined : Number(header);
    if (declared !== undefined && declared > maxBytes) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const body = declared === undefined ? undefined : Buffer.allocUnsafe(declared);
    const chunks: Buffer[] = [];
    let received = 0;

    const finish = (error: Error | null, result?: Buffer): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      done(error, result);
    };
    function onData(chunk: Buffer): void {
      const end = received + chunk.length;
      if (end > maxBytes) finish(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      else if (body && end > body.length) finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      else {
        if (body) chunk.copy(body, received);
        else chunks.push(chunk);
        received = end;
      }
    }
    function onEnd(): void {
      if (body && received !== body.length) finish(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      else finish(null, body ?? Buffer.concat(chunks, received));
    }
    function onError(error: Error & { statusCode?: number }): void {
      if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
      finish(error);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  };
}
