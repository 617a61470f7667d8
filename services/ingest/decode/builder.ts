/**
 * Accumulates the rows of one request into one columnar TableBatch per table (DESIGN.md §5): the
 * row-shaped formats (MessagePack and JSON rows, line protocol) write cell by cell, columnar items in
 * bulk, and items of the same table merge. Storage is typed arrays grown by doubling; a cell never
 * written stays invalid, which is how missing values and columns absent from some rows come out.
 */
import { InvalidNameError, paths } from '../../../catalog/index.js';
import type { BatchColumn, ColumnRole, DecodeLimits, TableBatch } from '../batch.js';
import { IngestError, show } from '../errors.js';
import { INT64_MAX, INT64_MIN, wordsOf, writeSafeInt } from './int64.js';
import { encodeStrings } from './utf8.js';

/**
 * A column's storage kind. `number` is for MessagePack and JSON numbers: it holds every value as a
 * double (plus exact bigints past 2^53) and becomes int64 when all values of the request are
 * integers, float64 once one is a float. MessagePack marks its floats (`setFloatNumber`, whole ones
 * included); JSON cannot tell 1.0 from 1, so there only a fraction makes a float.
 */
export type ColumnKind = 'string' | 'float64' | 'int64' | 'bool' | 'number';

const INITIAL_CAPACITY = 64;

function grownCapacity(capacity: number, needed: number): number {
  return Math.max(needed, capacity * 2, INITIAL_CAPACITY);
}

/**
 * A column's storage for `rows` rows: the array itself, a view when at most an eighth of it is
 * unused (a copy would cost more than the slack it frees), else a trimmed copy.
 */
function trimmed<T extends Float64Array | BigInt64Array | Uint8Array>(array: T, rows: number): T {
  if (array.length === rows) return array;
  return (array.length - rows <= array.length >> 3 ? array.subarray(0, rows) : array.slice(0, rows)) as T;
}

function resized<T extends Float64Array | BigInt64Array | Uint8Array>(array: T, length: number): T {
  const next = new (array.constructor as new (length: number) => T)(length);
  next.set(array as never);
  return next;
}

/**
 * A tag or field name every format accepts: the catalog's column rule, not `time`, and not
 * `__proto__`, which JavaScript objects cannot hold as a plain key (msgpackr renamed it, other
 * libraries drop it or set a prototype with it), so no format may store it under another name.
 */
export function assertColumnName(name: string, table: string): void {
  if (!paths.NAME_RULES.column.test(name)) {
    throw new InvalidNameError(
      `invalid column name ${show(name)} in table ${table}: must match ${paths.NAME_RULES.column.source}`,
      { table, column: name.slice(0, 200) },
    );
  }
  if (name === '__proto__') {
    throw new InvalidNameError(
      `invalid column name "__proto__" in table ${table}: reserved, since JavaScript objects cannot hold it as a key`,
      { table, column: name },
    );
  }
  if (name === 'time') {
    throw new IngestError(
      'DUPLICATE_COLUMN',
      `table ${table}: a tag or field may not be named "time", which is the time column`,
    );
  }
}

export class ColumnBuilder {
  /** Row of the last write: a second write to the same row is a duplicate key. */
  lastRow = -1;
  private count = 0;
  private capacity = 0;
  private valid = new Uint8Array(0);
  private strings: (string | null)[] = [];
  private f64 = new Float64Array(0);
  private i64 = new BigInt64Array(0);
  private i64Words: Int32Array = new Int32Array(0);
  private u8 = new Uint8Array(0);
  /** `number` kind: false once a float arrived. */
  private allIntegers = true;
  /** `number` kind: integers past 2^53, exact, by row. */
  private bigs: Map<number, bigint> | undefined;
  private maxBytes: number;

  constructor(
    readonly table: string,
    readonly name: string,
    readonly kind: ColumnKind,
    public role: ColumnRole,
    public roleDeclared: boolean,
    /** Where the column was first seen ("line 3", "item 1"; 1-based), for conflict messages. */
    readonly origin: string,
    private readonly limits: DecodeLimits,
  ) {
    this.maxBytes = role === 'tag' ? limits.maxTagBytes : limits.maxStringFieldBytes;
  }

  get label(): string {
    return `${this.role} ${this.name} of table ${this.table}`;
  }

  /** Adopts a role the client declared over one that was inferred (see ColumnBase.roleDeclared). */
  declareRole(role: ColumnRole): void {
    this.role = role;
    this.roleDeclared = true;
    this.maxBytes = role === 'tag' ? this.limits.maxTagBytes : this.limits.maxStringFieldBytes;
  }

