/**
 * How each DuckDB column type reads for the JSON and CSV answers (and for Arrow's text columns).
 * Flat scalar columns read straight from the chunk's memory (vectors.ts); UUID, ENUM, INTERVAL,
 * 128-bit integers and nested types go through the API's values, converted recursively.
 *
 * JSON: booleans, numbers (NaN/±Infinity → null; 64-bit and wider integers beyond ±(2⁵³ − 1) →
 * decimal strings; DECIMAL → nearest double while it reads back as the same decimal, else its
 * exact text), strings for everything temporal or textual, BLOB
 * as base64, LIST/ARRAY → arrays, STRUCT → objects, MAP → objects keyed by the keys' text (as
 * DuckDB's to_json does). INTERVAL is DuckDB's own text (`1 year 2 months 3 days 04:05:06.789`),
 * the form `CAST(… AS VARCHAR)` gives, so it reads back in DuckDB unchanged.
 * Text (CSV fields): exact decimal text for every number, `NaN`/`inf`/`-inf`, `true`/`false`,
 * nested values as their JSON text.
 */
import {
  type DuckDBArrayValue,
  type DuckDBBlobValue,
  type DuckDBDataChunk,
  type DuckDBDateValue,
  type DuckDBDecimalValue,
  type DuckDBListValue,
  type DuckDBMapValue,
  type DuckDBStructValue,
  type DuckDBTimestampMillisecondsValue,
  type DuckDBTimestampNanosecondsValue,
  type DuckDBTimestampSecondsValue,
  type DuckDBTimestampTZValue,
  type DuckDBTimestampValue,
  type DuckDBTimeValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
} from '@duckdb/node-api';
import { decimalText, jsonDecimal } from '../../../lib/decimal/index.js';
import {
  base64Text,
  csvField,
  dateText,
  float32Number,
  floatText,
  jsonBigInteger,
  jsonFloat,
  TimestampFormatter,
  type TimestampUnit,
  timeText,
} from './text.js';
import {
  columnValidity,
  decimalValues,
  Int64Values,
  isValid,
  rawColumn,
  StringValues,
  viewOf,
} from './vectors.js';

/** One chunk's column, read row by row; only asked about rows that are not NULL. */
export interface RowReader {
  json(row: number): unknown;
  /** Unquoted text: what a CSV field or an Arrow text column holds. */
  text(row: number): string;
}

export interface ColumnReader {
  open(chunk: DuckDBDataChunk, column: number): RowReader;
  /** Whether the text can hold CSV separators or be empty (strings, nested values). */
  readonly quoted: boolean;
}

/** The column's JSON values, one per row of the chunk (null for NULL). */
export function jsonColumn(reader: ColumnReader, chunk: DuckDBDataChunk, column: number): unknown[] {
  const validity = columnValidity(chunk, column);
  const rows = reader.open(chunk, column);
  const values = new Array<unknown>(chunk.rowCount);
  for (let row = 0; row < values.length; row++) values[row] = isValid(validity, row) ? rows.json(row) : null;
  return values;
}

/** The column's CSV fields, quoted where needed ('' for NULL). */
export function csvColumn(reader: ColumnReader, chunk: DuckDBDataChunk, column: number): string[] {
  const validity = columnValidity(chunk, column);
  const rows = reader.open(chunk, column);
  const field = reader.quoted ? (row: number) => csvField(rows.text(row)) : (row: number) => rows.text(row);
  const fields = new Array<string>(chunk.rowCount);
  for (let row = 0; row < fields.length; row++) fields[row] = isValid(validity, row) ? field(row) : '';
  return fields;
}

type NumberArray = new (
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
) => { readonly [row: number]: number };

/** Small integers: the same number in JSON and text. */
function smallIntegers(ArrayType: NumberArray, bytes: number): ColumnReader {
  return {
    quoted: false,
    open(chunk, column) {
      const values = viewOf(rawColumn(chunk, column, bytes), ArrayType);
      return { json: (row) => values[row], text: (row) => String(values[row]) };
    },
  };
}

function bigIntegers(signed: boolean): ColumnReader {
  return {
    quoted: false,
    open(chunk, column) {
      const values = new Int64Values(rawColumn(chunk, column, 8), signed);
      return {
        json(row) {
          const value = values.at(row);
          return typeof value === 'number' ? value : jsonBigInteger(value);
        },
        text: (row) => String(values.at(row)),
      };
    },
  };
}

