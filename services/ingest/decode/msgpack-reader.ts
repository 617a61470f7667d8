/**
 * MessagePack bytes → the document items.ts reads, keeping the wire type of every number.
 *
 * msgpackr cannot be used for this: it decodes a float64 (0xcb) or float32 (0xca) whose value is
 * whole, such as Python's or Go's `100.0`, to the JS number 100, the same as the integer 100, and
 * has no option to tell them apart (ADR 0015, addendum). Here integers (fixint, 0xcc–0xcf,
 * 0xd0–0xd3) become numbers, or bigints past 2^53; floats become numbers when they have a fraction
 * (no integer looks like that) and `WholeFloat`s when they do not, so a JS integer in the document
 * always was an integer on the wire.
 *
 * Only what Arc's formats use is read: maps with string keys, arrays, strings, numbers, booleans,
 * nil, and binary (which items.ts refuses with its column named); extension types are refused. Keys
 * are kept as sent: a key `__proto__` becomes an own property, not the object's prototype (msgpackr
 * renames it `__proto_`), so the column-name check refuses it by its name. Strings must be valid
 * UTF-8 (400 INVALID_UTF8), as in line protocol and Arrow.
 *
 * Speed (bench/ingest-decode.ts bodies decode at least as fast as with msgpackr): the state lives in
 * module variables (one body is read at a time, synchronously) as in msgpackr. Strings of arrays
 * (columnar string columns, side by side) are slices of a latin1 copy of a window of the body, made
 * once per window. Strings of maps (row items) lie between numbers a window would copy too: short
 * ones come from a cache of the body (tag values repeat), longer ones are read one by one. Map keys
 * come from a cache kept across bodies: V8 uses a string it has seen as a property name before much
 * faster.
 */
import { isUtf8 } from 'node:buffer';
import { IngestError } from '../errors.js';
import { WholeFloat } from './items.js';
import { invalidUtf8, sameChars } from './utf8.js';

/** Arc's documents nest four deep ({batch: [{columns: {c: [...]}}]}); a deeper body is not one. */
const MAX_DEPTH = 32;
/** Slots of the key cache and of a body's value cache. */
const CACHE_SIZE = 1021;
/** String values of maps up to this long go through the value cache. */
const CACHED_VALUE_BYTES = 16;
/**
 * Bytes turned into latin1 text at once. One native call per string costs more than the string;
 * one for the whole body copies its numbers too (a tenth of the time of a columnar body).
 */
const TEXT_WINDOW = 16 * 1024;
const TWO_32 = 4294967296;

const EMPTY = Buffer.alloc(0);
/** The body, always as a Buffer: element loads then see one kind of array (a second one slows them all). */
let src: Buffer = EMPTY;
let view: DataView = new DataView(EMPTY.buffer, 0, 0);
let pos = 0;
let depth = 0;
/** Whether the value being read is an element of an array (not of a map): see readString. */
let dense = false;
/** Bytes [textStart, textStart + text.length) of the body as latin1: ASCII strings are slices of it. */
let text = '';
let textStart = 0;
/** Map keys by hash of their bytes; kept across bodies (keys repeat across requests too). */
const keys = new Array<string | undefined>(CACHE_SIZE);
/** Short string values of maps by hash of their bytes, one cache per body. */
let values = new Array<string | undefined>(CACHE_SIZE);

/** The document of a MessagePack body; INVALID_MSGPACK (or INVALID_UTF8) when it is not one. */
export function readMsgpack(body: Uint8Array): unknown {
  src = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  pos = 0;
  depth = 0;
  dense = false;
  text = '';
  textStart = 0;
  values = new Array<string | undefined>(CACHE_SIZE);
  try {
    const document = read();
    // Fixed-size values are read without a bounds check each: one that ran past the end shows here.
    if (pos > src.length) throw truncated();
    if (pos < src.length)
      throw fail(`${src.length - pos} bytes follow the first value, which ends at byte ${pos}`);
    return document;
  } catch (error) {
    // DataView's reads past the end (the depth limit keeps the stack from overflowing).
    if (error instanceof RangeError) throw truncated();
    throw error;
  } finally {
    // Hold no reference to the body past the call.
    src = EMPTY;
    view = new DataView(EMPTY.buffer, 0, 0);
    text = '';
  }
}

