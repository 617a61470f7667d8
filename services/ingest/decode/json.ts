/**
 * Weir's JSON writes: the document shapes of MessagePack (items.ts), plus RFC 3339 time strings.
 *
 * JSON.parse turns every number into a double, which would shift nanosecond times (> 2^53) by up to
 * 128 ns and round large int64 values. Bodies with integers of 16+ digits therefore take a slower
 * path that reads those integers as exact bigints.
 */
import type { DecodeContext, TableBatch } from '../batch.js';
import { IngestError } from '../errors.js';
import { decodeItems, type ItemFormat } from './items.js';
import { rfc3339ToMicros } from './time.js';

const FORMAT: ItemFormat = { code: 'INVALID_JSON', name: 'JSON', timeString: rfc3339ToMicros };

export function decodeJson(body: Uint8Array, ctx: DecodeContext): TableBatch[] {
  let text = Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let document: unknown;
  try {
    document = hasLongInteger(text) ? parseWithBigInts(text) : JSON.parse(text);
  } catch (error) {
    throw new IngestError('INVALID_JSON', `invalid JSON body: ${(error as Error).message.slice(0, 200)}`);
  }
  return decodeItems(document, ctx, FORMAT);
}

/**
 * Whether the text holds an integer literal of 16+ digits, the shortest that can pass 2^53. Digits
 * of fractions and exponents do not count: floats print with up to 17 of them.
 */
function hasLongInteger(text: string): boolean {
  let run = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) {
      run++;
      continue;
    }
    if (run >= 16 && !isFloatPart(text.charCodeAt(i - run - 1)) && !isFloatPart(c)) return true;
    run = 0;
  }
  return false;
}

/** `.`, `e` or `E`: next to a digit run, it makes the run part of a float. */
function isFloatPart(c: number): boolean {
  return c === 0x2e || c === 0x65 || c === 0x45;
}

const MARK = '\u0000weir-int:';
const JSON_INTEGER = /^-?[1-9]\d*$/;

/**
 * Rewrites integer literals beyond 2^53 as marked strings, parses, then turns the marked strings into
 * bigints. A client string that happens to start with the marker (NUL, then "weir-int:") would be read
 * as a number too; no other string is touched.
 */
function parseWithBigInts(text: string): unknown {
  const parts: string[] = [];
  let copied = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, escapes included.
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = i + 1;
      while (end < text.length && isNumberPart(text.charCodeAt(end))) end++;
      const literal = text.slice(i, end);
      if (end - i >= 16 && JSON_INTEGER.test(literal) && !Number.isSafeInteger(Number(literal))) {
        parts.push(text.slice(copied, i), `"\\u0000weir-int:${literal}"`);
        copied = end;
      }
      i = end - 1;
    }
  }
  parts.push(text.slice(copied));
  return restoreBigInts(JSON.parse(parts.join('')));
}

function isNumberPart(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

function restoreBigInts(value: unknown): unknown {
  if (typeof value === 'string') return value.startsWith(MARK) ? BigInt(value.slice(MARK.length)) : value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreBigInts(value[i]);
  } else if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    for (const key in object) object[key] = restoreBigInts(object[key]);
  }
  return value;
}
