/**
 * Time-bound literals read in JavaScript must mean exactly what DuckDB's cast makes of them, or
 * pruning would drop files a query needs: every string the reader answers for is checked against
 * DuckDB's own `TRY_CAST(… AS TIMESTAMP)`.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literalTimestampMicros } from '../../services/query/literals.js';
import type { SqlNode } from '../../services/query/parser.js';

let duckdb: DuckDBInstance;

beforeAll(async () => {
  duckdb = await DuckDBInstance.create(':memory:', { threads: '1' });
});
afterAll(() => duckdb?.closeSync());

const varchar = (text: string): SqlNode => ({
  class: 'CONSTANT',
  type: 'VALUE_CONSTANT',
  value: { type: { id: 'VARCHAR', type_info: null }, is_null: false, value: text },
});
const cast = (child: SqlNode, id: string): SqlNode => ({
  class: 'CAST',
  type: 'OPERATOR_CAST',
  child,
  cast_type: { id, type_info: null },
  try_cast: false,
});

/** DuckDB's value of each string cast to TIMESTAMP, in µs (null when it is none). */
async function duckdbMicros(texts: readonly string[]): Promise<(bigint | null)[]> {
  const connection = await duckdb.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const reader = await connection.runAndReadAll(
      'SELECT list_transform(CAST($1::JSON AS VARCHAR[]), s -> epoch_us(TRY_CAST(s AS TIMESTAMP)))',
      [JSON.stringify(texts)],
    );
    return reader.getRowsJS()[0]![0] as (bigint | null)[];
  } finally {
    connection.closeSync();
  }
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Timestamp-like strings: mostly well formed, with out-of-range fields and odd forms mixed in. */
const timestampText = fc
  .record({
    year: fc.oneof(fc.integer({ min: 1000, max: 2300 }), fc.integer({ min: 0, max: 99_999 })),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    time: fc.option(
      fc.record({
        separator: fc.constantFrom(' ', 'T', '  '),
        hour: fc.integer({ min: 0, max: 25 }),
        minute: fc.integer({ min: 0, max: 60 }),
        second: fc.option(fc.integer({ min: 0, max: 61 })),
        fraction: fc.option(fc.stringMatching(/^[0-9]{1,9}$/)),
        zone: fc.constantFrom('', 'Z', '+00', '+02:00', ' UTC'),
      }),
    ),
  })
  .map(({ year, month, day, time }) => {
    let text = `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
    if (time) {
      text += `${time.separator}${pad(time.hour, 2)}:${pad(time.minute, 2)}`;
      if (time.second !== null) {
        text += `:${pad(time.second, 2)}`;
        if (time.fraction !== null) text += `.${time.fraction}`;
      }
      text += time.zone;
    }
    return text;
  });

describe('time-bound literals read without DuckDB', () => {
  it('answer exactly what DuckDB casts, for every string they answer for', async () => {
    const texts = fc.sample(timestampText, { numRuns: 3000, seed: 20261121 });
    const expected = await duckdbMicros(texts);
    let answered = 0;
    for (const [i, text] of texts.entries()) {
      const mine = literalTimestampMicros(varchar(text));
      if (mine === undefined) continue;
      answered++;
      expect(mine, text).toBe(expected[i]);
    }
    // The reader must do its job (about one sample in ten is a strict, valid form it reads).
    expect(answered).toBeGreaterThan(texts.length / 20);
  });

  it('read TIMESTAMP literals and plain strings, and leave everything else to DuckDB', () => {
    const micros = BigInt(Date.UTC(2026, 2, 1, 6, 30, 15)) * 1000n + 123_400n;
    expect(literalTimestampMicros(varchar('2026-03-01 06:30:15.1234'))).toBe(micros);
    expect(literalTimestampMicros(cast(varchar('2026-03-01T06:30:15.1234Z'), 'TIMESTAMP'))).toBe(micros);
    expect(literalTimestampMicros(varchar('2026-03-01'))).toBe(BigInt(Date.UTC(2026, 2, 1)) * 1000n);
    for (const other of ['2026-03-01 06:00:00+02', '2026-03-01 24:00:00', '2026-02-30', 'now', '99-01-01'])
      expect(literalTimestampMicros(varchar(other)), other).toBeUndefined();
    expect(literalTimestampMicros(cast(varchar('2026-03-01'), 'DATE'))).toBeUndefined();
    expect(literalTimestampMicros(cast(varchar('2026-03-01'), 'TIMESTAMP WITH TIME ZONE'))).toBeUndefined();
    expect(literalTimestampMicros({ class: 'FUNCTION', function_name: 'now', children: [] })).toBeUndefined();
  });
});
