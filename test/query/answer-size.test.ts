/**
 * The answer-size bound decides which answers DuckDB materializes in one call: it must never be
 * below what a statement can return, and must be absent where nothing bounds the rows.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerRowBound, withRowLimit } from '../../services/query/answer-size.js';
import { SqlParser } from '../../services/query/parser.js';

let parser: SqlParser;
let duckdb: DuckDBInstance;

beforeAll(async () => {
  parser = await SqlParser.open();
  duckdb = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await duckdb.connect();
  // Two small tables to count real answers against the bound.
  await connection.run('CREATE TABLE a AS SELECT range AS x FROM range(7)');
  await connection.run('CREATE TABLE b AS SELECT range AS y FROM range(5)');
  connection.closeSync();
});
afterAll(() => {
  parser?.close();
  duckdb?.closeSync();
});

/** The bound with `a` holding 7 rows and `b` 5 (references in the order they are written). */
async function bound(sql: string, references: number[]): Promise<number | undefined> {
  return answerRowBound(await parser.parse(sql), references);
}

async function answer(sql: string): Promise<{ columns: string[]; rows: unknown[][] }> {
  const connection = await duckdb.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return { columns: reader.columnNames(), rows: reader.getRowsJS() };
  } finally {
    connection.closeSync();
  }
}

async function rows(sql: string): Promise<number> {
  return (await answer(sql)).rows.length;
}

describe('the answer-size bound', () => {
  it.each([
    ['SELECT * FROM a', [7]],
    ['SELECT x, count(*) FROM a GROUP BY x', [7]],
    ['SELECT * FROM a, b', [7, 5]],
    ['SELECT * FROM a FULL OUTER JOIN b ON x = y', [7, 5]],
    ['SELECT x FROM a UNION ALL SELECT y FROM b', [7, 5]],
    ['SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4', []],
    ['SELECT * FROM a, (VALUES (1), (2), (3)) v(k)', [7]],
    ['SELECT * FROM a WHERE x IN (SELECT y FROM b)', [7, 5]],
  ])('%s is bounded, never below its real answer', async (sql, references) => {
    const limit = await bound(sql, references);
    expect(limit).toBeDefined();
    expect(limit!).toBeGreaterThanOrEqual(await rows(sql));
  });

  it.each([
    'SELECT * FROM range(1000000)',
    'SELECT unnest(range(1000000))',
    'SELECT * FROM a, generate_series(1, 1000) g',
    'WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 1000) SELECT * FROM t',
    'SELECT UNLIST([1, 2, 3])',
    // Each reference to a CTE is another 7 rows: a bound counting its body once would be 16.
    'WITH t AS (FROM a) SELECT t.x FROM t, t u, t v',
  ])('%s has none', async (sql) => {
    expect(await bound(sql, [7])).toBeUndefined();
  });

  it.each([
    ['SELECT * FROM a LIMIT 3', 3],
    ['SELECT * FROM range(1000000) LIMIT 4 OFFSET 10', 4],
    // Without the LIMIT the bound is (7 + 1)(5 + 1)(1 + 1) = 96 for the references and the SELECT.
    ['SELECT * FROM a, b ORDER BY x LIMIT 100', 96],
    ['SELECT * FROM a, b ORDER BY x LIMIT 10', 10],
  ])('%s is bounded by its own LIMIT', async (sql, expected) => {
    expect(await bound(sql, [7, 5])).toBe(expected);
  });

  it('gives up past 2^53 rather than overflow', async () => {
    expect(await bound('SELECT * FROM a, b', [2 ** 30, 2 ** 30])).toBeUndefined();
  });
});

describe('a statement capped at n rows', () => {
  it.each([
    // Same names twice: a wrapping SELECT * FROM (…) would rename the second.
    'SELECT x, x, x AS "X" FROM a ORDER BY x DESC',
    'SELECT x FROM a UNION ALL SELECT y FROM b ORDER BY 1',
    'WITH t AS (SELECT x * 2 AS x2 FROM a) SELECT * FROM t ORDER BY x2',
    'SELECT x, count(*) AS n FROM a GROUP BY x ORDER BY x;',
    'SELECT * FROM a JOIN b ON x = y ORDER BY x -- a trailing comment',
  ])('%s keeps its columns and answers its first n rows in order', async (sql) => {
    const whole = await answer(sql);
    for (const cap of [whole.rows.length + 1, 3]) {
      const capped = withRowLimit(await parser.parse(sql), cap);
      expect(capped).toBeDefined();
      const limited = await answer(await parser.render(capped!, new Set(['a', 'b'])));
      expect(limited.columns).toEqual(whole.columns);
      expect(limited.rows).toEqual(whole.rows.slice(0, cap));
    }
  });

  it.each([
    'SELECT * FROM a LIMIT 2',
    'SELECT * FROM a LIMIT 50%',
    'SELECT * FROM a ORDER BY x OFFSET 2 LIMIT 3',
  ])('%s has a LIMIT of its own: it is not capped again', async (sql) => {
    expect(withRowLimit(await parser.parse(sql), 1)).toBeUndefined();
  });
});
