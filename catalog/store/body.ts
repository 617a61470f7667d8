/**
 * Object bodies as one buffer or as parts written in order. Parts let a writer hand over the
 * buffers it already holds (an Arrow IPC stream's pieces) without joining them into one copy first.
 */

export type ObjectBody = Uint8Array | readonly Uint8Array[];

/** Buffers per writev call, well under every platform's IOV_MAX (1024 on Linux). */
export const MAX_WRITEV_PARTS = 512;

export function bodyParts(body: ObjectBody): readonly Uint8Array[] {
  return body instanceof Uint8Array ? [body] : body;
}

/** The body as one buffer (joined only when it is in parts), for APIs that take one. */
export function bodyBytes(body: ObjectBody): Uint8Array {
  if (body instanceof Uint8Array) return body;
  return body.length === 1 ? body[0]! : Buffer.concat(body);
}

/**
 * The parts still to write after a (v)write wrote `written` bytes of them: a kernel may write fewer
 * bytes than asked, and writes at most IOV_MAX buffers per call.
 */
export function partsAfter(parts: readonly Uint8Array[], written: number): Uint8Array[] {
  let done = 0;
  let left = written;
  while (done < parts.length && left >= parts[done]!.byteLength) left -= parts[done++]!.byteLength;
  const rest = parts.slice(done);
  if (left > 0) rest[0] = rest[0]!.subarray(left);
  return rest;
}
