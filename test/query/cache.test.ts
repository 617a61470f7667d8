/**
 * The result cache on its own (services/query/cache.ts): least recently used out within a byte
 * budget, the per-entry cap, keys that change with everything an answer depends on, and which
 * statements count as deterministic (checked against DuckDB's own function catalog).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDeterministic, isVolatileName, ResultCache } from '../../services/query/index.js';
import { SqlParser } from '../../services/query/parser.js';

const answer = (bytes: number, databases: string[] = ['metrics']) => ({
  body: Buffer.alloc(bytes, 1),
  databases,
});
const plan = (overrides: Partial<{ version: number; sql: string; database: string }> = {}) => ({
  version: overrides.version ?? 7,
  sql: overrides.sql ?? 'SELECT count(*) FROM __weir_t0',
  tables: [{ database: overrides.database ?? 'metrics', table: 'cpu', view: '__weir_t0' }],
  deterministic: true,
});

describe('ResultCache', () => {
  it('keeps answers within its byte budget, dropping the least recently used first', () => {
    const cache = new ResultCache(10_000, 4_000);
    expect(cache.set('a', answer(3_000))).toBe(true);
    expect(cache.set('b', answer(3_000))).toBe(true);
    expect(cache.set('c', answer(3_000))).toBe(true);
    // `a` is used, so `b` is now the least recently used.
    expect(cache.get('a')?.body.byteLength).toBe(3_000);
    expect(cache.set('d', answer(3_000))).toBe(true);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.get('d')).toBeDefined();
    const stats = cache.stats();
    expect(stats.entries).toBe(3);
    expect(stats.bytes).toBeLessThanOrEqual(10_000);
    expect(stats).toMatchObject({ hits: 4, misses: 1, maxBytes: 10_000, maxEntryBytes: 4_000 });
  });

  it('does not keep an answer above the per-entry cap (an eighth of the budget unless given)', () => {
    const cache = new ResultCache(80_000);
    expect(cache.maxEntryBytes).toBe(10_000);
    expect(cache.admits(9_000)).toBe(true);
    expect(cache.admits(10_000)).toBe(false);
    expect(cache.set('big', answer(10_000))).toBe(false);
    expect(cache.get('big')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    // A cap above the budget is the budget.
    expect(new ResultCache(1_000, 5_000).maxEntryBytes).toBe(1_000);
  });

  it('replacing an entry charges it once; delete and clear give the bytes back', () => {
    const cache = new ResultCache(100_000);
    cache.set('a', answer(1_000));
    const once = cache.stats().bytes;
    cache.set('a', answer(1_000, ['ops']));
    expect(cache.stats().bytes).toBe(once);
    expect(cache.get('a')?.databases).toEqual(['ops']);
    cache.delete('a');
    cache.delete('nothing');
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    cache.set('b', answer(1_000));
    cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('keeps its own copy of the databases an entry read', () => {
    const cache = new ResultCache(100_000);
    const databases = ['metrics'];
    cache.set('a', { body: Buffer.from('x'), databases });
    databases.push('ops');
    expect(cache.get('a')?.databases).toEqual(['metrics']);
  });

  it('0 bytes turns it off; a negative or fractional size is refused', () => {
    const off = new ResultCache(0);
    expect(off.enabled).toBe(false);
    expect(off.keyOf('acme', 'json', plan())).toBeUndefined();
    expect(off.admits(1)).toBe(false);
    expect(off.set('a', answer(1))).toBe(false);
    expect(() => new ResultCache(-1)).toThrow(RangeError);
    expect(() => new ResultCache(1.5)).toThrow(/whole number/);
  });

  it('keys change with the tenant, the format, the catalog version, the tables and the statement', () => {
    const cache = new ResultCache(1_000_000);
    const base = cache.keyOf('acme', 'json', plan())!;
    expect(base).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cache.keyOf('acme', 'json', plan())).toBe(base);
    const others = [
      cache.keyOf('other', 'json', plan()),
      cache.keyOf('acme', 'arrow', plan()),
      cache.keyOf('acme', 'csv', plan()),
      cache.keyOf('acme', 'json', plan({ version: 8 })),
      cache.keyOf('acme', 'json', plan({ database: 'ops' })),
      cache.keyOf('acme', 'json', plan({ sql: 'SELECT count(*) + 1 FROM __weir_t0' })),
    ];
    expect(new Set([base, ...others]).size).toBe(7);
    expect(cache.keyOf('acme', 'json', { ...plan(), deterministic: false })).toBeUndefined();
  });
});

describe('isDeterministic', () => {
  let parser: SqlParser;
  beforeAll(async () => {
    parser = await SqlParser.open();
  });
  afterAll(() => parser?.close());

  it('refuses statements that read the clock, randomness or session state, wherever they are', async () => {
    for (const sql of [
      'SELECT now()',
      'SELECT * FROM cpu WHERE time > now() - INTERVAL 1 HOUR',
      'SELECT * FROM cpu WHERE time > current_timestamp',
      'SELECT CURRENT_DATE',
      'SELECT localtimestamp',
      'SELECT today() - 1',
      'SELECT get_current_timestamp()',
      "SELECT * FROM cpu WHERE time > ago(INTERVAL '1 hour')",
      'SELECT random()',
      'SELECT * FROM cpu WHERE random() < 0.5',
      'SELECT * FROM cpu USING SAMPLE 10%',
      'SELECT * FROM cpu TABLESAMPLE 10%',
      'SELECT count(*) FROM (SELECT * FROM cpu WHERE usage > 1 USING SAMPLE 5 ROWS)',
      'SELECT uuid()',
      'SELECT gen_random_uuid()',
      'SELECT * FROM range(0, CAST(epoch(now()) AS BIGINT) % 10)',
      'WITH t AS (SELECT now() AS n) SELECT * FROM t',
      'SELECT * FROM cpu WHERE host IN (SELECT host FROM cpu WHERE time > NOW())',
      'SELECT count(*) FILTER (WHERE time < now()) FROM cpu',
      'SELECT host FROM cpu GROUP BY host HAVING max(time) > now()',
      'SELECT sum(usage) OVER (ORDER BY random()) FROM cpu',
      'SELECT * FROM cpu UNION ALL SELECT * FROM cpu WHERE time < transaction_timestamp()',
    ]) {
      expect(isDeterministic(await parser.parse(sql)), sql).toBe(false);
    }
  });

  it('lets through statements fixed by the data and constants', async () => {
    for (const sql of [
      'SELECT 1',
      'SELECT * FROM cpu',
      "SELECT host, avg(usage) FROM cpu WHERE time >= '2026-03-01' AND time < TIMESTAMP '2026-03-02' GROUP BY host",
      "SELECT date_trunc('hour', time) AS h, count(*) FROM cpu GROUP BY h ORDER BY h",
      "SELECT 'now' AS word, 'random' AS other",
      'SELECT * FROM range(10) t(i) WHERE i % 2 = 0',
      "SELECT time_bucket(INTERVAL '5 minutes', time) AS b, max(usage) FROM cpu GROUP BY b",
      'WITH t AS (SELECT host FROM cpu) SELECT count(DISTINCT host) FROM t',
    ]) {
      expect(isDeterministic(await parser.parse(sql)), sql).toBe(true);
    }
  });

  it('covers every function DuckDB does not mark CONSISTENT, and the macros built on them', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const marked = await connection.runAndReadAll(
        `SELECT DISTINCT function_name FROM duckdb_functions() WHERE stability IS NOT NULL AND stability <> 'CONSISTENT'`,
      );
      const names = marked.getRows().map((row) => String(row[0]));
      expect(names.length).toBeGreaterThan(10);
      expect(names.filter((name) => !isVolatileName(name))).toEqual([]);

      const macros = await connection.runAndReadAll(
        `SELECT function_name, macro_definition FROM duckdb_functions() WHERE function_type = 'macro'`,
      );
      // error() only raises (nothing is cached then): macros that call it on bad input are fine.
      const volatile = [...names.filter((name) => name !== 'error'), 'current_timestamp', 'current_time'];
      const builtOn = macros
        .getRows()
        .filter(([, definition]) =>
          volatile.some((name) => new RegExp(`\\b${name}\\b`, 'i').test(String(definition ?? ''))),
        )
        .map(([name]) => String(name));
      expect(builtOn.filter((name) => !isVolatileName(name))).toEqual([]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
});
