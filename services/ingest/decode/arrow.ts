/**
 * Arrow IPC stream writes (ARC-COMPAT "Arrow IPC"): one table per request, a `time` column that is a
 * Timestamp of any unit (time zone ignored) or an integer epoch (unit inferred per value).
 *
 * apache-arrow only frames the stream; values are read from each chunk's buffers, never through
 * `get()` (which turns int64 timestamps into float milliseconds). A column in one chunk already in
 * Weir's type (float64, int64, microsecond times, UTF-8) is used in place, as a view of the request
 * body: copying it cost more than the rest of decoding (a fresh allocation per column per request).
 * Anything else is converted into new typed arrays. In arrow-js a chunk's fixed-width `values` and
 * `valueOffsets` already start at its first row, while validity and boolean bitmaps do not: their
 * bits start at `data.offset`.
 */

import { isUtf8 } from 'node:buffer';
import {
  TimeUnit as ArrowTimeUnit,
  type Data,
  type DataType,
  DataType as DT,
  type Field,
  type Table,
  tableFromIPC,
} from 'apache-arrow';
import { paths } from '../../../catalog/index.js';
import type { BatchColumn, DecodeContext, TableBatch } from '../batch.js';
import { IngestError, locate, show } from '../errors.js';
import { assertColumnName } from './builder.js';
import { HI, LO, TWO_32, wordsOf, writeSafeInt } from './int64.js';
import { inferUnit, MAX_MICROS, type TimeUnit, TimeUnitCheck, toMicros } from './time.js';
import { invalidUtf8, type Utf8Column } from './utf8.js';

export interface ArrowContext extends DecodeContext {
  /** The table to write (`?table=`). */
  readonly table: string;
  /** Tag columns (`x-weir-tags`); without it string columns are tags. */
  readonly tags?: readonly string[];
}

type Kind = 'string' | 'float64' | 'int64' | 'bool';

export function decodeArrowIpc(body: Uint8Array, ctx: ArrowContext): TableBatch[] {
  paths.assertName('database', ctx.database);
  const table = paths.assertName('table', ctx.table);
  let arrow: Table;
  try {
    arrow = tableFromIPC(body);
  } catch (error) {
    throw new IngestError(
      'INVALID_ARROW',
      `invalid Arrow IPC stream: ${(error as Error).message.slice(0, 200)}`,
    );
  }
  const fields = arrow.schema.fields;
  const { timeIndex, kinds } = schemaKinds(fields, table, ctx.limits.maxColumns);
  const tags = ctx.tags === undefined ? undefined : new Set(ctx.tags);
  checkTags(tags, fields, kinds, table);
  const rows = arrow.numRows;
  if (rows === 0) return [];
  const chunksOf = (index: number): readonly Data[] => arrow.getChildAt(index)!.data;
  const time = readTime(chunksOf(timeIndex), rows, table);
  const columns: BatchColumn[] = [];
  for (let index = 0; index < fields.length; index++) {
    const kind = kinds[index];
    if (kind === undefined) continue;
    const name = fields[index]!.name;
    const role = tags ? (tags.has(name) ? 'tag' : 'field') : kind === 'string' ? 'tag' : 'field';
    const roleDeclared = tags !== undefined || kind !== 'string';
    try {
      columns.push(readColumn(chunksOf(index), rows, kind, name, role, roleDeclared, ctx));
    } catch (error) {
      throw locate(error, `column ${name} of table ${table}`);
    }
  }
  return [{ database: ctx.database, table, rows, time, columns }];
}