  /** Makes room for rows up to `row` (exclusive); writers call it once per bulk write, setters do it themselves. */
  reserve(rows: number): void {
    if (rows <= this.capacity) return;
    const capacity = grownCapacity(this.capacity, rows);
    this.valid = resized(this.valid, capacity);
    if (this.kind === 'float64' || this.kind === 'number') this.f64 = resized(this.f64, capacity);
    else if (this.kind === 'int64') {
      this.i64 = resized(this.i64, capacity);
      this.i64Words = wordsOf(this.i64);
    } else if (this.kind === 'bool') this.u8 = resized(this.u8, capacity);
    this.capacity = capacity;
  }

  private present(row: number): void {
    if (row >= this.capacity) this.reserve(row + 1);
    this.valid[row] = 1;
    this.count++;
    this.lastRow = row;
  }

  setFloat(row: number, value: number): void {
    this.present(row);
    this.f64[row] = value;
  }

  /** `value` must be a safe integer. */
  setInt(row: number, value: number): void {
    this.present(row);
    writeSafeInt(this.i64Words, row, value);
  }

  /** `value` must be within int64. */
  setBigInt(row: number, value: bigint): void {
    this.present(row);
    this.i64[row] = value;
  }

  setBool(row: number, value: boolean): void {
    this.present(row);
    this.u8[row] = value ? 1 : 0;
  }

  /** `number` kind: any finite number. Past 2^53 a number is a float that happens to be whole (integers arrive as bigints there). */
  setNumber(row: number, value: number): void {
    this.present(row);
    this.f64[row] = value;
    if (this.allIntegers && !Number.isSafeInteger(value)) this.allIntegers = false;
  }

  /** `number` kind: a value the wire marks as a float, whole or not (MessagePack 0xca, 0xcb). */
  setFloatNumber(row: number, value: number): void {
    this.present(row);
    this.f64[row] = value;
    this.allIntegers = false;
  }

  /** `number` kind: an integer that arrived as a bigint; refused outside int64. */
  setNumberBig(row: number, value: bigint): void {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new IngestError(
        'VALUE_OUT_OF_RANGE',
        `${this.label}: integer ${value} is outside the int64 range`,
        400,
        { table: this.table, column: this.name },
      );
    }
    this.present(row);
    const n = Number(value);
    this.f64[row] = n;
    if (!Number.isSafeInteger(n)) {
      this.bigs ??= new Map();
      this.bigs.set(row, value);
    }
  }

  setString(row: number, value: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit, so short strings need no byte count.
    if (value.length * 3 > this.maxBytes) {
      const bytes = Buffer.byteLength(value);
      if (bytes > this.maxBytes) {
        const limit = this.role === 'tag' ? 'maxTagBytes' : 'maxStringFieldBytes';
        throw new IngestError(
          'STRING_TOO_LONG',
          `${this.label}: value ${show(value)} is ${bytes} bytes, above the limit of ${this.maxBytes} (${limit})`,
          400,
          { table: this.table, column: this.name, limit: this.maxBytes },
        );
      }
    }
    this.present(row);
    const strings = this.strings;
    while (strings.length < row) strings.push(null);
    strings.push(value);
  }

  finish(rows: number): BatchColumn {
    const base = { name: this.name, role: this.role, roleDeclared: this.roleDeclared, origin: this.origin };
    if (this.kind === 'string') {
      const values = this.strings;
      while (values.length < rows) values.push(null);
      return { ...base, type: 'string', ...encodeStrings(values) };
    }
    this.reserve(rows);
    const valid = this.count === rows ? undefined : trimmed(this.valid, rows);
    switch (this.kind) {
      case 'float64':
        return { ...base, type: 'float64', values: trimmed(this.f64, rows), valid };
      case 'int64':
        return { ...base, type: 'int64', values: trimmed(this.i64, rows), valid };
      case 'bool':
        return { ...base, type: 'bool', values: trimmed(this.u8, rows), valid };
      default:
        return this.allIntegers
          ? { ...base, type: 'int64', values: this.integers(rows), valid }
          : { ...base, type: 'float64', values: trimmed(this.f64, rows), valid };
    }
  }

  private integers(rows: number): BigInt64Array {
    const values = new BigInt64Array(rows);
    const words = wordsOf(values);
    const source = this.f64;
    // Every double here is a safe integer: larger values are in `bigs` (their double is only a stand-in).
    for (let row = 0; row < rows; row++) {
      const n = source[row]!;
      if (n !== 0 && Number.isSafeInteger(n)) writeSafeInt(words, row, n);
    }
    if (this.bigs) for (const [row, value] of this.bigs) values[row] = value;
    return values;
  }
}

