import { type DuckDBConnection, DuckDBInstance, DuckDBMaterializedResult } from '@duckdb/node-api';
import { MessageHeader, MessageReader, type Table, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arrowStream,
  csvStream,
  type ResultLimits,
  ResultTooLargeError,
  readJsonRows,
} from '../../services/query/results/index.js';

const UNLIMITED: ResultLimits = { maxRows: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };

interface TypeCase {
  /** DuckDB type of the column. */
  type: string;
  /** SQL literal cast to `type`. */
  literal: string;
  json: unknown;
  csv: string;
  /** Arrow type's text, and the value read back (typed-array element for 64-bit and temporal types). */
  arrowType: string;
  arrow: unknown;
}

const CASES: TypeCase[] = [
  { type: 'BOOLEAN', literal: 'true', json: true, csv: 'true', arrowType: 'Bool', arrow: true },
  { type: 'TINYINT', literal: '-128', json: -128, csv: '-128', arrowType: 'Int8', arrow: -128 },
  { type: 'SMALLINT', literal: '-32768', json: -32768, csv: '-32768', arrowType: 'Int16', arrow: -32768 },
  {
    type: 'INTEGER',
    literal: '2147483647',
    json: 2147483647,
    csv: '2147483647',
    arrowType: 'Int32',
    arrow: 2147483647,
  },
  {
    type: 'BIGINT',
    literal: '-9007199254740991',
    json: -9007199254740991,
    csv: '-9007199254740991',
    arrowType: 'Int64',
    arrow: -9007199254740991n,
  },
  {
    type: 'BIGINT',
    literal: '9007199254740993',
    json: '9007199254740993',
    csv: '9007199254740993',
    arrowType: 'Int64',
    arrow: 9007199254740993n,
  },
  {
    type: 'BIGINT',
    literal: '-9223372036854775808',
    json: '-9223372036854775808',
    csv: '-9223372036854775808',
    arrowType: 'Int64',
    arrow: -9223372036854775808n,
  },
  { type: 'UTINYINT', literal: '255', json: 255, csv: '255', arrowType: 'Uint8', arrow: 255 },
  { type: 'USMALLINT', literal: '65535', json: 65535, csv: '65535', arrowType: 'Uint16', arrow: 65535 },
  {
    type: 'UINTEGER',
    literal: '4294967295',
    json: 4294967295,
    csv: '4294967295',
    arrowType: 'Uint32',
    arrow: 4294967295,
  },
  { type: 'UBIGINT', literal: '42', json: 42, csv: '42', arrowType: 'Uint64', arrow: 42n },
  {
    type: 'UBIGINT',
    literal: '18446744073709551615',
    json: '18446744073709551615',
    csv: '18446744073709551615',
    arrowType: 'Uint64',
    arrow: 18446744073709551615n,
  },
  { type: 'HUGEINT', literal: '-42', json: -42, csv: '-42', arrowType: 'Utf8', arrow: '-42' },
  {
    type: 'HUGEINT',
    literal: '-170141183460469231731687303715884105728',
    json: '-170141183460469231731687303715884105728',
    csv: '-170141183460469231731687303715884105728',
    arrowType: 'Utf8',
    arrow: '-170141183460469231731687303715884105728',
  },
  {
    type: 'UHUGEINT',
    literal: '340282366920938463463374607431768211455',
    json: '340282366920938463463374607431768211455',
    csv: '340282366920938463463374607431768211455',
    arrowType: 'Utf8',
    arrow: '340282366920938463463374607431768211455',
  },
  { type: 'FLOAT', literal: '0.1', json: 0.1, csv: '0.1', arrowType: 'Float32', arrow: Math.fround(0.1) },
  { type: 'FLOAT', literal: "'-inf'", json: null, csv: '-inf', arrowType: 'Float32', arrow: -Infinity },
  { type: 'DOUBLE', literal: '1.5', json: 1.5, csv: '1.5', arrowType: 'Float64', arrow: 1.5 },
  { type: 'DOUBLE', literal: "'NaN'", json: null, csv: 'NaN', arrowType: 'Float64', arrow: Number.NaN },
  { type: 'DOUBLE', literal: "'inf'", json: null, csv: 'inf', arrowType: 'Float64', arrow: Infinity },
  { type: 'DECIMAL(4,2)', literal: '1.50', json: 1.5, csv: '1.50', arrowType: 'Float64', arrow: 1.5 },
  {
    type: 'DECIMAL(9,4)',
    literal: '-12345.6789',
    json: -12345.6789,
    csv: '-12345.6789',
    arrowType: 'Float64',
    arrow: -12345.6789,
  },
  {
    type: 'DECIMAL(18,3)',
    literal: '-0.050',
    json: -0.05,
    csv: '-0.050',
    arrowType: 'Float64',
    arrow: -0.05,
  },
  {
    type: 'DECIMAL(38,10)',
    literal: '1234567890123456789012345678.0123456789',
    json: '1234567890123456789012345678.0123456789',
    csv: '1234567890123456789012345678.0123456789',
    arrowType: 'Float64',
    arrow: Number('1234567890123456789012345678.0123456789'),
  },
  { type: 'DECIMAL(38,2)', literal: '-7.25', json: -7.25, csv: '-7.25', arrowType: 'Float64', arrow: -7.25 },
  // Beyond 15 digits: a number while the double reads back as the same decimal, else exact text.
  {
    type: 'DECIMAL(38,3)',
    literal: '-1000000000000.000',
    json: -1e12,
    csv: '-1000000000000.000',
    arrowType: 'Float64',
    arrow: -1e12,
  },
  {
    type: 'DECIMAL(18,0)',
    literal: '999999999999999999',
    json: '999999999999999999',
    csv: '999999999999999999',
    arrowType: 'Float64',
    arrow: 1e18,
  },
  {
    type: 'DECIMAL(18,2)',
    literal: '90071992547409.93',
    json: '90071992547409.93',
    csv: '90071992547409.93',
    arrowType: 'Float64',
    arrow: Number('90071992547409.93'),
  },
  {
    type: 'DECIMAL(38,20)',
    literal: '0.12345678901234567890',
    json: '0.12345678901234567890',
    csv: '0.12345678901234567890',
    arrowType: 'Float64',
    arrow: Number('0.12345678901234567890'),
  },
  { type: 'VARCHAR', literal: "'plain'", json: 'plain', csv: 'plain', arrowType: 'Utf8', arrow: 'plain' },
  {
    type: 'VARCHAR',
    literal: `'héllo, "world"' || chr(10) || 'next line is longer than twelve bytes'`,
    json: 'héllo, "world"\nnext line is longer than twelve bytes',
    csv: '"héllo, ""world""\nnext line is longer than twelve bytes"',
    arrowType: 'Utf8',
    arrow: 'héllo, "world"\nnext line is longer than twelve bytes',
  },
  {
    type: 'VARCHAR',
    literal: `'cr' || chr(13)`,
    json: 'cr\r',
    csv: '"cr\r"',
    arrowType: 'Utf8',
    arrow: 'cr\r',
  },
  { type: 'VARCHAR', literal: "''", json: '', csv: '""', arrowType: 'Utf8', arrow: '' },
  {
    type: 'BLOB',
    literal: "'\\xAA\\xBB\\x00'",
    json: 'qrsA',
    csv: 'qrsA',
    arrowType: 'Binary',
    arrow: [0xaa, 0xbb, 0],
  },
  {
    type: 'UUID',
    literal: "'6f1c0d5e-8a8b-4c8e-9a1e-3f0a2b4c5d6e'",
    json: '6f1c0d5e-8a8b-4c8e-9a1e-3f0a2b4c5d6e',
    csv: '6f1c0d5e-8a8b-4c8e-9a1e-3f0a2b4c5d6e',
    arrowType: 'Utf8',
    arrow: '6f1c0d5e-8a8b-4c8e-9a1e-3f0a2b4c5d6e',
  },
  {
    type: "ENUM('low', 'high, really')",
    literal: "'high, really'",
    json: 'high, really',
    csv: '"high, really"',
    arrowType: 'Utf8',
    arrow: 'high, really',
  },
  {
    type: 'DATE',
    literal: "'2026-03-01'",
    json: '2026-03-01',
    csv: '2026-03-01',
    arrowType: 'Date32<DAY>',
    arrow: 20513,
  },
  {
    type: 'DATE',
    literal: "'0044-03-15 (BC)'",
    json: '-000043-03-15',
    csv: '-000043-03-15',
    arrowType: 'Date32<DAY>',
    arrow: -735160,
  },
  {
    type: 'DATE',
    literal: "'infinity'",
    json: 'infinity',
    csv: 'infinity',
    arrowType: 'Date32<DAY>',
    arrow: 2147483647,
  },
  {
    type: 'TIME',
    literal: "'23:59:59.123456'",
    json: '23:59:59.123456',
    csv: '23:59:59.123456',
    arrowType: 'Time64<MICROSECOND>',
    arrow: 86399123456n,
  },
  {
    type: 'TIMESTAMP',
    literal: "'2026-03-01 00:00:00'",
    json: '2026-03-01T00:00:00.000000Z',
    csv: '2026-03-01T00:00:00.000000Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 1772323200000000n,
  },
  {
    type: 'TIMESTAMP',
    literal: "'1969-12-31 23:59:59.999999'",
    json: '1969-12-31T23:59:59.999999Z',
    csv: '1969-12-31T23:59:59.999999Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: -1n,
  },
  {
    type: 'TIMESTAMP',
    literal: "'294247-01-10 04:00:54.775806'",
    json: '+294247-01-10T04:00:54.775806Z',
    csv: '+294247-01-10T04:00:54.775806Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 9223372036854775806n,
  },
  {
    type: 'TIMESTAMP',
    literal: "'infinity'",
    json: 'infinity',
    csv: 'infinity',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 9223372036854775807n,
  },
  {
    type: 'TIMESTAMP',
    literal: "'-infinity'",
    json: '-infinity',
    csv: '-infinity',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: -9223372036854775807n,
  },
  {
    type: 'TIMESTAMP_S',
    literal: "'2026-03-01 12:34:56'",
    json: '2026-03-01T12:34:56.000000Z',
    csv: '2026-03-01T12:34:56.000000Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 1772368496000000n,
  },
  {
    type: 'TIMESTAMP_MS',
    literal: "'2026-03-01 12:34:56.789'",
    json: '2026-03-01T12:34:56.789000Z',
    csv: '2026-03-01T12:34:56.789000Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 1772368496789000n,
  },
  {
    type: 'TIMESTAMP_NS',
    literal: "'2026-03-01 12:34:56.123456789'",
    json: '2026-03-01T12:34:56.123456Z',
    csv: '2026-03-01T12:34:56.123456Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 1772368496123456n,
  },
  {
    type: 'TIMESTAMP_NS',
    literal: "'1969-12-31 23:59:59.9999995'",
    json: '1969-12-31T23:59:59.999999Z',
    csv: '1969-12-31T23:59:59.999999Z',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: -1n,
  },
  {
    type: 'TIMESTAMP_NS',
    literal: "'infinity'",
    json: 'infinity',
    csv: 'infinity',
    arrowType: 'Timestamp<MICROSECOND>',
    arrow: 9223372036854775807n,
  },
  {
    type: 'TIMESTAMPTZ',
    literal: "'2026-03-01 01:00:00.5+01'",
    json: '2026-03-01T00:00:00.500000Z',
    csv: '2026-03-01T00:00:00.500000Z',
    arrowType: 'Timestamp<MICROSECOND, UTC>',
    arrow: 1772323200500000n,
  },
  {
    // DuckDB's own interval text, as CAST(… AS VARCHAR) writes it.
    type: 'INTERVAL',
    literal: "'1 year 2 months 3 days 04:05:06.789'",
    json: '1 year 2 months 3 days 04:05:06.789',
    csv: '1 year 2 months 3 days 04:05:06.789',
    arrowType: 'Utf8',
    arrow: '1 year 2 months 3 days 04:05:06.789',
  },
  {
    type: 'INTEGER[]',
    literal: '[1, NULL, 3]',
    json: [1, null, 3],
    csv: '"[1,null,3]"',
    arrowType: 'Utf8',
    arrow: '[1,null,3]',
  },
  {
    type: 'TIMESTAMP[]',
    literal: "['2026-03-01 00:00:00']",
    json: ['2026-03-01T00:00:00.000000Z'],
    csv: '"[""2026-03-01T00:00:00.000000Z""]"',
    arrowType: 'Utf8',
    arrow: '["2026-03-01T00:00:00.000000Z"]',
  },
  { type: 'INTEGER[2]', literal: '[1, 2]', json: [1, 2], csv: '"[1,2]"', arrowType: 'Utf8', arrow: '[1,2]' },
  {
    type: 'STRUCT(a INTEGER, b VARCHAR, c BIGINT, d DOUBLE, e BLOB)',
    literal: "{'a': 1, 'b': 'x', 'c': 9007199254740993, 'd': 'NaN', 'e': '\\x01'}",
    json: { a: 1, b: 'x', c: '9007199254740993', d: null, e: 'AQ==' },
    csv: '"{""a"":1,""b"":""x"",""c"":""9007199254740993"",""d"":null,""e"":""AQ==""}"',
    arrowType: 'Utf8',
    arrow: '{"a":1,"b":"x","c":"9007199254740993","d":null,"e":"AQ=="}',
  },
  {
    type: 'DECIMAL(38,0)[]',
    literal: '[7, 99999999999999999999]',
    json: [7, '99999999999999999999'],
    csv: '"[7,""99999999999999999999""]"',
    arrowType: 'Utf8',
    arrow: '[7,"99999999999999999999"]',
  },
  {
    type: 'MAP(VARCHAR, DECIMAL(4,1))',
    literal: "MAP {'k': 1.5, 'l': NULL}",
    json: { k: 1.5, l: null },
    csv: '"{""k"":1.5,""l"":null}"',
    arrowType: 'Utf8',
    arrow: '{"k":1.5,"l":null}',
  },
  {
    type: 'MAP(INTEGER, DATE)',
    literal: "MAP {7: DATE '2026-03-01'}",
    json: { 7: '2026-03-01' },
    csv: '"{""7"":""2026-03-01""}"',
    arrowType: 'Utf8',
    arrow: '{"7":"2026-03-01"}',
  },
];