/** Where `time` is and what each other column becomes; refuses schemas Weir cannot store. */
function schemaKinds(
  fields: readonly Field[],
  table: string,
  maxColumns: number,
): { timeIndex: number; kinds: (Kind | undefined)[] } {
  if (fields.length === 0)
    throw new IngestError('INVALID_ARROW', 'the Arrow IPC stream has no schema or no columns');
  const timeIndex = fields.findIndex((field) => field.name === 'time');
  if (timeIndex < 0) {
    throw new IngestError('MISSING_COLUMN', `the Arrow schema of table ${table} has no "time" column`);
  }
  if (fields.length - 1 > maxColumns) {
    throw new IngestError(
      'TOO_MANY_COLUMNS',
      `table ${table}: ${fields.length - 1} columns besides time, above the limit of ${maxColumns} (maxColumns)`,
    );
  }
  const seen = new Set<string>();
  const kinds = fields.map((field, index) => {
    if (seen.has(field.name)) {
      throw new IngestError(
        'DUPLICATE_COLUMN',
        `the Arrow schema of table ${table} has two columns named ${show(field.name)}`,
      );
    }
    seen.add(field.name);
    if (index === timeIndex) return undefined;
    assertColumnName(field.name, table);
    return kindOf(field.type, field.name, table);
  });
  return { timeIndex, kinds };
}

/** The `x-weir-tags` columns must exist and hold strings. */
function checkTags(
  tags: Set<string> | undefined,
  fields: readonly Field[],
  kinds: (Kind | undefined)[],
  table: string,
) {
  for (const tag of tags ?? []) {
    const index = fields.findIndex((field) => field.name === tag);
    if (index < 0 || tag === 'time') {
      throw new IngestError(
        'MISSING_COLUMN',
        `x-weir-tags names ${show(tag)}, which is not a column of the Arrow schema besides time`,
      );
    }
    if (kinds[index] !== 'string') {
      throw new IngestError(
        'TYPE_CONFLICT',
        `x-weir-tags names ${tag}, a ${fields[index]!.type} column of table ${table}; tags are strings`,
      );
    }
  }
}

function kindOf(type: DataType, name: string, table: string): Kind {
  if (DT.isFloat(type)) return 'float64';
  if (DT.isInt(type)) return 'int64';
  if (DT.isBool(type)) return 'bool';
  if (DT.isUtf8(type) || DT.isLargeUtf8(type)) return 'string';
  if (DT.isDictionary(type) && (DT.isUtf8(type.dictionary) || DT.isLargeUtf8(type.dictionary)))
    return 'string';
  throw new IngestError(
    'UNSUPPORTED_TYPE',
    `column ${name} of table ${table} has Arrow type ${type}, which Weir does not store; ` +
      'use floats, integers, booleans or (dictionary) UTF-8 strings',
  );
}

function corrupt(what: string): IngestError {
  return new IngestError('INVALID_ARROW', `invalid Arrow IPC stream: ${what}`);
}

/** Bit `offset + i` of an Arrow bitmap. */
function bit(bitmap: Uint8Array, index: number): number {
  return (bitmap[index >> 3]! >> (index & 7)) & 1;
}

/** The chunk's validity bitmap when it has nulls, checked to cover its rows. */
function nullsOf(data: Data): Uint8Array | undefined {
  if (data.nullCount === 0) return undefined;
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length * 8 < data.offset + data.length)
    throw corrupt('a validity bitmap is too short');
  return bitmap;
}

function checkLength(values: { length: number } | undefined, needed: number): void {
  if (!values || values.length < needed) throw corrupt('a value buffer is shorter than its row count');
}

const UNIT_OF: Record<ArrowTimeUnit, TimeUnit> = {
  [ArrowTimeUnit.SECOND]: 's',
  [ArrowTimeUnit.MILLISECOND]: 'ms',
  [ArrowTimeUnit.MICROSECOND]: 'us',
  [ArrowTimeUnit.NANOSECOND]: 'ns',
};

const MAX_HI = Number(MAX_MICROS >> 32n);
const MAX_LO = Number(MAX_MICROS & 0xffffffffn);
// 1e16, the first nanosecond-sized epoch number, as words.
const NS_HI = Math.floor(1e16 / TWO_32);
const NS_LO = 1e16 - NS_HI * TWO_32;