/** The rows of one table in one request. */
export class TableBuilder {
  rows = 0;
  private capacity = 0;
  private time = new BigInt64Array(0);
  private timeWords: Int32Array = new Int32Array(0);
  private readonly columns = new Map<string, ColumnBuilder>();

  constructor(
    readonly database: string,
    readonly table: string,
    private readonly limits: DecodeLimits,
  ) {}

  /** Appends `count` rows whose cells start missing; returns the index of the first. */
  addRows(count: number): number {
    const first = this.rows;
    const needed = first + count;
    if (needed > this.capacity) {
      this.capacity = grownCapacity(this.capacity, needed);
      this.time = resized(this.time, this.capacity);
      this.timeWords = wordsOf(this.time);
    }
    this.rows = needed;
    return first;
  }

  /** `micros` as toMicros returns it: a safe integer or a bigint. */
  setTime(row: number, micros: number | bigint): void {
    if (typeof micros === 'number') writeSafeInt(this.timeWords, row, micros);
    else this.time[row] = micros;
  }

  get(name: string): ColumnBuilder | undefined {
    return this.columns.get(name);
  }

  /**
   * The column `name`, created on first use. A kind other than the one it has is a TYPE_CONFLICT; a
   * declared role replaces an inferred one, and two declared roles that differ conflict.
   */
  column(
    name: string,
    kind: ColumnKind,
    role: ColumnRole,
    roleDeclared: boolean,
    origin: () => string,
  ): ColumnBuilder {
    const existing = this.columns.get(name);
    if (existing === undefined) return this.create(name, kind, role, roleDeclared, origin());
    if (existing.kind !== kind) {
      throw new IngestError(
        'TYPE_CONFLICT',
        `${existing.label} holds ${kindName(kind)} values here but ${kindName(existing.kind)} values at ${existing.origin}`,
        400,
        { table: this.table, column: name },
      );
    }
    if (existing.role !== role) {
      if (roleDeclared && existing.roleDeclared) {
        throw new IngestError(
          'TYPE_CONFLICT',
          `column ${name} of table ${this.table} is a ${role} here but a ${existing.role} at ${existing.origin}`,
          400,
          { table: this.table, column: name },
        );
      }
      if (roleDeclared) existing.declareRole(role);
    } else if (roleDeclared && !existing.roleDeclared) existing.declareRole(role);
    return existing;
  }

  private create(
    name: string,
    kind: ColumnKind,
    role: ColumnRole,
    roleDeclared: boolean,
    origin: string,
  ): ColumnBuilder {
    assertColumnName(name, this.table);
    if (this.columns.size >= this.limits.maxColumns) {
      throw new IngestError(
        'TOO_MANY_COLUMNS',
        `table ${this.table}: column ${name} would be column ${this.columns.size + 1}, above the limit of ` +
          `${this.limits.maxColumns} columns per table in one request (maxColumns)`,
        400,
        { table: this.table, limit: this.limits.maxColumns },
      );
    }
    const column = new ColumnBuilder(this.table, name, kind, role, roleDeclared, origin, this.limits);
    column.reserve(this.capacity);
    this.columns.set(name, column);
    return column;
  }

  finish(): TableBatch {
    const rows = this.rows;
    return {
      database: this.database,
      table: this.table,
      rows,
      time: trimmed(this.time, rows),
      columns: [...this.columns.values()].map((column) => column.finish(rows)),
    };
  }
}

function kindName(kind: ColumnKind): string {
  return kind === 'number' ? 'numeric' : kind;
}

/** The tables of one request, in order of first appearance. */
export class BatchBuilder {
  private readonly tables = new Map<string, TableBuilder>();

  constructor(
    readonly database: string,
    private readonly limits: DecodeLimits,
  ) {
    paths.assertName('database', database);
  }

  table(name: string): TableBuilder {
    let table = this.tables.get(name);
    if (table === undefined) {
      paths.assertName('table', name);
      table = new TableBuilder(this.database, name, this.limits);
      this.tables.set(name, table);
    }
    return table;
  }

  finish(): TableBatch[] {
    const batches: TableBatch[] = [];
    for (const table of this.tables.values()) if (table.rows > 0) batches.push(table.finish());
    return batches;
  }
}