/** Two rows: each case's value, then NULL in every column. */
const TYPES_SQL = `SELECT ${CASES.map((_, i) => `c${i}`).join(', ')} FROM (
  SELECT 0 AS k, ${CASES.map((c, i) => `CAST(${c.literal} AS ${c.type}) AS c${i}`).join(', ')}
  UNION ALL
  SELECT 1, ${CASES.map((c) => `NULL::${c.type}`).join(', ')}
) ORDER BY k`;

let instance: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
});

afterAll(() => {
  connection.closeSync();
  instance.closeSync();
});

async function json(sql: string, limits = UNLIMITED) {
  return readJsonRows(await connection.stream(sql), limits);
}

async function csv(sql: string, limits = UNLIMITED): Promise<string> {
  const pieces: Buffer[] = [];
  for await (const piece of csvStream(await connection.stream(sql), limits)) pieces.push(piece);
  return Buffer.concat(pieces).toString('utf8');
}

async function arrowPieces(sql: string, limits = UNLIMITED): Promise<Uint8Array[]> {
  const pieces: Uint8Array[] = [];
  for await (const piece of arrowStream(await connection.stream(sql), limits)) pieces.push(piece);
  return pieces;
}

async function arrow(sql: string, limits = UNLIMITED): Promise<Table> {
  return tableFromIPC(await arrowPieces(sql, limits));
}