function readTime(chunks: readonly Data[], rows: number, table: string): BigInt64Array {
  const type = chunks[0]!.type;
  if (!DT.isTimestamp(type) && !DT.isInt(type)) {
    throw new IngestError(
      'TYPE_CONFLICT',
      `the time column of table ${table} has Arrow type ${type}; send a Timestamp or an integer epoch`,
    );
  }
  const unit = DT.isTimestamp(type) ? UNIT_OF[type.unit] : undefined;
  if (unit === 'us' && chunks.length === 1) {
    const inPlace = microsInPlace(chunks[0]!, rows);
    if (inPlace) return inPlace;
  }
  const times = new TimeColumn(rows, unit, !DT.isInt(type) || type.isSigned, table);
  let at = 0;
  for (const data of chunks) {
    const n = data.length;
    const nulls = nullsOf(data);
    checkLength(data.values, n);
    const values = data.values as ArrayLike<number> | BigInt64Array | BigUint64Array;
    const words =
      values instanceof BigInt64Array || values instanceof BigUint64Array
        ? new Int32Array(values.buffer, values.byteOffset, n * 2)
        : undefined;
    for (let i = 0; i < n; i++) {
      const row = at + i;
      try {
        if (nulls && !bit(nulls, data.offset + i)) throw new IngestError('INVALID_TIME', 'time is null');
        if (words) times.fromWords(words, i, row);
        else times.fromNumber((values as ArrayLike<number>)[i]!, row);
      } catch (error) {
        throw locate(error, `table ${table}, row ${row + 1}`);
      }
    }
    at += n;
  }
  return times.out;
}

/**
 * A microsecond Timestamp chunk without nulls whose every value Weir can store, as a view of the
 * request body (no copy); undefined when any row needs the general path (which names the bad row).
 */
function microsInPlace(data: Data, rows: number): BigInt64Array | undefined {
  const values = data.values as unknown;
  if (data.nullCount !== 0 || !(values instanceof BigInt64Array) || values.length < rows) return undefined;
  const words = new Int32Array(values.buffer, values.byteOffset, rows * 2);
  for (let i = 0; i < rows; i++) {
    const hi = words[2 * i + HI]!;
    if (hi < 0 || hi > MAX_HI || (hi === MAX_HI && words[2 * i + LO]! >>> 0 > MAX_LO)) return undefined;
  }
  return values.subarray(0, rows);
}

/** The time column being converted: a known unit (Timestamp) or one inferred per value (integer epoch). */
class TimeColumn {
  readonly out: BigInt64Array;
  private readonly outWords: Int32Array;
  private readonly check: TimeUnitCheck;

  constructor(
    rows: number,
    private readonly unit: TimeUnit | undefined,
    private readonly signed: boolean,
    table: string,
  ) {
    this.out = new BigInt64Array(rows);
    this.outWords = wordsOf(this.out);
    this.check = new TimeUnitCheck(table);
  }

  private write(row: number, micros: number | bigint): void {
    if (typeof micros === 'number') writeSafeInt(this.outWords, row, micros);
    else this.out[row] = micros;
  }

  /** A narrow integer epoch (seconds, as anything narrower than 64 bits must be). */
  fromNumber(value: number, row: number): void {
    const unit = inferUnit(value);
    this.check.check(unit, value, () => `row ${row + 1}`);
    this.write(row, toMicros(value, unit));
  }

  /** One int64 time, given as words: exact, and without a BigInt in the common cases. */
  fromWords(words: Int32Array, i: number, row: number): void {
    const hi = words[2 * i + HI]!;
    const lo = words[2 * i + LO]! >>> 0;
    if (hi < 0) throw this.outOfRange(words, i); // negative int64, or uint64 ≥ 2^63: both invalid
    let unit = this.unit;
    if (unit === undefined) {
      const big = hi > NS_HI || (hi === NS_HI && lo >= NS_LO);
      unit = big ? 'ns' : hi < 0x200000 ? inferUnit(hi * TWO_32 + lo) : 'us';
      if (unit !== this.check.unit) this.check.check(unit, read(words, i), () => `row ${row + 1}`);
    }
    const outWords = this.outWords;
    if (unit === 'ns') {
      // floor(v / 1000) by long division on the words: exact, and always within range.
      const qHi = Math.floor(hi / 1000);
      const t = (hi - qHi * 1000) * TWO_32 + lo;
      outWords[2 * row + LO] = Math.floor(t / 1000) | 0;
      outWords[2 * row + HI] = qHi;
    } else if (unit === 'us') {
      if (hi > MAX_HI || (hi === MAX_HI && lo > MAX_LO)) throw this.outOfRange(words, i);
      outWords[2 * row + LO] = lo | 0;
      outWords[2 * row + HI] = hi;
    } else {
      if (hi >= 0x200000) throw this.outOfRange(words, i);
      this.write(row, toMicros(hi * TWO_32 + lo, unit));
    }
  }