function floats(single: boolean): ColumnReader {
  const ArrayType: NumberArray = single ? Float32Array : Float64Array;
  const exact = single ? float32Number : (value: number) => value;
  return {
    quoted: false,
    open(chunk, column) {
      const values = viewOf(rawColumn(chunk, column, single ? 4 : 8), ArrayType);
      return { json: (row) => jsonFloat(exact(values[row]!)), text: (row) => floatText(exact(values[row]!)) };
    },
  };
}

function decimals(width: number, scale: number): ColumnReader {
  return {
    quoted: false,
    open(chunk, column) {
      const values = decimalValues(chunk, column, width);
      return {
        json: (row) => jsonDecimal(values.at(row), scale),
        text: (row) => decimalText(values.at(row), scale),
      };
    },
  };
}

/** Temporal types read as the same string in JSON and text. */
function temporal(open: (chunk: DuckDBDataChunk, column: number) => (row: number) => string): ColumnReader {
  return {
    quoted: false,
    open(chunk, column) {
      const text = open(chunk, column);
      return { json: text, text };
    },
  };
}

function timestamps(unit: TimestampUnit): ColumnReader {
  return temporal((chunk, column) => {
    const values = new Int64Values(rawColumn(chunk, column, 8), true);
    const formatter = new TimestampFormatter(unit);
    return (row) => formatter.text(values.at(row));
  });
}

const dates = temporal((chunk, column) => {
  const days = viewOf(rawColumn(chunk, column, 4), Int32Array);
  return (row) => dateText(days[row]!);
});

const times = temporal((chunk, column) => {
  const micros = new Int64Values(rawColumn(chunk, column, 8), true);
  return (row) => timeText(Number(micros.at(row)));
});

const booleans: ColumnReader = {
  quoted: false,
  open(chunk, column) {
    // DuckDB's bool is one byte on every platform it ships for.
    const bytes = rawColumn(chunk, column, 1).data;
    return { json: (row) => bytes[row] !== 0, text: (row) => (bytes[row] !== 0 ? 'true' : 'false') };
  },
};

const varchars: ColumnReader = {
  quoted: true,
  open(chunk, column) {
    const strings = new StringValues(rawColumn(chunk, column, 16));
    const text = (row: number) => strings.text(row);
    return { json: text, text };
  },
};

const blobs: ColumnReader = {
  quoted: false,
  open(chunk, column) {
    const strings = new StringValues(rawColumn(chunk, column, 16));
    const text = (row: number) => base64Text(strings.bytes(row));
    return { json: text, text };
  },
};

/** Types read through the API's values (one DuckDBValue per row, converted recursively). */
function throughValues(type: DuckDBType): ColumnReader {
  const convert = valueConverter(type);
  return {
    quoted: convert.quoted,
    open(chunk, column) {
      const vector = chunk.getColumnVector(column);
      return {
        json: (row) => convert.json(vector.getItem(row)),
        text: (row) => convert.text(vector.getItem(row)),
      };
    },
  };
}

export function columnReader(type: DuckDBType): ColumnReader {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return booleans;
    case DuckDBTypeId.TINYINT:
      return smallIntegers(Int8Array, 1);
    case DuckDBTypeId.SMALLINT:
      return smallIntegers(Int16Array, 2);
    case DuckDBTypeId.INTEGER:
      return smallIntegers(Int32Array, 4);
    case DuckDBTypeId.UTINYINT:
      return smallIntegers(Uint8Array, 1);
    case DuckDBTypeId.USMALLINT:
      return smallIntegers(Uint16Array, 2);
    case DuckDBTypeId.UINTEGER:
      return smallIntegers(Uint32Array, 4);
    case DuckDBTypeId.BIGINT:
      return bigIntegers(true);
    case DuckDBTypeId.UBIGINT:
      return bigIntegers(false);
    case DuckDBTypeId.FLOAT:
      return floats(true);
    case DuckDBTypeId.DOUBLE:
      return floats(false);
    case DuckDBTypeId.DECIMAL:
      return decimals(type.width, type.scale);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestamps('us');
    case DuckDBTypeId.TIMESTAMP_S:
      return timestamps('s');
    case DuckDBTypeId.TIMESTAMP_MS:
      return timestamps('ms');
    case DuckDBTypeId.TIMESTAMP_NS:
      return timestamps('ns');
    case DuckDBTypeId.DATE:
      return dates;
    case DuckDBTypeId.TIME:
      return times;
    case DuckDBTypeId.VARCHAR:
      return varchars;
    case DuckDBTypeId.BLOB:
      return blobs;
    default:
      return throughValues(type);
  }
}