/** 64-bit and temporal values from the typed array itself: Arrow's get() answers float milliseconds. */
function arrowValue(table: Table, column: string, arrowType: string): unknown {
  const vector = table.getChild(column)!;
  if (/^(Int64|Uint64|Date32|Time64|Timestamp)/.test(arrowType)) return vector.data[0]!.values[0];
  const value = vector.get(0);
  return value instanceof Uint8Array ? Array.from(value) : value;
}

describe('type conversion', () => {
  it('answers JSON values by the value rules', async () => {
    const { columns, data } = await json(TYPES_SQL);
    expect(columns).toEqual(CASES.map((_, i) => `c${i}`));
    expect(data).toHaveLength(2);
    CASES.forEach((c, i) => {
      expect({ type: c.type, literal: c.literal, value: data[0]![i] }).toEqual({
        type: c.type,
        literal: c.literal,
        value: c.json,
      });
    });
    expect(data[1]).toEqual(CASES.map(() => null));
  });

  it('writes CSV text exactly, quoting separators and leaving NULL empty', async () => {
    const text = await csv(TYPES_SQL);
    const header = CASES.map((_, i) => `c${i}`).join(',');
    const values = CASES.map((c) => c.csv).join(',');
    const nulls = CASES.map(() => '').join(',');
    expect(text).toBe(`${header}\n${values}\n${nulls}\n`);
  });

  it('writes Arrow that reads back with the mapped types and exact values', async () => {
    const table = await arrow(TYPES_SQL);
    expect(table.numRows).toBe(2);
    CASES.forEach((c, i) => {
      const field = table.schema.fields[i]!;
      expect({ type: c.type, arrowType: String(field.type) }).toEqual({
        type: c.type,
        arrowType: c.arrowType,
      });
      expect({ type: c.type, value: arrowValue(table, `c${i}`, c.arrowType) }).toEqual({
        type: c.type,
        value: c.arrow,
      });
      expect(table.getChild(`c${i}`)!.get(1)).toBeNull();
    });
  });
});