  private outOfRange(words: Int32Array, i: number): IngestError {
    const bits = read(words, i);
    const value = this.signed ? BigInt.asIntN(64, bits) : bits;
    const why =
      value < 0n ? 'before 1970-01-01' : 'after 2262-04-11T23:47:16.854775Z, the latest time Weir stores';
    return new IngestError('INVALID_TIME', `invalid time ${value}: ${why}`);
  }
}

/** Element i as an unsigned 64-bit value. */
function read(words: Int32Array, i: number): bigint {
  return (BigInt(words[2 * i + HI]! >>> 0) << 32n) | BigInt(words[2 * i + LO]! >>> 0);
}

function readColumn(
  chunks: readonly Data[],
  rows: number,
  kind: Kind,
  name: string,
  role: 'tag' | 'field',
  roleDeclared: boolean,
  ctx: DecodeContext,
): BatchColumn {
  let valid: Uint8Array | undefined;
  let at = 0;
  const base = { name, role, roleDeclared } as const;
  const markNulls = (data: Data): void => {
    const nulls = nullsOf(data);
    if (!nulls) return;
    valid ??= new Uint8Array(rows).fill(1);
    for (let i = 0; i < data.length; i++) if (!bit(nulls, data.offset + i)) valid[at + i] = 0;
  };
  switch (kind) {
    case 'float64': {
      const only = chunks.length === 1 ? chunks[0]!.values : undefined;
      if (only instanceof Float64Array) {
        checkLength(only, rows);
        markNulls(chunks[0]!);
        const values = only.subarray(0, rows);
        assertFinite(values, valid);
        return { ...base, type: 'float64', values, valid };
      }
      const values = new Float64Array(rows);
      for (const data of chunks) {
        checkLength(data.values, data.length);
        copyFloats(data, values, at);
        markNulls(data);
        at += data.length;
      }
      assertFinite(values, valid);
      return { ...base, type: 'float64', values, valid };
    }
    case 'int64': {
      const only = chunks.length === 1 ? chunks[0]!.values : undefined;
      if (only instanceof BigInt64Array) {
        checkLength(only, rows);
        markNulls(chunks[0]!);
        return { ...base, type: 'int64', values: only.subarray(0, rows), valid };
      }
      const values = new BigInt64Array(rows);
      for (const data of chunks) {
        checkLength(data.values, data.length);
        copyInts(data, values, at);
        markNulls(data);
        at += data.length;
      }
      return { ...base, type: 'int64', values, valid };
    }
    case 'bool': {
      const values = new Uint8Array(rows);
      for (const data of chunks) {
        const bits = data.values as Uint8Array;
        checkLength(bits, (data.offset + data.length + 7) >> 3);
        for (let i = 0; i < data.length; i++) values[at + i] = bit(bits, data.offset + i);
        markNulls(data);
        at += data.length;
      }
      return { ...base, type: 'bool', values, valid };
    }
    default: {
      const limit =
        role === 'tag'
          ? { maxBytes: ctx.limits.maxTagBytes, name: 'maxTagBytes' }
          : { maxBytes: ctx.limits.maxStringFieldBytes, name: 'maxStringFieldBytes' };
      for (const data of chunks) {
        markNulls(data);
        at += data.length;
      }
      return { ...base, type: 'string', ...readStrings(chunks, rows, limit, valid) };
    }
  }
}

/**
 * Refuses NaN and infinities in rows that hold a value (a null row's slot may hold anything), as
 * every other format does. One subtraction per value: `v - v` is 0 exactly when v is finite.
 */
