/**
 * The answer-size bound decides which answers DuckDB materializes in one call: it must never be
 * below what a statement can return, and must be absent where nothing bounds the rows.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerRowBound } from '../../services/query/answer-size.js';
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

async function rows(sql: string): Promise<number> {
  const connection = await duckdb.connect();
  try {
    return (await connection.runAndReadAll(sql)).currentRowCount;
  } finally {
    connection.closeSync();
  }
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
  ])('%s has none', async (sql) => {
    expect(await bound(sql, [7])).toBeUndefined();
  });

  it('gives up past 2^53 rather than overflow', async () => {
    expect(await bound('SELECT * FROM a, b', [2 ** 30, 2 ** 30])).toBeUndefined();
  });
});