describe('CSV quoting', () => {
  it('quotes header names and fields holding commas, quotes, CR or LF', async () => {
    const text = await csv(`SELECT 'a,b' AS "x,y", 'say "hi"' AS "q""", 'line' || chr(10) AS plain`);
    expect(text).toBe('"x,y","q""",plain\n"a,b","say ""hi""","line\n"\n');
  });
});

describe('empty results', () => {
  const EMPTY = `SELECT 1::INTEGER AS a, 'x' AS b WHERE false`;

  it('JSON has the columns and no rows', async () => {
    expect(await json(EMPTY)).toEqual({ columns: ['a', 'b'], data: [] });
  });

  it('CSV is the header line alone', async () => {
    expect(await csv(EMPTY)).toBe('a,b\n');
  });

  it('Arrow is a valid stream with the schema and no batches', async () => {
    const bytes = Buffer.concat(await arrowPieces(EMPTY));
    const messages = [...new MessageReader(bytes)].map((message) => message.headerType);
    expect(messages).toEqual([MessageHeader.Schema]);
    expect([...bytes.subarray(-8)]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    const table = tableFromIPC(bytes);
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => `${f.name}:${f.type}`)).toEqual(['a:Int32', 'b:Utf8']);
  });
});

describe('multi-chunk results', () => {
  const ROWS = 10_000;
  const SQL = `SELECT i, i::VARCHAR AS s FROM range(${ROWS}) t(i) ORDER BY i`;

  it('JSON keeps row order and count', async () => {
    const { data } = await json(SQL);
    expect(data).toHaveLength(ROWS);
    expect(data.every((row, k) => row[0] === k && row[1] === String(k))).toBe(true);
  });

  it('JSON from a materialized result (its chunks read in place) keeps row order and count', async () => {
    const result = await connection.run(SQL);
    expect(result).toBeInstanceOf(DuckDBMaterializedResult);
    expect((result as DuckDBMaterializedResult).chunkCount).toBeGreaterThan(1);
    const { data } = await readJsonRows(result, UNLIMITED);
    expect(data).toHaveLength(ROWS);
    expect(data.every((row, k) => row[0] === k && row[1] === String(k))).toBe(true);
  });

  it('CSV keeps row order and count, one piece per chunk', async () => {
    const pieces: Buffer[] = [];
    for await (const piece of csvStream(await connection.stream(SQL), UNLIMITED)) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    const lines = Buffer.concat(pieces).toString('utf8').split('\n');
    expect(lines).toHaveLength(ROWS + 2);
    expect(lines[0]).toBe('i,s');
    expect(lines.slice(1, -1).every((line, k) => line === `${k},${k}`)).toBe(true);
    expect(lines.at(-1)).toBe('');
  });

  it('Arrow has one batch per chunk and keeps row order and count', async () => {
    const table = await arrow(SQL);
    expect(table.numRows).toBe(ROWS);
    expect(table.batches.length).toBeGreaterThan(1);
    const ids = table.getChild('i')!.toArray() as BigInt64Array;
    expect(ids.every((id, k) => id === BigInt(k))).toBe(true);
    expect(table.getChild('s')!.get(ROWS - 1)).toBe(String(ROWS - 1));
  });
});