function assertFinite(values: Float64Array, valid: Uint8Array | undefined): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0 && (valid === undefined || valid[i] === 1)) {
      throw new IngestError(
        'INVALID_VALUE',
        `row ${i + 1}: ${v} is not a finite number; NaN and infinities are not stored (send null for a missing value)`,
      );
    }
  }
}

function copyFloats(data: Data, out: Float64Array, at: number): void {
  const n = data.length;
  const values = data.values as Float64Array | Float32Array | Uint16Array;
  if (values instanceof Float64Array) out.set(values.subarray(0, n), at);
  else if (values instanceof Float32Array) for (let i = 0; i < n; i++) out[at + i] = values[i]!;
  else for (let i = 0; i < n; i++) out[at + i] = halfToNumber(values[i]!);
}

function halfToNumber(h: number): number {
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function copyInts(data: Data, out: BigInt64Array, at: number): void {
  const n = data.length;
  const values = data.values as
    | Int8Array
    | Int16Array
    | Int32Array
    | Uint8Array
    | Uint16Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array;
  if (values instanceof BigInt64Array) {
    out.set(values.subarray(0, n), at);
    return;
  }
  if (values instanceof BigUint64Array) {
    const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
    const nulls = nullsOf(data);
    for (let i = 0; i < n; i++) {
      if (words[2 * i + HI]! < 0 && (!nulls || bit(nulls, data.offset + i))) {
        throw new IngestError(
          'VALUE_OUT_OF_RANGE',
          `row ${at + i + 1}: uint64 ${values[i]} is outside the int64 range`,
        );
      }
    }
    out.set(new BigInt64Array(values.buffer, values.byteOffset, n), at);
    return;
  }
  const outWords = wordsOf(out);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    outWords[2 * (at + i) + LO] = v | 0;
    outWords[2 * (at + i) + HI] = v < 0 ? -1 : 0;
  }
}

/** One chunk's strings as offsets into bytes, before any check (offsets may be 64-bit). */
interface StringChunk {
  readonly n: number;
  readonly offsets: Int32Array | BigInt64Array;
  readonly bytes: Uint8Array;
  /** Dictionary chunks: row i is dictionary value `indices[i]`, missing where `indexValid` is 0 there. */
  readonly indices?: ArrayLike<number | bigint>;
  readonly indexValid?: Uint8Array;
  /** Validity bitmap and its bit offset. */
  readonly nulls?: Uint8Array;
  readonly bitOffset: number;
}

interface StringLimit {
  readonly maxBytes: number;
  readonly name: string;
}

/**
 * A string column as UTF-8 and offsets. A single plain chunk whose bytes are valid UTF-8 (the
 * usual request) is used in place; anything else (several record batches, dictionaries, 64-bit
 * offsets, bytes only a null row covers) is copied value by value.
 */
function readStrings(
  chunks: readonly Data[],
  rows: number,
  limit: StringLimit,
  valid: Uint8Array | undefined,
): Utf8Column {
  const parts = chunks.map((data) => stringChunk(data, limit));
  const only = parts.length === 1 ? parts[0]! : undefined;
  if (only && !only.indices && only.offsets instanceof Int32Array && only.offsets[0] === 0) {
    const offsets = only.offsets.subarray(0, only.n + 1);
    checkOffsets(offsets, only.bytes, limit);
    const data = only.bytes.subarray(0, offsets[only.n]!);
    if (isUtf8(data) && boundariesAreChars(offsets, data))
      return { offsets, data, ...(valid ? { valid } : {}) };
  }
  return copyStrings(parts, rows, limit, valid);
}

function stringChunk(data: Data, limit: StringLimit): StringChunk {
  const nulls = nullsOf(data);
  const base = { n: data.length, bitOffset: data.offset, ...(nulls ? { nulls } : {}) };
  if (DT.isDictionary(data.type)) {
    const dictionary = data.dictionary;
    if (!dictionary) throw corrupt('a dictionary column has no dictionary');
    const values = readStrings(
      dictionary.data,
      dictionary.length,
      limit,
      dictionaryValidity(dictionary.data),
    );
    const indices = data.values as ArrayLike<number | bigint>;
    checkLength(indices, data.length);
    return {
      ...base,
      offsets: values.offsets,
      bytes: values.data,
      indices,
      ...(values.valid ? { indexValid: values.valid } : {}),
    };
  }
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  checkLength(offsets, data.length + 1);
  return { ...base, offsets, bytes: data.values as Uint8Array };
}

