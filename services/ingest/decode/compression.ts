/**
 * Request bodies may arrive gzip- or zstd-compressed (ARC-COMPAT "Writes"). The magic bytes decide,
 * not `Content-Encoding`: clients label bodies wrongly in both directions. Decompression stops at a
 * hard output limit, so a compression bomb costs at most the limit, never the size it claims.
 */
import { gunzipSync } from 'node:zlib';
import { Decompress } from 'fzstd';
import { IngestError } from '../errors.js';

export interface BodyLimits {
  /** Largest body after decompression (413 above). */
  readonly maxDecompressedBytes: number;
  /** The request's `Content-Encoding`, if any: only an encoding Weir cannot decode is refused on it. */
  readonly contentEncoding?: string;
}

const KNOWN_ENCODINGS = new Set(['', 'identity', 'gzip', 'x-gzip', 'zstd']);

/** The body as plain bytes: decompressed when it starts with gzip or zstd magic, else as sent. */
export function decodeBody(body: Buffer, limits: BodyLimits): Buffer {
  const encoding = (limits.contentEncoding ?? '').trim().toLowerCase();
  if (!KNOWN_ENCODINGS.has(encoding)) {
    throw new IngestError(
      'UNSUPPORTED_ENCODING',
      `unsupported Content-Encoding ${JSON.stringify(encoding.slice(0, 64))}: send gzip, zstd or no encoding`,
      415,
    );
  }
  if (body.length === 0) throw new IngestError('EMPTY_BODY', 'the request body is empty');
  const max = limits.maxDecompressedBytes;
  let plain = body;
  if (body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b) plain = gunzip(body, max);
  else if (body.length >= 4 && body.readUInt32LE(0) === ZSTD_MAGIC) plain = unzstd(body, max);
  else if (body.length > max) throw tooLarge(max);
  if (plain.length === 0) throw new IngestError('EMPTY_BODY', 'the request body decompresses to nothing');
  return plain;
}

function tooLarge(max: number): IngestError {
  return new IngestError(
    'PAYLOAD_TOO_LARGE',
    `the request body exceeds the limit of ${max} bytes after decompression`,
    413,
    { limit: max },
  );
}

function corrupt(format: string, reason: string): IngestError {
  return new IngestError('INVALID_COMPRESSED_BODY', `corrupt ${format} body: ${reason}`);
}

function gunzip(body: Buffer, max: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: max });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(max);
    throw corrupt('gzip', (error as Error).message);
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const MAX_BLOCK_BYTES = 128 * 1024;
/**
 * fzstd allocates each frame's whole window up front. A frame of unknown size may ask for up to 2 GB,
 * so windows beyond the output limit are refused, except for the few MB that streaming compressors
 * choose on their own for small bodies (zstd's level tables top out at 8 MB without --long).
 */
const WINDOW_ALLOWANCE = 8 * 1024 * 1024;

function unzstd(body: Buffer, max: number): Buffer {
  checkZstdFrames(body, max);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new Decompress((chunk) => {
    total += chunk.length;
    if (total > max) throw tooLarge(max);
    chunks.push(chunk);
  });
  try {
    stream.push(body, true);
  } catch (error) {
    if (error instanceof IngestError) throw error;
    throw corrupt('zstd', (error as Error).message);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Walks the frames and block headers (RFC 8878) without decompressing, refusing before fzstd
 * allocates: a declared content size or window past the limit (413), truncation, dictionaries
 * (Weir has none), reserved bits and oversized blocks (400).
 */
function checkZstdFrames(body: Buffer, max: number): void {
  let pos = 0;
  while (pos < body.length) {
    if (body.length - pos < 8) throw corrupt('zstd', `truncated frame at byte ${pos}`);
    const magic = body.readUInt32LE(pos);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // Skippable frame: 4-byte size, then opaque bytes.
      pos += 8 + body.readUInt32LE(pos + 4);
      if (pos > body.length) throw corrupt('zstd', 'truncated skippable frame');
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt('zstd', `no frame magic at byte ${pos}`);
    const descriptor = body[pos + 4]!;
    const contentSizeFlag = descriptor >> 6;
    const singleSegment = (descriptor >> 5) & 1;
    const checksum = (descriptor >> 2) & 1;
    if (descriptor & 0x08) throw corrupt('zstd', 'reserved frame header bit set');
    if (descriptor & 0x03) throw corrupt('zstd', 'frames with a dictionary are not supported');
    let at = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const w = body[at++]!;
      const base = 2 ** (10 + (w >> 3));
      window = base + (base / 8) * (w & 7);
    }
    const sizeBytes = contentSizeFlag === 0 ? singleSegment : 2 ** contentSizeFlag;
    if (at + sizeBytes > body.length) throw corrupt('zstd', 'truncated frame header');
    let contentSize = -1;
    if (sizeBytes === 1) contentSize = body[at]!;
    else if (sizeBytes === 2) contentSize = body.readUInt16LE(at) + 256;
    else if (sizeBytes === 4) contentSize = body.readUInt32LE(at);
    else if (sizeBytes === 8) contentSize = Number(body.readBigUInt64LE(at));
    at += sizeBytes;
    if (contentSize > max) throw tooLarge(max);
    if (singleSegment) window = contentSize;
    if (window > Math.max(max, WINDOW_ALLOWANCE)) throw tooLarge(max);
    const blockMax = Math.min(window, MAX_BLOCK_BYTES);
    for (let last = 0; !last; ) {
      if (at + 3 > body.length) throw corrupt('zstd', 'truncated block header');
      const header = body[at]! | (body[at + 1]! << 8) | (body[at + 2]! << 16);
      last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw corrupt('zstd', 'reserved block type');
      if (size > blockMax) throw corrupt('zstd', `block of ${size} bytes exceeds the maximum of ${blockMax}`);
      at += 3 + (type === 1 ? 1 : size);
      if (at > body.length) throw corrupt('zstd', 'truncated block');
    }
    pos = at + checksum * 4;
    if (pos > body.length) throw corrupt('zstd', 'truncated checksum');
  }
}