describe('NULLs and constants across chunks', () => {
  // Columns read from DuckDB's memory: validity bits per row, constant expressions as full columns.
  const ROWS = 5000;
  const SQL = `SELECT
      CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS n,
      CASE WHEN i % 5 = 0 THEN NULL ELSE 'value-' || i END AS s,
      CASE WHEN i % 7 = 0 THEN NULL ELSE i * 0.5 END AS d,
      42 AS constant
    FROM range(${ROWS}) t(i) ORDER BY i`;
  const expected = Array.from({ length: ROWS }, (_, i) => [
    i % 3 === 0 ? null : i,
    i % 5 === 0 ? null : `value-${i}`,
    i % 7 === 0 ? null : i * 0.5,
    42,
  ]);

  it('JSON', async () => {
    expect((await json(SQL)).data).toEqual(expected);
  });

  it('CSV', async () => {
    // d is DECIMAL(21,1): its text keeps the scale's digit.
    const lines = expected.map(([n, s, d, constant]) =>
      [n ?? '', s ?? '', d === null ? '' : (d as number).toFixed(1), constant].join(','),
    );
    expect(await csv(SQL)).toBe(`n,s,d,constant\n${lines.join('\n')}\n`);
  });

  it('Arrow', async () => {
    const table = await arrow(SQL);
    const rows = Array.from({ length: ROWS }, (_, i) => [
      table.getChild('n')!.get(i) === null ? null : Number(table.getChild('n')!.get(i)),
      table.getChild('s')!.get(i),
      table.getChild('d')!.get(i),
      table.getChild('constant')!.get(i),
    ]);
    expect(rows).toEqual(expected);
    expect(table.getChild('n')!.nullCount).toBe(Math.ceil(ROWS / 3));
  });
});