/** Offsets must rise within the bytes, and no value may pass the limit. */
function checkOffsets(offsets: Int32Array, bytes: Uint8Array, limit: StringLimit): void {
  if (offsets[0]! < 0 || offsets[offsets.length - 1]! > bytes.length)
    throw corrupt('string offsets point outside the value buffer');
  for (let i = 1; i < offsets.length; i++) {
    const size = offsets[i]! - offsets[i - 1]!;
    if (size < 0) throw corrupt(`string offsets decrease at row ${i}`);
    if (size > limit.maxBytes) throw tooLong(offsets[i - 1]!, offsets[i]!, bytes, i, limit);
  }
}

/** No offset falls inside a multi-byte character (so each value is valid UTF-8 when the whole is). */
function boundariesAreChars(offsets: Int32Array, data: Uint8Array): boolean {
  for (let i = 1; i < offsets.length - 1; i++) {
    const at = offsets[i]!;
    if (at < data.length && (data[at]! & 0xc0) === 0x80) return false;
  }
  return true;
}

/** Validity of the values, 1 byte per row (undefined: none missing). */
function dictionaryValidity(chunks: readonly Data[]): Uint8Array | undefined {
  const rows = chunks.reduce((sum, data) => sum + data.length, 0);
  let valid: Uint8Array | undefined;
  let at = 0;
  for (const data of chunks) {
    const nulls = nullsOf(data);
    if (nulls) {
      valid ??= new Uint8Array(rows).fill(1);
      for (let i = 0; i < data.length; i++) if (!bit(nulls, data.offset + i)) valid[at + i] = 0;
    }
    at += data.length;
  }
  return valid;
}

function copyStrings(
  parts: readonly StringChunk[],
  rows: number,
  limit: StringLimit,
  given: Uint8Array | undefined,
): Utf8Column {
  const offsets = new Int32Array(rows + 1);
  const ranges = new Array<[Uint8Array, number, number] | undefined>(rows);
  let valid = given;
  let total = 0;
  let row = 0;
  for (const part of parts) {
    const { offsets: from, bytes, indices, indexValid, nulls, bitOffset } = part;
    const size = indices ? from.length - 1 : part.n;
    for (let i = 0; i < part.n; i++, row++) {
      offsets[row + 1] = total;
      if (nulls && !bit(nulls, bitOffset + i)) continue;
      const at = indices ? Number(indices[i]) : i;
      if (!(at >= 0 && at < size)) throw corrupt(`dictionary index ${at} out of range at row ${row + 1}`);
      if (indexValid && indexValid[at] === 0) {
        valid ??= new Uint8Array(rows).fill(1);
        valid[row] = 0;
        continue;
      }
      const start = Number(from[at]);
      const end = Number(from[at + 1]);
      if (start < 0 || end < start || end > bytes.length)
        throw corrupt(`string offsets out of range at row ${row + 1}`);
      if (end - start > limit.maxBytes) throw tooLong(start, end, bytes, row + 1, limit);
      const value = bytes.subarray(start, end);
      if (!isUtf8(value)) throw invalidUtf8(value, `row ${row + 1}: the value`);
      ranges[row] = [bytes, start, end];
      total += end - start;
      offsets[row + 1] = total;
    }
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < rows; i++) {
    const range = ranges[i];
    if (range) data.set(range[0].subarray(range[1], range[2]), offsets[i]!);
  }
  return { offsets, data, ...(valid ? { valid } : {}) };
}

const decoder = new TextDecoder();

function tooLong(
  start: number,
  end: number,
  bytes: Uint8Array,
  row: number,
  limit: StringLimit,
): IngestError {
  const head = show(decoder.decode(bytes.subarray(start, Math.min(end, start + 256))));
  return new IngestError(
    'STRING_TOO_LONG',
    `row ${row}: value ${head} is ${end - start} bytes, above the limit of ${limit.maxBytes} (${limit.name})`,
  );
}
