/**
 * Arrow and Parquet imports: the first pass checks every batch (schema, time values, unsigned
 * integers that int64 cannot hold, string lengths and UTF-8) before anything is sent; the second
 * reads the file again and cuts it into tables of `batchSize` rows whose time is Timestamp(µs).
 */
import { isUtf8 } from 'node:buffer';
import {
  type Data,
  type DataType,
  DataType as DT,
  type RecordBatch,
  TimeUnit,
  type Vector,
} from 'apache-arrow';
import { CliError } from '../errors.js';
import { CorruptFileError, recordBatches } from './arrow-files.js';
import { arrowTable, timeData } from './columns.js';
import { planHeader } from './header.js';
import { MAX_STRING_BYTES, MAX_TAG_BYTES } from './names.js';
import {
  type ColumnType,
  type FileColumn,
  type ImportOptions,
  type Outgoing,
  type PreparedFile,
  type Role,
  TimeRange,
} from './plan.js';
import type { Problems } from './problems.js';
import { type Precision, TimeError, TimeReader, timestampMicros } from './time.js';

type TimeKind = { kind: 'timestamp'; unit: Precision } | { kind: 'integer' } | { kind: 'text' };

interface ArrowLayout {
  timeIndex: number;
  time: TimeKind;
  columns: { index: number; name: string; type: ColumnType; role: Role }[];
}

const UNITS: Record<TimeUnit, Precision> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};
const INT64_MAX = 2n ** 63n - 1n;
const FLOAT_EXACT = 2n ** 53n;

export async function prepareArrow(
  format: 'arrow' | 'parquet',
  path: string,
  options: ImportOptions,
  problems: Problems,
): Promise<PreparedFile | undefined> {
  let layout: ArrowLayout | undefined;
  let times: TimeColumn | undefined;
  let checks: ColumnCheck[] = [];
  let rows = 0;
  try {
    for await (const batch of recordBatches(format, path, options.batchSize)) {
      if (!times) {
        layout = layoutOf(batch, options, problems);
        if (!layout) return undefined;
        times = new TimeColumn(layout.time, options.precision);
        checks = layout.columns.map((c) => new ColumnCheck(c.name, c.type, c.role));
      }
      const at = rows;
      const report = (row: number, message: string) => problems.add(`row ${row + 1}: ${message}`);
      times.read(batch.getChildAt(layout!.timeIndex)!, at, new BigInt64Array(batch.numRows), report);
      for (const [i, c] of layout!.columns.entries())
        checks[i]!.check(batch.getChildAt(c.index)!, at, report);
      rows += batch.numRows;
    }
  } catch (error) {
    if (!(error instanceof CorruptFileError)) throw error;
    problems.add(error.message);
    return undefined;
  }
  if (!layout || !times) {
    problems.add('the file holds no rows');
    return undefined;
  }
  if (problems.any) return undefined;
  const found = layout;
  const columns: FileColumn[] = found.columns.map((c, i) => ({ ...c, unsafeInt: checks[i]!.unsafeInt }));
  return {
    summary: {
      tables: [{ table: options.table, columns, rows }],
      rows,
      time: times.describe(),
      minTime: times.range.min,
      maxTime: times.range.max,
      notes: [],
    },
    batches: () => arrowBatches(format, path, found, rows, options),
  };
}

async function* arrowBatches(
  format: 'arrow' | 'parquet',
  path: string,
  layout: ArrowLayout,
  expected: number,
  options: ImportOptions,
): AsyncGenerator<Outgoing> {
  const changed = () => new CliError(`${path} changed while it was being imported`);
  const tags = options.tags ? layout.columns.filter((c) => c.role === 'tag').map((c) => c.name) : undefined;
  const times = new TimeColumn(layout.time, options.precision);
  let rows = 0;
  for await (const batch of recordBatches(format, path, options.batchSize)) {
    for (let start = 0; start < batch.numRows; start += options.batchSize) {
      const end = Math.min(batch.numRows, start + options.batchSize);
      const slice = start === 0 && end === batch.numRows ? batch : batch.slice(start, end);
      const micros = new BigInt64Array(slice.numRows);
      times.read(slice.getChildAt(layout.timeIndex)!, rows, micros, () => {
        throw changed();
      });
      const columns = layout.columns.map((c) => ({ name: c.name, data: slice.getChildAt(c.index)! }));
      const data = arrowTable(timeData(micros, slice.numRows), columns);
      yield { kind: 'arrow', table: options.table, data, tags, rows: slice.numRows };
      rows += slice.numRows;
    }
  }
  if (rows !== expected) throw changed();
}

/** The file's schema against the options; undefined (with problems) when it cannot be imported. */
function layoutOf(batch: RecordBatch, options: ImportOptions, problems: Problems): ArrowLayout | undefined {
  const fields = batch.schema.fields;
  const plan = planHeader(
    fields.map((f) => f.name),
    options,
    problems,
  );
  if (!plan) return undefined;
  const timeType = fields[plan.timeIndex]!.type;
  const time = timeKindOf(timeType);
  if (!time) {
    problems.add(
      `the time column ${options.timeColumn} has Arrow type ${timeType}: use a Timestamp, an integer epoch or RFC 3339 strings`,
    );
  }
  const columns: ArrowLayout['columns'] = [];
  for (const column of plan.columns) {
    const type = weirType(fields[column.index]!.type);
    if (!type) {
      problems.add(
        `column ${column.name} has Arrow type ${fields[column.index]!.type}, which Weir does not store: ` +
          'use floats, integers, booleans or strings',
      );
      continue;
    }
    if (column.role === 'tag' && type !== 'string') {
      problems.add(`--tags names ${column.name}, a ${type} column; tags are strings`);
    }
    columns.push({
      index: column.index,
      name: column.name,
      type,
      role: column.role ?? (type === 'string' ? 'tag' : 'field'),
    });
  }
  return time && !problems.any ? { timeIndex: plan.timeIndex, time, columns } : undefined;
}