describe('out-of-line strings', () => {
  // Longer than duckdb_string_t's 12 inline bytes, shuffled so their heap runs interleave.
  const ROWS = 6000;
  const SQL = `SELECT i,
      CASE WHEN i % 4 = 0 THEN NULL ELSE 'a longer string, number ' || i END AS s,
      CASE WHEN i % 6 = 0 THEN NULL ELSE ('blob bytes past the inline limit ' || i)::BLOB END AS b
    FROM range(${ROWS}) t(i) ORDER BY md5(i::VARCHAR)`;
  const text = (i: number) => (i % 4 === 0 ? null : `a longer string, number ${i}`);
  const blob = (i: number) => (i % 6 === 0 ? null : Buffer.from(`blob bytes past the inline limit ${i}`));

  it('JSON and CSV read every row', async () => {
    const { data } = await json(SQL);
    const ids = data.map(([i]) => i as number);
    expect(ids).toHaveLength(ROWS);
    expect(data).toEqual(ids.map((i) => [i, text(i), blob(i)?.toString('base64') ?? null]));
    const lines = ids.map((i) =>
      [i, text(i) === null ? '' : `"${text(i)}"`, blob(i)?.toString('base64') ?? ''].join(','),
    );
    expect(await csv(SQL)).toBe(`i,s,b\n${lines.join('\n')}\n`);
  });

  it('Arrow reads every row', async () => {
    const table = await arrow(SQL);
    const ids = Array.from(table.getChild('i')!.toArray() as BigInt64Array, Number);
    const strings = table.getChild('s')!;
    const blobs = table.getChild('b')!;
    const rows = ids.map((i, row) => [
      i,
      strings.get(row),
      blobs.get(row) && Buffer.from(blobs.get(row)).toString(),
    ]);
    expect(rows).toEqual(ids.map((i) => [i, text(i), blob(i)?.toString() ?? null]));
  });
});

