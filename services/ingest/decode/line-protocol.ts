/**
 * InfluxDB line protocol (ARC-COMPAT "Line protocol"):
 *
 *   measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * A hand-written parser over the body's bytes: no regex, no split, no string per key. Each table
 * remembers the keys of its previous line in order, and a key at the same position with the same
 * bytes reuses that column without building a string; a tag value seen before reuses its string.
 * Any bad line fails the whole body, naming its 1-based number, so nothing of a body is written
 * unless all of it is.
 *
 * Lines end at \n (\r\n too); a newline inside a quoted string field is not supported. Tag values
 * and string fields must be UTF-8 (400 INVALID_UTF8 naming the line), checked only when a byte is
 * not ASCII.
 */
import { isUtf8 } from 'node:buffer';
import type { DecodeContext, TableBatch } from '../batch.js';
import { IngestError, locate, show } from '../errors.js';
import { BatchBuilder, type ColumnBuilder, type ColumnKind, type TableBuilder } from './builder.js';
import { type DecimalRead, readDecimal } from './decimal.js';
import { INT64_MAX, INT64_MIN } from './int64.js';
import { type TimeUnit, toMicros } from './time.js';
import { invalidUtf8, sameChars } from './utf8.js';

export interface LineProtocolContext extends DecodeContext {
  /** `ns|us|ms|s` (v2 and Arc), also `n|u|m|h` (v1; `m` is minutes); default `ns`. */
  readonly precision?: string;
}

const PRECISIONS: Record<string, TimeUnit> = {
  ns: 'ns',
  n: 'ns',
  us: 'us',
  u: 'us',
  ms: 'ms',
  s: 's',
  m: 'm',
  h: 'h',
};