/** JSON and text of one API value (null inside nested values stays null). */
interface ValueConverter {
  json(value: DuckDBValue): unknown;
  text(value: DuckDBValue): string;
  readonly quoted: boolean;
}

/** Scalars whose JSON form is their text. */
function textual(text: (value: DuckDBValue) => string, quoted = false): ValueConverter {
  return { json: (value) => (value === null ? null : text(value)), text, quoted };
}

/** Nested values: JSON structure, and its JSON text as text. */
function nested(json: (value: DuckDBValue) => unknown): ValueConverter {
  return {
    json: (value) => (value === null ? null : json(value)),
    text: (value) => JSON.stringify(json(value)),
    quoted: true,
  };
}

function timestampValues(unit: TimestampUnit, stored: (value: DuckDBValue) => bigint): ValueConverter {
  const formatter = new TimestampFormatter(unit);
  return textual((value) => formatter.text(stored(value)));
}

function valueConverter(type: DuckDBType): ValueConverter {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return { json: (value) => value, text: (value) => String(value), quoted: false };
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return {
        json: (value) => (value === null ? null : jsonBigInteger(value as bigint)),
        text: (value) => String(value),
        quoted: false,
      };
    case DuckDBTypeId.FLOAT:
      return {
        json: (value) => (value === null ? null : jsonFloat(float32Number(value as number))),
        text: (value) => floatText(float32Number(value as number)),
        quoted: false,
      };
    case DuckDBTypeId.DOUBLE:
      return {
        json: (value) => (value === null ? null : jsonFloat(value as number)),
        text: (value) => floatText(value as number),
        quoted: false,
      };
    case DuckDBTypeId.DECIMAL:
      return {
        json: (value) =>
          value === null ? null : jsonDecimal((value as DuckDBDecimalValue).value, type.scale),
        text: (value) => decimalText((value as DuckDBDecimalValue).value, type.scale),
        quoted: false,
      };
    case DuckDBTypeId.TIMESTAMP:
      return timestampValues('us', (value) => (value as DuckDBTimestampValue).micros);
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampValues('us', (value) => (value as DuckDBTimestampTZValue).micros);
    case DuckDBTypeId.TIMESTAMP_S:
      return timestampValues('s', (value) => (value as DuckDBTimestampSecondsValue).seconds);
    case DuckDBTypeId.TIMESTAMP_MS:
      return timestampValues('ms', (value) => (value as DuckDBTimestampMillisecondsValue).millis);
    case DuckDBTypeId.TIMESTAMP_NS:
      return timestampValues('ns', (value) => (value as DuckDBTimestampNanosecondsValue).nanos);
    case DuckDBTypeId.DATE:
      return textual((value) => dateText((value as DuckDBDateValue).days));
    case DuckDBTypeId.TIME:
      return textual((value) => timeText(Number((value as DuckDBTimeValue).micros)));
    case DuckDBTypeId.BLOB:
      return textual((value) => base64Text((value as DuckDBBlobValue).bytes));
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return textual((value) => value as string, true);
    case DuckDBTypeId.UUID:
    case DuckDBTypeId.INTERVAL:
      return textual((value) => String(value));
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const item = valueConverter(type.valueType);
      return nested((value) => (value as DuckDBListValue | DuckDBArrayValue).items.map((v) => item.json(v)));
    }
    case DuckDBTypeId.STRUCT: {
      const entries = type.entryNames.map((name, i) => [name, valueConverter(type.entryTypes[i]!)] as const);
      return nested((value) => {
        const fields = (value as DuckDBStructValue).entries;
        const object: Record<string, unknown> = {};
        for (const [name, entry] of entries) object[name] = entry.json(fields[name] ?? null);
        return object;
      });
    }
    case DuckDBTypeId.MAP: {
      const key = valueConverter(type.keyType);
      const item = valueConverter(type.valueType);
      return nested((value) => {
        const object: Record<string, unknown> = {};
        for (const entry of (value as DuckDBMapValue).entries) {
          object[key.text(entry.key)] = item.json(entry.value);
        }
        return object;
      });
    }
    default:
      // UNION, BIT, TIME_TZ, TIME_NS, BIGNUM, VARIANT, GEOMETRY…: the API's own text.
      return textual((value) => String(value), true);
  }
}