function isString(type: DataType): boolean {
  if (DT.isDictionary(type)) return isString(type.dictionary);
  return DT.isUtf8(type) || DT.isLargeUtf8(type);
}

function timeKindOf(type: DataType): TimeKind | undefined {
  if (DT.isTimestamp(type)) return { kind: 'timestamp', unit: UNITS[type.unit] };
  if (DT.isInt(type)) return { kind: 'integer' };
  if (isString(type)) return { kind: 'text' };
  return undefined;
}

function weirType(type: DataType): ColumnType | undefined {
  if (DT.isFloat(type)) return 'float64';
  if (DT.isInt(type)) return 'int64';
  if (DT.isBool(type)) return 'bool';
  if (isString(type)) return 'string';
  return undefined;
}

/** Reads a time column into microseconds, reporting each value Weir cannot store. */
class TimeColumn {
  readonly range = new TimeRange();
  private readonly reader: TimeReader;

  constructor(
    private readonly time: TimeKind,
    precision: Precision | undefined,
  ) {
    this.reader = new TimeReader(precision);
  }

  describe(): string {
    return this.time.kind === 'timestamp' ? `Arrow timestamps (${this.time.unit})` : this.reader.describe();
  }

  read(vector: Vector, firstRow: number, out: BigInt64Array, report: (row: number, message: string) => void) {
    const time = this.time;
    const values = time.kind === 'text' ? undefined : flatValues(vector);
    for (let i = 0; i < vector.length; i++) {
      const row = firstRow + i;
      if (!vector.isValid(i)) {
        report(row, 'the time is null');
        continue;
      }
      try {
        const micros =
          time.kind === 'timestamp'
            ? timestampMicros(BigInt(values![i]!), time.unit)
            : time.kind === 'integer'
              ? this.reader.integer(BigInt(values![i]!), `row ${row + 1}`)
              : this.reader.text(String(vector.get(i)), `row ${row + 1}`);
        out[i] = micros;
        this.range.add(micros);
      } catch (error) {
        if (!(error instanceof TimeError)) throw error;
        report(row, `time ${error.message}`);
      }
    }
  }
}

/** The values of a fixed-width column across its chunks, each starting at its first row. */
function flatValues(vector: Vector): ArrayLike<number | bigint> {
  if (vector.data.length === 1) return vector.data[0]!.values as ArrayLike<number | bigint>;
  const all: (number | bigint)[] = [];
  for (const data of vector.data) {
    const values = data.values as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++) all.push(values[i]!);
  }
  return all;
}

/** What the server would refuse in a column: uint64 beyond int64, strings too long or not UTF-8. */
class ColumnCheck {
  unsafeInt = false;

  constructor(
    private readonly name: string,
    private readonly type: ColumnType,
    private readonly role: Role,
  ) {}

  check(vector: Vector, firstRow: number, report: (row: number, message: string) => void): void {
    if (this.type === 'int64') this.checkInts(vector, firstRow, report);
    if (this.type !== 'string') return;
    const limit = this.role === 'tag' ? MAX_TAG_BYTES : MAX_STRING_BYTES;
    let at = firstRow;
    for (const data of vector.data) {
      // A dictionary's values are checked once, where they are stored.
      const strings = data.dictionary ? data.dictionary.data : [data];
      for (const chunk of strings) {
        const problem = stringProblem(chunk, limit);
        if (problem)
          report(data.dictionary ? at : at + problem.row, `column ${this.name}: ${problem.message}`);
      }
      at += data.length;
    }
  }

  private checkInts(vector: Vector, firstRow: number, report: (row: number, message: string) => void): void {
    const values = flatValues(vector);
    if (typeof values[0] !== 'bigint') return;
    const unsigned = DT.isInt(vector.type) && !vector.type.isSigned;
    for (let i = 0; i < vector.length; i++) {
      const value = values[i] as bigint;
      if (value > FLOAT_EXACT || value < -FLOAT_EXACT) this.unsafeInt = true;
      if (unsigned && value > INT64_MAX && vector.isValid(i)) {
        report(firstRow + i, `column ${this.name}: uint64 ${value} is beyond the int64 range Weir stores`);
      }
    }
  }
}

/** The first string of a UTF-8 chunk above `limit` bytes, or invalid UTF-8 in it. */
function stringProblem(data: Data, limit: number): { row: number; message: string } | undefined {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const bytes = data.values as Uint8Array;
  for (let i = 0; i < data.length; i++) {
    const size = Number(offsets[i + 1]!) - Number(offsets[i]!);
    if (size > limit)
      return { row: i, message: `a value of ${size} bytes, above the server's limit of ${limit}` };
  }
  const start = Number(offsets[0]!);
  const end = Number(offsets[data.length]!);
  if (!isUtf8(bytes.subarray(start, end))) return { row: 0, message: 'strings that are not valid UTF-8' };
  return undefined;
}