export function decodeLineProtocol(body: Uint8Array, ctx: LineProtocolContext): TableBatch[] {
  const precision = ctx.precision ?? 'ns';
  const unit = Object.hasOwn(PRECISIONS, precision) ? PRECISIONS[precision] : undefined;
  if (unit === undefined) {
    throw new IngestError(
      'INVALID_PRECISION',
      `invalid precision ${show(precision)}: use ns, us, ms or s (InfluxDB 1.x also n, u, m, h)`,
    );
  }
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  return new LineParser(buf, ctx, unit).parse();
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const RETURN = 0x0d;
const COMMA = 0x2c;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HASH = 0x23;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** A key seen at some position of a table's previous line, and the column it resolved to. */
interface ShapeEntry {
  readonly key: Buffer;
  readonly column: ColumnBuilder;
}

/** A tag column's values seen so far in the body, by hash of their bytes: tags repeat. */
type TagValues = Map<number, string>;
/** Beyond this many distinct values a tag column stops remembering new ones (high cardinality). */
const MAX_REMEMBERED_TAG_VALUES = 4096;

interface TagShapeEntry extends ShapeEntry {
  readonly values: TagValues;
}

interface TableState {
  readonly name: Buffer;
  readonly builder: TableBuilder;
  readonly tags: TagShapeEntry[];
  readonly fields: ShapeEntry[];
}

class LineParser {
  private readonly batch: BatchBuilder;
  private readonly tables = new Map<string, TableState>();
  private readonly tagValues = new Map<ColumnBuilder, TagValues>();
  private last: TableState | undefined;
  private readonly now: number | bigint;
  private line = 0;
  private lineStart = 0;
  private lineEnd = 0;
  private row = 0;

  constructor(
    private readonly buf: Buffer,
    ctx: DecodeContext,
    private readonly unit: TimeUnit,
  ) {
    this.batch = new BatchBuilder(ctx.database, ctx.limits);
    this.now = ctx.nowMicros <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(ctx.nowMicros) : ctx.nowMicros;
  }

  parse(): TableBatch[] {
    const buf = this.buf;
    const length = buf.length;
    let pos = 0;
    try {
      while (pos < length) {
        this.line++;
        let end = buf.indexOf(NEWLINE, pos);
        if (end < 0) end = length;
        const next = end + 1;
        if (end > pos && buf[end - 1] === RETURN) end--;
        let start = pos;
        while (start < end && (buf[start] === SPACE || buf[start] === TAB)) start++;
        if (start < end && buf[start] !== HASH) {
          this.lineStart = start;
          this.lineEnd = end;
          this.parseLine(start, end);
        }
        pos = next;
      }
    } catch (error) {
      const text = buf.toString('utf8', this.lineStart, Math.min(this.lineEnd, this.lineStart + 200));
      throw locate(error, `line ${this.line} (${show(text)})`);
    }
    return this.batch.finish();
  }

  private fail(reason: string): IngestError {
    return new IngestError('INVALID_LINE_PROTOCOL', reason);
  }

  private parseLine(start: number, end: number): void {
    const buf = this.buf;
    let p = start;
    let escaped = false;
    for (; p < end; p++) {
      const c = buf[p];
      if (c === BACKSLASH) {
        escaped = true;
        p++;
      } else if (c === COMMA || c === SPACE) break;
    }
    if (p >= end) throw this.fail('no fields: a line is measurement[,tags] fields [timestamp]');
    if (p === start) throw this.fail('no measurement before the first comma or space');
    const table = this.table(start, p, escaped);
    const builder = table.builder;
    const row = builder.addRows(1);
    this.row = row;
    let index = 0;
    while (buf[p] === COMMA) {
      p = this.tag(table, index++, p + 1, end);
    }
    while (p < end && buf[p] === SPACE) p++;
    if (p >= end) throw this.fail('no fields after the tags');
    index = 0;
    for (;;) {
      p = this.field(table, index++, p, end);
      if (p >= end || buf[p] === SPACE) break;
      if (++p >= end) throw this.fail('a comma after the last field'); // the comma before the next field
    }
    while (p < end && buf[p] === SPACE) p++;
    builder.setTime(row, p < end ? this.timestamp(p, end) : this.now);
  }

  private table(start: number, end: number, escaped: boolean): TableState {
    const last = this.last;
    if (last !== undefined && !escaped && sameBytes(this.buf, start, end, last.name)) return last;
    const name = escaped
      ? unescapeKey(this.buf.toString('utf8', start, end))
      : this.buf.toString('utf8', start, end);
    let state = this.tables.get(name);
    if (state === undefined) {
      state = { name: Buffer.from(name), builder: this.batch.table(name), tags: [], fields: [] };
      this.tables.set(name, state);
    }
    this.last = state;
    return state;
  }

  /** Scans a tag or field key from `p` to its `=` (the slow path, when the shape does not match). */
  private keyEnd(p: number, end: number, what: string): { keyEnd: number; escaped: boolean } {
    const buf = this.buf;
    let escaped = false;
    let i = p;
    for (; i < end; i++) {
      const c = buf[i];
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      } else if (c === EQUALS) break;
      else if (c === COMMA || c === SPACE) break;
    }
    if (i === p) throw this.fail(`empty ${what}`);
    if (i >= end || buf[i] !== EQUALS) {
      throw this.fail(`${what} ${show(this.buf.toString('utf8', p, i))} has no "=value"`);
    }
    return { keyEnd: i, escaped };
  }

  private keyName(p: number, keyEnd: number, escaped: boolean): string {
    const text = this.buf.toString('utf8', p, keyEnd);
    return escaped ? unescapeKey(text) : text;
  }

  /** Parses `key=value` of a tag at `p`; returns the position after it. */
  private tag(table: TableState, index: number, p: number, end: number): number {
    const buf = this.buf;
    let shape = table.tags[index];
    let valueStart: number;
    if (
      shape !== undefined &&
      buf[p + shape.key.length] === EQUALS &&
      sameBytes(buf, p, p + shape.key.length, shape.key)
    ) {
      valueStart = p + shape.key.length + 1;
    } else {
      const { keyEnd, escaped } = this.keyEnd(p, end, 'tag key');
      const column = table.builder.column(
        this.keyName(p, keyEnd, escaped),
        'string',
        'tag',
        true,
        this.origin,
      );
      let values = this.tagValues.get(column);
      if (values === undefined) {
        values = new Map();
        this.tagValues.set(column, values);
      }
      shape = { key: buf.subarray(p, keyEnd), column, values };
      table.tags[index] = shape;
      valueStart = keyEnd + 1;
    }
    const column = shape.column;
    let i = valueStart;
    let escaped = false;
    let high = 0;
    let hash = 0x811c9dc5;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      } else if (c === COMMA || c === SPACE) break;
      high |= c;
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    if (i === valueStart) throw this.fail(`tag ${column.name} has an empty value`);
    if (column.lastRow === this.row) throw this.fail(`tag ${column.name} appears twice`);
    let value: string;
    if (escaped || high >= 0x80) {
      const text = this.utf8(valueStart, i, `the value of tag ${column.name}`);
      value = escaped ? unescapeKey(text) : text;
    } else {
      hash &= 0x3fffffff; // a small integer (Smi) key: Map lookups by a heap number cost more
      const known = shape.values.get(hash);
      if (known !== undefined && sameChars(known, buf, valueStart, i)) value = known;
      else {
        value = buf.toString('latin1', valueStart, i);
        if (shape.values.size < MAX_REMEMBERED_TAG_VALUES) shape.values.set(hash, value);
      }
    }
    column.setString(this.row, value);
    return i;
  }

  /** Parses `key=value` of a field at `p`; returns the position after the value. */
  private field(table: TableState, index: number, p: number, end: number): number {
    const buf = this.buf;
    const shape = table.fields[index];
    let key: Buffer;
    let column: ColumnBuilder | undefined;
    let name: string;
    let valueStart: number;
    if (
      shape !== undefined &&
      buf[p + shape.key.length] === EQUALS &&
      sameBytes(buf, p, p + shape.key.length, shape.key)
    ) {
      key = shape.key;
      column = shape.column;
      name = column.name;
      valueStart = p + key.length + 1;
    } else {
      const { keyEnd, escaped } = this.keyEnd(p, end, 'field key');
      key = buf.subarray(p, keyEnd);
      name = this.keyName(p, keyEnd, escaped);
      valueStart = keyEnd + 1;
      const tag = table.builder.get(name);
      // Arc's rule: a field named like a tag of the same line becomes <name>_value. Such a column is
      // never remembered in the shape: the next line may lack the tag.
      if (tag !== undefined && tag.role === 'tag' && tag.lastRow === this.row) name = `${name}_value`;
    }
    if (valueStart >= end) throw this.fail(`field ${name} has no value`);
    const row = this.row;
    const c = buf[valueStart]!;
    let i: number;
    let kind: ColumnKind;
    // The usual float is read in the same pass that finds its end.
    const decimal = this.decimal;
    const fastFloat =
      readDecimal(buf, valueStart, end, decimal) &&
      (decimal.end === end || buf[decimal.end] === COMMA || buf[decimal.end] === SPACE);
    if (fastFloat) {
      kind = 'float64';
      i = decimal.end;
    } else if (c === QUOTE) {
      kind = 'string';
      i = this.stringEnd(valueStart, end, name);
    } else {
      i = valueStart;
      while (i < end && buf[i] !== COMMA && buf[i] !== SPACE) i++;
      if (i === valueStart) throw this.fail(`field ${name} has no value`);
      const last = buf[i - 1];
      kind =
        c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46 // t T f F
          ? 'bool'
          : last === 0x69 || last === 0x75 // i u
            ? 'int64'
            : 'float64';
    }
    if (column === undefined || column.kind !== kind) {
      column = table.builder.column(name, kind, 'field', true, this.origin);
      if (column.name.length === key.length) table.fields[index] = { key, column };
    }
    if (column.lastRow === row) throw this.fail(`field ${name} appears twice`);
    switch (kind) {
      case 'float64':
        column.setFloat(row, fastFloat ? decimal.value : this.float(valueStart, i, name));
        break;
      case 'int64':
        this.integer(column, valueStart, i);
        break;
      case 'bool':
        column.setBool(row, this.bool(valueStart, i, name));
        break;
      default:
        column.setString(row, this.string(valueStart + 1, i - 1, name));
    }
    if (i < end && buf[i] !== COMMA && buf[i] !== SPACE) {
      throw this.fail(`unexpected ${show(String.fromCharCode(buf[i]!))} after the value of field ${name}`);
    }
    return i;
  }

  private readonly origin = (): string => `line ${this.line}`;
  private readonly decimal: DecimalRead = { value: 0, end: 0 };

  /**
   * Position after the closing quote of a string field opening at `p`; `stringAscii` says whether
   * the bytes before it are all ASCII.
   */
  private stringEnd(p: number, end: number, name: string): number {
    const buf = this.buf;
    let high = 0;
    for (let i = p + 1; i < end; i++) {
      const c = buf[i]!;
      high |= c;
      if (c === BACKSLASH) high |= buf[++i]!;
      else if (c === QUOTE) {
        this.stringAscii = high < 0x80;
        return i + 1;
      }
    }
    throw this.fail(`string field ${name} has no closing quote`);
  }

  private stringAscii = true;

  /** The string field value in [start, end), after stringEnd found its end. */
  private string(start: number, end: number, name: string): string {
    const text = this.stringAscii
      ? this.buf.toString('latin1', start, end)
      : this.utf8(start, end, `the value of field ${name}`);
    return text.includes('\\') ? text.replace(/\\(["\\])/g, '$1') : text;
  }

  /** Bytes [start, end) as text, refused (400 INVALID_UTF8) when they are not UTF-8. */
  private utf8(start: number, end: number, what: string): string {
    const bytes = this.buf.subarray(start, end);
    if (!isUtf8(bytes)) throw invalidUtf8(bytes, what);
    return this.buf.toString('utf8', start, end);
  }

  private bool(start: number, end: number, name: string): boolean {
    const buf = this.buf;
    if (end - start === 1) {
      const c = buf[start];
      if (c === 0x74 || c === 0x54) return true; // t T
      if (c === 0x66 || c === 0x46) return false; // f F
    }
    for (const word of TRUE) if (sameBytes(buf, start, end, word)) return true;
    for (const word of FALSE) if (sameBytes(buf, start, end, word)) return false;
    const text = this.buf.toString('utf8', start, end);
    throw this.fail(
      `field ${name}: ${show(text)} is not a boolean (t, T, true, True, TRUE, f, F, false, False, FALSE)`,
    );
  }

  /**
   * A float readDecimal declined (exponents, 20+ digits, the rare value too close to a rounding
   * midpoint, invalid text): Number() rounds correctly, once the text is known to be a float (it
   * accepts "0x1f", "Infinity", " 1").
   */
  private float(start: number, end: number, name: string): number {
    const text = this.buf.toString('latin1', start, end);
    const value = FLOAT.test(text) ? Number(text) : Number.NaN;
    if (!Number.isFinite(value)) {
      throw this.fail(
        `field ${name}: ${show(text)} is not a number (floats as 1.5 or -2e3, integers with an i suffix, ` +
          'unsigned with u, booleans, or "quoted strings"; NaN and infinity are not accepted)',
      );
    }
    return value;
  }

  /** An `i` (int64) or `u` (uint64, kept when it fits int64) value, the suffix included in [start, end). */
  private integer(column: ColumnBuilder, start: number, end: number): void {
    const buf = this.buf;
    const unsigned = buf[end - 1] === 0x75;
    let i = start;
    const negative = buf[i] === MINUS;
    if (negative) i++;
    const digitsStart = i;
    let value = 0;
    for (; i < end - 1; i++) {
      const c = buf[i]!;
      if (c < ZERO || c > NINE) break;
      value = value * 10 + (c - ZERO);
    }
    const digits = i - digitsStart;
    if (i !== end - 1 || digits === 0 || (unsigned && negative)) {
      const text = buf.toString('latin1', start, end);
      throw this.fail(
        `field ${column.name}: ${show(text)} is not ${unsigned ? 'an unsigned' : 'an'} integer (digits then ${unsigned ? 'u' : 'i'})`,
      );
    }
    if (digits <= 15) {
      column.setInt(this.row, negative ? -value : value);
      return;
    }
    const big = BigInt(buf.toString('latin1', start, end - 1));
    if (big < INT64_MIN || big > INT64_MAX) {
      throw new IngestError(
        'VALUE_OUT_OF_RANGE',
        `field ${column.name}: ${big} is outside the int64 range${unsigned ? ' (uint64 values are kept only when they fit int64)' : ''}`,
      );
    }
    column.setBigInt(this.row, big);
  }

  /** The timestamp in [p, end), trailing spaces allowed, in microseconds. */
  private timestamp(p: number, end: number): number | bigint {
    const buf = this.buf;
    let i = p;
    const negative = buf[i] === MINUS;
    if (negative) i++;
    const digitsStart = i;
    while (i < end && buf[i]! >= ZERO && buf[i]! <= NINE) i++;
    const digitsEnd = i;
    while (i < end && buf[i] === SPACE) i++;
    const digits = digitsEnd - digitsStart;
    if (i !== end || digits === 0) {
      throw this.fail(`invalid timestamp ${show(buf.toString('utf8', p, end))}: expected an integer`);
    }
    if (negative) {
      throw new IngestError(
        'INVALID_TIME',
        `invalid time ${show(buf.toString('latin1', p, digitsEnd))}: before 1970-01-01`,
      );
    }
    // Nanoseconds: the microseconds are the digits but the last three, exact as a double up to 2^53.
    if (this.unit === 'ns' && digits <= 19) {
      const micros = digits <= 3 ? 0 : decimal(buf, digitsStart, digitsEnd - 3);
      if (micros <= Number.MAX_SAFE_INTEGER) return micros;
    } else if (digits <= 15) return toMicros(decimal(buf, digitsStart, digitsEnd), this.unit);
    return toMicros(BigInt(buf.toString('latin1', digitsStart, digitsEnd)), this.unit);
  }
}

const TRUE = ['true', 'True', 'TRUE'].map((word) => Buffer.from(word));
const FALSE = ['false', 'False', 'FALSE'].map((word) => Buffer.from(word));
const FLOAT = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function decimal(buf: Buffer, start: number, end: number): number {
  let value = 0;
  for (let i = start; i < end; i++) value = value * 10 + (buf[i]! - ZERO);
  return value;
}

function sameBytes(buf: Buffer, start: number, end: number, expected: Buffer): boolean {
  if (end - start !== expected.length) return false;
  for (let i = 0; i < expected.length; i++) if (buf[start + i] !== expected[i]) return false;
  return true;
}

/** Escapes of measurements, keys and tag values: `\,` `\ ` `\=` `\\` stand for the character. */
function unescapeKey(text: string): string {
  return text.replace(/\\([, =\\])/g, '$1');
}
