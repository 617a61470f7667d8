/**
 * Strings as Arrow lays them out: one UTF-8 buffer and offsets (BatchColumn's string form).
 * Decoders that produce JS strings encode them here, once per request column. Bytes that are not
 * UTF-8 are refused in every format (`invalidUtf8`), never stored with U+FFFD in their place.
 */
import { IngestError, show } from '../errors.js';

export interface Utf8Column {
  readonly offsets: Int32Array;
  readonly data: Uint8Array;
  /** 0 where the row has no value (absent when every row has one). */
  readonly valid?: Uint8Array;
}

/** Encodes `values` (null = missing) as UTF-8 with offsets. */
export function encodeStrings(values: readonly (string | null)[]): Utf8Column {
  const length = values.length;
  const offsets = new Int32Array(length + 1);
  let valid: Uint8Array | undefined;
  let units = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      valid ??= new Uint8Array(length).fill(1);
      valid[i] = 0;
    } else units += v.length;
    offsets[i + 1] = units;
  }
  // One native encode of the whole column; when it is ASCII (the usual case for tags and ids), byte
  // offsets are the UTF-16 offsets just computed. `join` turns nulls into empty strings.
  const joined = Buffer.from(values.join(''), 'utf8');
  if (joined.byteLength === units) return { offsets, data: asBytes(joined), ...(valid ? { valid } : {}) };
  let bytes = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) bytes += Buffer.byteLength(v, 'utf8');
    offsets[i + 1] = bytes;
  }
  const data = Buffer.allocUnsafe(bytes);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) data.write(v, offsets[i]!, 'utf8');
  }
  return { offsets, data: asBytes(data), ...(valid ? { valid } : {}) };
}

function asBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** The 400 for bytes that are not valid UTF-8: `what` names where they are ("line 3: tag host"). */
export function invalidUtf8(bytes: Uint8Array, what: string): IngestError {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 32)).toString('hex');
  return new IngestError('INVALID_UTF8', `${what} is not valid UTF-8 (starts ${show(head)} in hex)`);
}

/** Whether ASCII string `text` spells bytes [start, end) (decoders reuse strings they made before). */
export function sameChars(text: string, bytes: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}
