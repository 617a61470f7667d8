/**
 * Raw access to the columns of fetched DuckDB chunks, through the bindings under @duckdb/node-api
 * (`DuckDBDataChunk.chunk` is their handle). The API's own vectors answer one boxed value at a
 * time with a BigInt validity test each (≈100 ns a value); answers of millions of rows want whole
 * columns as typed arrays instead.
 *
 * Layouts are the C API's: flat vectors, validity as little-endian uint64 words (so byte for byte
 * Arrow's LSB-first bitmap), strings and blobs as 16-byte duckdb_string_t, 128-bit integers as
 * {uint64 lower, int64 upper}. Little-endian hosts only, like DuckDB's own Node packages.
 */
import { type DuckDBDataChunk, DuckDBMaterializedResult, type DuckDBResult } from '@duckdb/node-api';
import bindings from '@duckdb/node-bindings';

const TWO_POW_32 = 4294967296;
/** |hi word| below this keeps hi·2³² + lo within ±(2⁵³ − 1). */
const SAFE_HIGH_WORD = 0x200000;

/**
 * The result's chunks in order, until DuckDB answers none or an empty one. Asks for the next
 * chunk before handing out the current one, so DuckDB's threads produce it while we convert. A
 * materialized result already holds its chunks: they are read in place, without the round trip
 * through the thread pool that each fetch costs (~0.1 ms, and one more to learn there is no more).
 */
export async function* chunksOf(result: DuckDBResult): AsyncGenerator<DuckDBDataChunk> {
  if (result instanceof DuckDBMaterializedResult) {
    for (let index = 0; index < result.chunkCount; index++) {
      const chunk = result.getChunk(index);
      if (chunk.rowCount > 0) yield chunk;
    }
    return;
  }
  let next = prefetch(result);
  for (;;) {
    const chunk = await next;
    if (!chunk || chunk.rowCount === 0) return;
    next = prefetch(result);
    yield chunk;
  }
}

function prefetch(result: DuckDBResult): Promise<DuckDBDataChunk | null> {
  const chunk = result.fetchChunk();
  // A consumer that stops early (a limit passed) leaves this unawaited: its failure is nobody's.
  chunk.catch(() => {});
  return chunk;
}

/** A column's value memory (`rows × bytesPerRow` bytes) and validity bitmap (null when no row is NULL). */
export interface RawColumn {
  readonly rows: number;
  readonly data: Uint8Array;
  readonly validity: Uint8Array | null;
}

export function rawColumn(chunk: DuckDBDataChunk, column: number, bytesPerRow: number): RawColumn {
  const vector = bindings.data_chunk_get_vector(chunk.chunk, column);
  const rows = chunk.rowCount;
  return {
    rows,
    data: bindings.vector_get_data(vector, rows * bytesPerRow),
    validity: validityOf(vector, rows),
  };
}

/** The validity bitmap of any column, nested ones included (their top level). */
export function columnValidity(chunk: DuckDBDataChunk, column: number): Uint8Array | null {
  return validityOf(bindings.data_chunk_get_vector(chunk.chunk, column), chunk.rowCount);
}

function validityOf(vector: bindings.Vector, rows: number): Uint8Array | null {
  return bindings.vector_get_validity(vector, Math.ceil(rows / 64) * 8) ?? null;
}

export function isValid(validity: Uint8Array | null, row: number): boolean {
  return validity === null || ((validity[row >> 3]! >> (row & 7)) & 1) === 1;
}

/** A typed-array view of the column's values (DuckDB aligns vector memory to their width). */
export function viewOf<T>(
  column: RawColumn,
  ArrayType: new (buffer: ArrayBufferLike, byteOffset: number, length: number) => T,
): T {
  return new ArrayType(column.data.buffer, column.data.byteOffset, column.rows);
}

/**
 * 64-bit integers as JS numbers where they are safe (no BigInt allocated), else as bigints.
 * Reading both halves as uint32 words is what makes the common case cheap.
 */
export class Int64Values {
  private readonly words: Uint32Array;
  private readonly bigints: BigInt64Array | BigUint64Array;

  constructor(
    column: RawColumn,
    private readonly signed: boolean,
  ) {
    const { buffer, byteOffset } = column.data;
    this.words = new Uint32Array(buffer, byteOffset, column.rows * 2);
    this.bigints = signed
      ? new BigInt64Array(buffer, byteOffset, column.rows)
      : new BigUint64Array(buffer, byteOffset, column.rows);
  }

  at(row: number): number | bigint {
    const low = this.words[row * 2]!;
    const high = this.words[row * 2 + 1]!;
    if (this.signed) {
      const signedHigh = high | 0;
      if (signedHigh > -SAFE_HIGH_WORD && signedHigh < SAFE_HIGH_WORD) return signedHigh * TWO_POW_32 + low;
    } else if (high < SAFE_HIGH_WORD) {
      return high * TWO_POW_32 + low;
    }
    return this.bigints[row]!;
  }
}

/** Signed 128-bit integers (wide DECIMALs) as numbers where safe, else bigints. */
export class Int128Values {
  private readonly words: Uint32Array;
  private readonly halves: BigUint64Array;

  constructor(column: RawColumn) {
    const { buffer, byteOffset } = column.data;
    this.words = new Uint32Array(buffer, byteOffset, column.rows * 4);
    this.halves = new BigUint64Array(buffer, byteOffset, column.rows * 2);
  }