describe('limits', () => {
  const SQL = `SELECT i, repeat('x', 20) AS s FROM range(5000) t(i)`;
  const FORMATS = {
    json: (limits: ResultLimits) => json(SQL, limits),
    csv: (limits: ResultLimits) => csv(SQL, limits),
    arrow: (limits: ResultLimits) => arrowPieces(SQL, limits),
  };

  async function refusal(run: () => Promise<unknown>): Promise<ResultTooLargeError> {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ResultTooLargeError);
    return error as ResultTooLargeError;
  }

  for (const [format, run] of Object.entries(FORMATS)) {
    it(`${format}: passing maxRows is RESULT_TOO_LARGE (413)`, async () => {
      const error = await refusal(() => run({ maxRows: 4999, maxBytes: UNLIMITED.maxBytes }));
      expect(error.code).toBe('RESULT_TOO_LARGE');
      expect(error.httpStatus).toBe(413);
      expect(error.message).toMatch(/maxRows.*LIMIT.*time range/);
      expect(error.details).toEqual({ limit: 'maxRows', value: 4999 });
    });

    it(`${format}: exactly maxRows rows is allowed`, async () => {
      await expect(run({ maxRows: 5000, maxBytes: UNLIMITED.maxBytes })).resolves.toBeDefined();
    });

    it(`${format}: passing maxBytes is RESULT_TOO_LARGE (413)`, async () => {
      const error = await refusal(() => run({ maxRows: UNLIMITED.maxRows, maxBytes: 50_000 }));
      expect(error.code).toBe('RESULT_TOO_LARGE');
      expect(error.httpStatus).toBe(413);
      expect(error.message).toMatch(/maxBytes.*LIMIT.*time range/);
      expect(error.details).toEqual({ limit: 'maxBytes', value: 50_000 });
    });
  }

  it('streams stop before the piece that would pass maxBytes', async () => {
    const pieces: Buffer[] = [];
    const limits = { maxRows: UNLIMITED.maxRows, maxBytes: 100_000 };
    await expect(async () => {
      for await (const piece of csvStream(await connection.stream(SQL), limits)) pieces.push(piece);
    }).rejects.toBeInstanceOf(ResultTooLargeError);
    expect(pieces.length).toBeGreaterThan(0);
    expect(Buffer.concat(pieces).length).toBeLessThanOrEqual(limits.maxBytes);
  });
});