function fail(reason: string): IngestError {
  return new IngestError('INVALID_MSGPACK', `invalid MessagePack body (${src.length} bytes): ${reason}`);
}

function truncated(): IngestError {
  return fail('Unexpected end of data: the body ends inside a value');
}

function read(): unknown {
  const token = src[pos++]!;
  if (token < 0x80) return token;
  if (token < 0x90) return readMap(token - 0x80);
  if (token < 0xa0) return readArray(token - 0x90);
  if (token < 0xc0) return readString(token - 0xa0);
  if (token >= 0xe0) return token - 0x100;
  let value: unknown;
  switch (token) {
    case 0xc0:
      return null;
    case 0xc1:
      throw fail(`byte 0xc1 (at byte ${pos - 1}) is never used in MessagePack`);
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return readBinary(src[pos++]!);
    case 0xc5:
      pos += 2;
      return readBinary(view.getUint16(pos - 2));
    case 0xc6:
      pos += 4;
      return readBinary(view.getUint32(pos - 4));
    case 0xca:
      value = view.getFloat32(pos);
      pos += 4;
      return Number.isInteger(value) ? new WholeFloat(value as number) : value;
    case 0xcb:
      value = view.getFloat64(pos);
      pos += 8;
      return Number.isInteger(value) ? new WholeFloat(value as number) : value;
    case 0xcc:
      return src[pos++];
    case 0xcd:
      value = view.getUint16(pos);
      pos += 2;
      return value;
    case 0xce:
      value = view.getUint32(pos);
      pos += 4;
      return value;
    case 0xcf: {
      const hi = view.getUint32(pos);
      value = hi < 0x200000 ? hi * TWO_32 + view.getUint32(pos + 4) : view.getBigUint64(pos);
      pos += 8;
      return value;
    }
    case 0xd0:
      return view.getInt8(pos++);
    case 0xd1:
      value = view.getInt16(pos);
      pos += 2;
      return value;
    case 0xd2:
      value = view.getInt32(pos);
      pos += 4;
      return value;
    case 0xd3: {
      const hi = view.getInt32(pos);
      value =
        hi < 0x200000 && hi >= -0x200000 ? hi * TWO_32 + view.getUint32(pos + 4) : view.getBigInt64(pos);
      pos += 8;
      return value;
    }
    case 0xd9:
      return readString(src[pos++]!);
    case 0xda:
      pos += 2;
      return readString(view.getUint16(pos - 2));
    case 0xdb:
      pos += 4;
      return readString(view.getUint32(pos - 4));
    case 0xdc:
      pos += 2;
      return readArray(view.getUint16(pos - 2));
    case 0xdd:
      pos += 4;
      return readArray(view.getUint32(pos - 4));
    case 0xde:
      pos += 2;
      return readMap(view.getUint16(pos - 2));
    case 0xdf:
      pos += 4;
      return readMap(view.getUint32(pos - 4));
    default:
      if (token === undefined) throw truncated();
      return unsupportedExtension(token);
  }
}

/** 0xc7–0xc9 (ext 8/16/32) and 0xd4–0xd8 (fixext 1–16): refused, naming the extension. */
function unsupportedExtension(token: number): never {
  const at = pos - 1;
  const typeAt = token >= 0xd4 ? pos : pos + (token === 0xc7 ? 1 : token === 0xc8 ? 2 : 4);
  const type = typeAt < src.length ? view.getInt8(typeAt) : undefined;
  const hint =
    type === -1
      ? ': send times as epoch numbers'
      : type === 0x72
        ? ' (msgpackr records: pack with useRecords: false)'
        : '';
  throw fail(
    `extension type ${type} at byte ${at} is not supported${hint}; Arc's formats hold maps, arrays, ` +
      'strings, numbers, booleans and nil',
  );
}