  at(row: number): number | bigint {
    const w = row * 4;
    const high = this.words[w + 1]! | 0;
    const extension = high < 0 ? 0xffffffff : 0;
    if (
      this.words[w + 2] === extension &&
      this.words[w + 3] === extension &&
      high > -SAFE_HIGH_WORD &&
      high < SAFE_HIGH_WORD
    ) {
      return high * TWO_POW_32 + this.words[w]!;
    }
    return (BigInt.asIntN(64, this.halves[row * 2 + 1]!) << 64n) | this.halves[row * 2]!;
  }
}

/** DECIMAL's scaled integers, stored in 2, 4, 8 or 16 bytes by width. */
export function decimalValues(
  chunk: DuckDBDataChunk,
  column: number,
  width: number,
): { at(row: number): number | bigint } {
  if (width <= 4) return integersOf(viewOf(rawColumn(chunk, column, 2), Int16Array));
  if (width <= 9) return integersOf(viewOf(rawColumn(chunk, column, 4), Int32Array));
  if (width <= 18) return new Int64Values(rawColumn(chunk, column, 8), true);
  return new Int128Values(rawColumn(chunk, column, 16));
}

function integersOf(values: Int16Array | Int32Array): { at(row: number): number } {
  return { at: (row) => values[row]! };
}

/** duckdb_string_t holds strings up to this many bytes inline, longer ones behind a pointer. */
const INLINE_STRING_BYTES = 12;
/**
 * Strings at most this far apart in memory are read with one call into the bindings (one call
 * per string costs ~1 µs). Reading the bytes between is safe: they lie on the pages of the two
 * strings around them, which are mapped, as long as the gap is under a page.
 */
const STRING_RUN_GAP = 1024;

/**
 * VARCHAR and BLOB rows. The out-of-line strings of a chunk sit mostly in a few contiguous runs
 * of DuckDB's string heap, so each run is mapped once and strings are views into it.
 */
export class StringValues {
  private readonly words: Uint32Array;
  private readonly inline: Buffer;
  private readonly runOfRow: Int32Array;
  private readonly runStarts: number[] = [];
  private readonly runBytes: Buffer[] = [];

  constructor(column: RawColumn) {
    const { buffer, byteOffset, byteLength } = column.data;
    this.words = new Uint32Array(buffer, byteOffset, column.rows * 4);
    this.inline = Buffer.from(buffer, byteOffset, byteLength);
    this.runOfRow = new Int32Array(column.rows);
    this.mapRuns(column);
  }

  byteLength(row: number): number {
    return this.words[row * 4]!;
  }

  bytes(row: number): Uint8Array {
    const length = this.words[row * 4]!;
    if (length <= INLINE_STRING_BYTES) return this.inline.subarray(row * 16 + 4, row * 16 + 4 + length);
    const run = this.runOfRow[row]!;
    const offset = this.address(row) - this.runStarts[run]!;
    return this.runBytes[run]!.subarray(offset, offset + length);
  }

  text(row: number): string {
    const length = this.words[row * 4]!;
    if (length <= INLINE_STRING_BYTES)
      return this.inline.toString('utf8', row * 16 + 4, row * 16 + 4 + length);
    const run = this.runOfRow[row]!;
    const offset = this.address(row) - this.runStarts[run]!;
    return this.runBytes[run]!.toString('utf8', offset, offset + length);
  }

  /** Copies row `row`'s bytes into `target` at `offset`. */
  copyTo(row: number, target: Uint8Array, offset: number): void {
    const length = this.words[row * 4]!;
    if (length <= INLINE_STRING_BYTES) {
      const start = row * 16 + 4;
      for (let i = 0; i < length; i++) target[offset + i] = this.inline[start + i]!;
    } else {
      target.set(this.bytes(row), offset);
    }
  }

  /** The string's address (exact: user-space addresses are below 2⁴⁸ where runs are formed). */
  private address(row: number): number {
    return this.words[row * 4 + 3]! * TWO_POW_32 + this.words[row * 4 + 2]!;
  }

  /** Groups the valid out-of-line strings into runs, in row order, and maps each run once. */
  private mapRuns(column: RawColumn): void {
    const { buffer, byteOffset } = column.data;
    let anchor = -1;
    let start = 0;
    let end = 0;
    const close = () => {
      if (anchor < 0) return;
      const bytes = bindings.get_data_from_pointer(
        buffer as ArrayBuffer,
        byteOffset + anchor * 16 + 8,
        end - start,
      );
      this.runStarts.push(start);
      this.runBytes.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      anchor = -1;
    };
    for (let row = 0; row < column.rows; row++) {
      const length = this.words[row * 4]!;
      if (length <= INLINE_STRING_BYTES || !isValid(column.validity, row)) continue;
      const address = this.address(row);
      // Beyond 2⁵³ an address is not exact as a number: such a string is a run of its own.
      const exact = this.words[row * 4 + 3]! < SAFE_HIGH_WORD;
      if (!exact || anchor < 0 || address < start || address > end + STRING_RUN_GAP) {
        close();
        anchor = row;
        start = address;
        end = address + length;
      } else {
        end = Math.max(end, address + length);
      }
      this.runOfRow[row] = this.runStarts.length;
      if (!exact) close();
    }
    close();
  }
}