/** The position of `n` bytes of a string or binary, which must be there; advances past them. */
function take(n: number): number {
  const at = pos;
  if (at + n > src.length) throw truncated();
  pos = at + n;
  return at;
}

/** Refuses a header announcing more entries than the bytes left can hold (no huge allocation). */
function checkEntries(count: number, bytesEach: number): void {
  if (count * bytesEach > src.length - pos) {
    throw fail(
      `Unexpected end of data: the collection before byte ${pos} announces ${count} entries, ${src.length - pos} bytes are left`,
    );
  }
  if (depth >= MAX_DEPTH) throw fail(`nested deeper than ${MAX_DEPTH} levels (at byte ${pos})`);
}

function readArray(length: number): unknown[] {
  checkEntries(length, 1);
  depth++;
  const outer = dense;
  dense = true;
  const array = new Array<unknown>(length);
  for (let i = 0; i < length; i++) array[i] = read();
  dense = outer;
  depth--;
  return array;
}

function readMap(size: number): Record<string, unknown> {
  checkEntries(size, 2);
  depth++;
  const outer = dense;
  dense = false;
  const map: Record<string, unknown> = {};
  for (let i = 0; i < size; i++) {
    const key = readKey();
    const value = read();
    // Assigning `__proto__` would set the prototype (or do nothing) instead of adding the key.
    if (key === '__proto__')
      Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
    else map[key] = value;
  }
  dense = outer;
  depth--;
  return map;
}

/** A map key: one of up to 31 bytes (fixstr) through the key cache, any other read as a value. */
function readKey(): string {
  const at = pos;
  const token = src[at];
  if (token === undefined || token < 0xa0 || token >= 0xc0) {
    const key = read();
    if (typeof key !== 'string') throw fail(`the map key at byte ${at} is not a string`);
    return key;
  }
  const start = take(token - 0xa0 + 1) + 1;
  return cachedString(keys, start, start + token - 0xa0);
}

/**
 * Bytes [start, end) as a string from `cache` when it holds them (checked byte by byte), else
 * made and put there.
 */
function cachedString(cache: (string | undefined)[], start: number, end: number): string {
  let hash = end - start;
  let high = 0;
  for (let i = start; i < end; i++) {
    const c = src[i]!;
    high |= c;
    hash = Math.imul(hash ^ c, 0x01000193);
  }
  if (high >= 0x80) return utf8(start, end);
  const slot = (hash >>> 0) % CACHE_SIZE;
  const cached = cache[slot];
  if (cached !== undefined && sameChars(cached, src, start, end)) return cached;
  const string = src.toString('latin1', start, end);
  cache[slot] = string;
  return string;
}

function readString(length: number): string {
  const start = take(length);
  const end = start + length;
  if (!dense && length <= CACHED_VALUE_BYTES) return cachedString(values, start, end);
  // ASCII (no byte with the high bit), read eight bytes at a time: then latin1 text is the string.
  let high = 0;
  let i = start;
  for (; i + 8 <= end; i += 8) high |= view.getInt32(i, true) | view.getInt32(i + 4, true);
  for (; i < end; i++) high |= src[i]!;
  if ((high & 0x80808080) !== 0) return utf8(start, end);
  if (!dense) return src.toString('latin1', start, end);
  if (start < textStart || end > textStart + text.length) {
    if (length > TEXT_WINDOW) return src.toString('latin1', start, end);
    textStart = start;
    text = src.toString('latin1', start, Math.min(src.length, start + TEXT_WINDOW));
  }
  return text.slice(start - textStart, end - textStart);
}

/** Bytes [start, end) as text; bad UTF-8 is refused (Buffer would put U+FFFD in without a word). */
function utf8(start: number, end: number): string {
  const bytes = src.subarray(start, end);
  if (!isUtf8(bytes)) throw invalidUtf8(bytes, `the string at byte ${start}`);
  return src.toString('utf8', start, end);
}

function readBinary(length: number): Uint8Array {
  const start = take(length);
  return src.subarray(start, start + length);
}
