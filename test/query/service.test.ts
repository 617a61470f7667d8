/**
 * The query service on real DuckDB over real Parquet: the same answers as raw DuckDB over the same
 * files, pruning by the catalog's times, time travel, SHOW, and the SQL guard's refusals.
 */
import { copyFileSync, readdirSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WeirError } from '../../catalog/index.js';
import type { TenantEngines } from '../../services/query/engines.js';
import type { QueryService } from '../../services/query/index.js';
import { BASE_US, createDataTable, HOUR_US, writeDataFiles } from '../helpers/data-files.js';
import {
  createQueryFixture,
  DAYS,
  HOURS_PER_DAY,
  openFixtureQueryService,
  type QueryFixture,
  ROWS_PER_FILE,
} from './fixture.js';

let fixture: QueryFixture;
let service: QueryService;
let raw: DuckDBInstance;

beforeAll(async () => {
  fixture = await createQueryFixture();
  service = await openFixtureQueryService(fixture);
  // Raw DuckDB over the same files: one view per table, named as the table.
  raw = await DuckDBInstance.create(':memory:');
  const connection = await raw.connect();
  for (const [database, table] of [
    ['metrics', 'cpu'],
    ['metrics', 'mem'],
    ['ops', 'deploys'],
  ] as const) {
    const files = (await fixture.keys('acme', database, table)).map(
      (key) => `'${join(fixture.store.root, key)}'`,
    );
    await connection.run(
      `CREATE VIEW ${table} AS SELECT * FROM read_parquet([${files.join(', ')}], hive_partitioning = false)`,
    );
  }
  connection.closeSync();
}, 180_000);

afterAll(async () => {
  service?.close();
  raw?.closeSync();
  await fixture?.close();
});

const ask = (sql: string, database = 'metrics', tenant = 'acme') =>
  service.run({ tenant, database, sql }, async (result) => result.getRowObjectsJS());

async function rawRows(sql: string) {
  const connection = await raw.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    connection.closeSync();
  }
}

/** Equal rows, doubles to 1e-9 relative (sums over another file order round differently). */
function expectSameRows(actual: Record<string, unknown>[], expected: Record<string, unknown>[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    const want = expected[i]!;
    expect(Object.keys(row)).toEqual(Object.keys(want));
    for (const [key, value] of Object.entries(row)) {
      const other = want[key];
      if (
        typeof value === 'number' &&
        typeof other === 'number' &&
        !(Number.isInteger(other) && Number.isInteger(value))
      )
        expect(value, `row ${i} ${key}`).toBeCloseTo(other, 6);
      else expect(value, `row ${i} ${key}`).toEqual(other);
    }
  });
}

const day = (d: number, hour = 0) => new Date((BASE_US + (d * 24 + hour) * HOUR_US) / 1000).toISOString();

/** Weir SQL, and the raw DuckDB SQL over views named as the tables (default: the same text without database names). */
const EQUIVALENT: [string, string?][] = [
  ['SELECT count(*) AS n FROM cpu'],
  // Whole-number float constants survive the parse and render round trip.
  ['SELECT 1e3 AS k, count(*) FILTER (WHERE usage > 5e1) AS n FROM cpu'],
  ['SELECT count(*) AS n, sum(usage) AS s, min(time) AS first, max(time) AS last FROM metrics.cpu'],
  ['SELECT host, avg(usage) AS u FROM cpu GROUP BY host ORDER BY host'],
  ['SELECT region, count(DISTINCT host) AS hosts FROM cpu GROUP BY ALL ORDER BY region'],
  [`SELECT time_bucket(INTERVAL '1 day', time) AS d, max(usage) AS peak FROM cpu GROUP BY d ORDER BY d`],
  [
    `SELECT time_bucket(INTERVAL '6 hours', time) AS b, host, avg(procs) AS p FROM cpu WHERE time >= '${day(3)}' AND time < '${day(5)}' GROUP BY ALL ORDER BY b, host`,
  ],
  ['SELECT * FROM cpu ORDER BY time DESC, host LIMIT 7'],
  ['SELECT host, time, usage FROM cpu ORDER BY usage DESC, time, host LIMIT 5 OFFSET 3'],
  [
    `SELECT host, time, usage - lag(usage) OVER (PARTITION BY host ORDER BY time) AS delta FROM cpu WHERE time < '${day(0, 1)}' ORDER BY host, time LIMIT 20`,
  ],
  [
    'SELECT host, rank() OVER (ORDER BY sum(procs) DESC) AS r, sum(procs) AS total FROM cpu GROUP BY host ORDER BY r, host',
  ],
  [
    `SELECT host, avg(usage) OVER (PARTITION BY host ORDER BY time ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS smooth FROM cpu WHERE time BETWEEN '${day(7, 6)}' AND '${day(7, 7)}' ORDER BY host, time`,
  ],
  [
    'SELECT c.host, count(*) AS n, max(m.used) AS used FROM metrics.cpu c JOIN metrics.mem m ON c.host = m.host GROUP BY c.host ORDER BY c.host',
    'SELECT c.host, count(*) AS n, max(m.used) AS used FROM cpu c JOIN mem m ON c.host = m.host GROUP BY c.host ORDER BY c.host',
  ],
  [
    'SELECT d.version, count(*) AS n FROM cpu JOIN ops.deploys d USING (host) GROUP BY d.version ORDER BY d.version',
    'SELECT d.version, count(*) AS n FROM cpu JOIN deploys d USING (host) GROUP BY d.version ORDER BY d.version',
  ],
  [
    'WITH busiest AS (SELECT host, sum(procs) AS p FROM cpu GROUP BY host ORDER BY p DESC LIMIT 2) SELECT * FROM busiest ORDER BY p DESC',
  ],
  ['SELECT host FROM cpu WHERE usage > 99 UNION SELECT host FROM mem WHERE used > 90 ORDER BY host'],
  ['SELECT * FROM (SELECT host, max(usage) AS m FROM cpu GROUP BY host) t WHERE m > 50 ORDER BY host'],
  [
    'SELECT host, count(*) FILTER (WHERE busy) AS busy_rows, count(*) AS rows FROM cpu GROUP BY host ORDER BY host',
  ],
  ['SELECT quantile_cont(usage, 0.9) AS p90, stddev_samp(usage) AS sd FROM cpu'],
  [
    `SELECT date_trunc('hour', time) AS h, count(*) AS n FROM cpu WHERE time >= '${day(29)}' GROUP BY h ORDER BY h`,
  ],
  ['SELECT host, arg_max(usage, time) AS last_usage FROM cpu GROUP BY host ORDER BY host'],
  [
    `SELECT count(*) AS n FROM cpu WHERE host IN (SELECT host FROM ops.deploys)`,
    'SELECT count(*) AS n FROM cpu WHERE host IN (SELECT host FROM deploys)',
  ],
  [
    'SELECT region, host, sum(usage) AS s FROM cpu GROUP BY ROLLUP (region, host) ORDER BY region NULLS LAST, host NULLS LAST',
  ],
];

describe('queries give the same answer as raw DuckDB over the same files', () => {
  it.each(EQUIVALENT.map(([weir, rawSql]) => [weir, rawSql ?? weir.replaceAll(/\b(metrics|ops)\./g, '')]))(
    '%s',
    async (weirSql, rawSql) => {
      const { value } = await ask(weirSql);
      expect(value.length).toBeGreaterThan(0);
      expectSameRows(value, await rawRows(rawSql));
    },
  );
});

describe('pruning by the catalog times', () => {
  it('a one-hour query over 30 days reads only that hour’s file', async () => {
    const { plan, value } = await ask(
      `SELECT count(*) AS n FROM cpu WHERE time >= '${day(12, 6)}' AND time < '${day(12, 7)}'`,
    );
    expect(value).toEqual([{ n: BigInt(ROWS_PER_FILE) }]);
    const [table] = plan.tables;
    expect(table!.tableFiles).toBe(DAYS * HOURS_PER_DAY.length);
    expect(table!.files.map((f) => f.partition)).toEqual(['date=2026-03-13/hour=06']);
    expect(plan.sql).not.toContain('read_parquet');
  });

  it('bounds on either side, BETWEEN, and table-qualified times prune; OR and unrelated columns do not', async () => {
    const files = async (where: string) =>
      (await service.plan({ tenant: 'acme', database: 'metrics', sql: `SELECT * FROM cpu c WHERE ${where}` }))
        .tables[0]!.files.length;
    expect(await files(`'${day(29)}' <= time`)).toBe(HOURS_PER_DAY.length);
    expect(await files(`c.time BETWEEN '${day(1)}' AND '${day(1, 12)}'`)).toBe(3);
    expect(await files(`time = TIMESTAMP '${day(2, 18).replace('Z', '')}' AND host = 'host-1'`)).toBe(1);
    expect(await files(`time > '${day(29)}' OR host = 'x'`)).toBe(DAYS * HOURS_PER_DAY.length);
    expect(await files(`procs > 5`)).toBe(DAYS * HOURS_PER_DAY.length);
  });

  it('bounds that are no plain literal are evaluated by DuckDB; one that fails leaves the others', async () => {
    const files = async (where: string) =>
      (await service.plan({ tenant: 'acme', database: 'metrics', sql: `SELECT * FROM cpu WHERE ${where}` }))
        .tables[0]!.files.length;
    const stamp = (d: number, hour = 0) => `TIMESTAMP '${day(d, hour).replace('Z', '')}'`;
    expect(await files(`time >= ${stamp(28)} + INTERVAL 1 DAY`)).toBe(HOURS_PER_DAY.length);
    expect(await files(`time < make_timestamp(${BASE_US + HOUR_US}::BIGINT)`)).toBe(1);
    expect(await files(`time >= ${stamp(29)} AND time < TIMESTAMP 'not a time'`)).toBe(HOURS_PER_DAY.length);
    expect(await files(`time >= '2026-03-30 00:00:00+00' AND time < '2026-03-30 06:00'`)).toBe(1);
  });

  it('a strict bound past its microsecond keeps the rows of that microsecond', async () => {
    // Every file's first row is at its hour's start: 06:00:00.000000 < 06:00:00.000000999.
    const ns = `TIMESTAMP_NS '${day(0, 6).replace('.000Z', '')}.000000999'`;
    for (const [where, files] of [
      [`time < ${ns}`, 2],
      [`time <= ${ns}`, 2],
      [`${ns} > time`, 2],
      [`time > ${ns}`, DAYS * HOURS_PER_DAY.length - 1],
    ] as const) {
      const sql = `SELECT count(*) AS n FROM cpu WHERE ${where}`;
      const { value, plan } = await ask(sql);
      expect({ where, files: plan.tables[0]!.files.length, n: value }).toEqual({
        where,
        files,
        n: await rawRows(sql),
      });
    }
    expect((await ask(`SELECT count(*) AS n FROM cpu WHERE time < ${ns}`)).value).toEqual([
      { n: BigInt(ROWS_PER_FILE + 1) },
    ]);
  });

  it('a bound calling anything but cheap time functions is not evaluated: it prunes nothing', async () => {
    // Bounds are evaluated while planning, on the parser every tenant shares: `range` could take long.
    const plan = await service.plan({
      tenant: 'acme',
      database: 'metrics',
      sql: `SELECT count(*) FROM cpu WHERE time > make_timestamp(len(range(3))::BIGINT * 0 + ${BASE_US + 29 * 24 * HOUR_US})`,
    });
    expect(plan.tables[0]!.files.length).toBe(DAYS * HOURS_PER_DAY.length);
    expect(plan.tables[0]!.range).toEqual({});
  });

  it('a join prunes each side by its own qualified predicate', async () => {
    const plan = await service.plan({
      tenant: 'acme',
      database: 'metrics',
      sql: `SELECT * FROM cpu a JOIN cpu b ON a.host = b.host WHERE a.time < '${day(1)}' AND b.time >= '${day(29)}'`,
    });
    expect(plan.tables.map((t) => t.files.length)).toEqual([HOURS_PER_DAY.length, HOURS_PER_DAY.length]);
    expect(plan.tables[0]!.files[0]!.partition).toMatch(/^date=2026-03-01/);
    expect(plan.tables[1]!.files[0]!.partition).toMatch(/^date=2026-03-30/);
  });
});

describe('small answers', () => {
  it('are computed in one call when their bound is small, streamed otherwise, with the same rows', async () => {
    const hour = `time >= '${day(12, 6)}' AND time < '${day(12, 7)}'`;
    const small = await ask(`SELECT host, count(*) AS n FROM cpu WHERE ${hour} GROUP BY host ORDER BY host`);
    // One SELECT over one file of ROWS_PER_FILE rows: (1 + 1) × (ROWS_PER_FILE + 1).
    expect(small.plan.rowBound).toBe(2 * (ROWS_PER_FILE + 1));
    const large = await ask(
      `SELECT a.host, count(*) AS n FROM cpu a JOIN cpu b USING (host, time) WHERE a.${hour} GROUP BY a.host ORDER BY a.host`,
    );
    expect(large.plan.rowBound ?? Number.POSITIVE_INFINITY).toBeGreaterThan(100_000);
    expect(large.value).toEqual(small.value);
    expect(small.value).toHaveLength(5);
  });
});

describe('catalog versions', () => {
  it('as_of a version reads the files of that version', async () => {
    const catalog = fixture.catalogs.forTenant('acme');
    const before = await catalog.refresh();
    const [file] = before.tables.get('metrics.mem')!.partitions.get('date=2026-03-01/hour=00')!.values();
    await catalog.commit([
      { op: 'removeFile', database: 'metrics', table: 'mem', partition: file!.partition, path: file!.path },
    ]);
    const now = await ask('SELECT count(*) AS n FROM mem');
    const then = await service.run(
      {
        tenant: 'acme',
        database: 'metrics',
        sql: 'SELECT count(*) AS n FROM mem',
        asOf: { version: before.version },
      },
      async (result) => result.getRowObjectsJS(),
    );
    expect(then.plan.version).toBe(before.version);
    expect(then.value).toEqual([{ n: 120n }]);
    expect(now.value).toEqual([{ n: 60n }]);
    expect(now.plan.version).toBeGreaterThan(before.version);
  });

  it('SHOW DATABASES and SHOW TABLES answer from the catalog', async () => {
    expect(
      (await service.show({ tenant: 'acme', database: 'metrics', sql: 'SHOW DATABASES' }))!.data,
    ).toEqual([['metrics'], ['ops']]);
    expect((await service.show({ tenant: 'acme', database: 'metrics', sql: 'show tables' }))!.data).toEqual([
      ['cpu'],
      ['mem'],
    ]);
    expect(
      (await service.show({ tenant: 'acme', database: 'metrics', sql: 'SHOW MEASUREMENTS FROM ops;' }))!.data,
    ).toEqual([['deploys']]);
    expect(await service.show({ tenant: 'acme', database: 'metrics', sql: 'SELECT 1' })).toBeUndefined();
  });
});

describe('schema evolution', () => {
  it('files written before a column was added read it as NULL; files after it hold it', async () => {
    const catalog = fixture.catalogs.forTenant('other');
    await catalog.commit([
      {
        op: 'addColumns',
        database: 'ops',
        table: 'deploys',
        columns: [{ name: 'owner', type: 'string', role: 'field' }],
      },
    ]);
    await writeDataFiles({
      store: fixture.store,
      catalog,
      database: 'ops',
      table: 'deploys',
      files: [
        {
          fileId: 'with-owner',
          sql: `SELECT make_timestamp(${BASE_US + HOUR_US}::BIGINT) AS time, 'host-9' AS host, 'v9' AS version, 'ann' AS owner`,
        },
      ],
    });
    const all = (
      await service.run(
        { tenant: 'other', database: 'ops', sql: 'SELECT host, owner FROM deploys ORDER BY time, host' },
        (r) => r.getRowObjectsJS(),
      )
    ).value;
    expect(all).toEqual([
      { host: 'host-0', owner: null },
      { host: 'host-1', owner: null },
      { host: 'host-9', owner: 'ann' },
    ]);
    // Only the new file: every chosen file holds every column.
    const newest = await service.run(
      { tenant: 'other', database: 'ops', sql: `SELECT owner FROM deploys WHERE time >= '${day(0, 1)}'` },
      (r) => r.getRowObjectsJS(),
    );
    expect(newest.value).toEqual([{ owner: 'ann' }]);
    expect(newest.plan.tables[0]!.files).toHaveLength(1);
  });
});

describe('columns named like partition keys', () => {
  it('a table’s own `date` and `hour` columns are read from the files, not from the partition path', async () => {
    const catalog = fixture.catalogs.forTenant('other');
    await createDataTable(catalog, 'ops', 'shifts', { tags: ['date'], fields: { hour: 'int64' } });
    await writeDataFiles({
      store: fixture.store,
      catalog,
      database: 'ops',
      table: 'shifts',
      files: [
        {
          fileId: 'one',
          sql: `SELECT make_timestamp(${BASE_US}::BIGINT) AS time, 'monday' AS date, 7 AS hour`,
        },
      ],
    });
    const { value, plan } = await service.run(
      { tenant: 'other', database: 'ops', sql: 'SELECT date, hour FROM shifts' },
      (r) => r.getRowObjectsJS(),
    );
    expect(plan.tables[0]!.files[0]!.partition).toBe('date=2026-03-01/hour=00');
    expect(value).toEqual([{ date: 'monday', hour: 7n }]);
  });
});

describe('tenants', () => {
  it('the same names reach each tenant’s own rows', async () => {
    const sql = 'SELECT sum(usage) AS s FROM cpu';
    const [mine, theirs] = await Promise.all([ask(sql), ask(sql, 'metrics', 'other')]);
    expect(mine.value[0]!.s).not.toEqual(theirs.value[0]!.s);
    expect(mine.plan.tables[0]!.files[0]!.path).toMatch(/^tenants\/acme\//);
    expect(theirs.plan.tables[0]!.files[0]!.path).toMatch(/^tenants\/other\//);
  });
});

const root = () => fixture.store.root;

/** Statements that must be refused (status, code and a fragment of the message), with no effect. */
const ATTACKS: [string, number, string, string][] = [
  ["SELECT * FROM read_parquet('/etc/passwd')", 400, 'QUERY_REFUSED', 'read_parquet'],
  ["SELECT * FROM read_csv('../../other/data/x.csv')", 400, 'QUERY_REFUSED', 'read_csv'],
  ["SELECT * FROM read_csv_auto('%2e%2e/%2e%2e/etc/passwd')", 400, 'QUERY_REFUSED', 'read_csv_auto'],
  ["SELECT * FROM read_text('/etc/passwd')", 400, 'QUERY_REFUSED', 'read_text'],
  ["SELECT content FROM read_blob('/proc/self/environ')", 400, 'QUERY_REFUSED', 'read_blob'],
  [
    "SELECT * FROM read_json_auto('http://169.254.169.254/latest/meta-data')",
    400,
    'QUERY_REFUSED',
    'read_json_auto',
  ],
  [
    "SELECT * FROM parquet_scan('tenants/other/data/metrics/cpu/x.parquet')",
    400,
    'QUERY_REFUSED',
    'parquet_scan',
  ],
  ["SELECT * FROM parquet_metadata('/tmp/x.parquet')", 400, 'QUERY_REFUSED', 'parquet_metadata'],
  ["SELECT * FROM '/etc/passwd'", 404, 'TABLE_NOT_FOUND', '/etc/passwd'],
  ["SELECT * FROM 'tenants/other/data/metrics/cpu/*.parquet'", 404, 'TABLE_NOT_FOUND', 'tenants/other'],
  ["SELECT * FROM glob('/*')", 400, 'QUERY_REFUSED', 'glob'],
  ["SELECT file FROM glob('tenants/*/data/**')", 400, 'QUERY_REFUSED', 'glob'],
  ["ATTACH '/tmp/evil.db' AS evil", 400, 'QUERY_REFUSED', 'only SELECT'],
  ["COPY (SELECT * FROM cpu) TO '/tmp/out.csv'", 400, 'QUERY_REFUSED', 'only SELECT'],
  ['INSTALL httpfs', 400, 'QUERY_REFUSED', 'only SELECT'],
  ['LOAD httpfs', 400, 'QUERY_REFUSED', 'only SELECT'],
  ['SET enable_external_access = true', 400, 'QUERY_REFUSED', 'only SELECT'],
  ["PRAGMA enable_profiling = 'json'", 400, 'QUERY_REFUSED', 'only SELECT'],
  ["SELECT getenv('HOME')", 400, 'QUERY_REFUSED', 'getenv'],
  ["SELECT current_setting('allowed_directories')", 400, 'QUERY_REFUSED', 'current_setting'],
  ['SELECT * FROM duckdb_settings()', 400, 'QUERY_REFUSED', 'duckdb_settings'],
  ['SELECT * FROM duckdb_databases()', 400, 'QUERY_REFUSED', 'duckdb_databases'],
  ['SELECT * FROM other.cpu', 404, 'TABLE_NOT_FOUND', 'other.cpu'],
  ['SELECT * FROM acme.metrics.cpu', 400, 'QUERY_REFUSED', 'three-part name'],
  ['SELECT * FROM "tenants/other/data".cpu', 404, 'TABLE_NOT_FOUND', 'tenants/other/data.cpu'],
  ['SELECT 1; SELECT 2', 400, 'QUERY_REFUSED', 'one statement'],
  ['SELECT * FROM cpu; DROP TABLE cpu', 400, 'QUERY_REFUSED', 'only SELECT'],
  ["SELECT * FROM cpu -- ' ; DROP TABLE cpu", 200, '', ''],
  ["SELECT /* */ * FROM /* x */ read_parquet/**/('/etc/passwd')", 400, 'QUERY_REFUSED', 'read_parquet'],
  ['SELECT * FROM "read_parquet"(\'/etc/passwd\')', 400, 'QUERY_REFUSED', 'read_parquet'],
  [
    "WITH cpu AS (SELECT * FROM read_parquet('/etc/passwd')) SELECT * FROM cpu",
    400,
    'QUERY_REFUSED',
    'read_parquet',
  ],
  ['WITH mem AS (SELECT * FROM other.cpu) SELECT * FROM mem', 404, 'TABLE_NOT_FOUND', 'other.cpu'],
  // A WITH entry sees only the entries before it (as DuckDB binds it): a later one, or itself, is a
  // table name to check, not a CTE; pg_settings would show the engine's allowed directories.
  [
    'WITH a AS (SELECT name, setting FROM pg_settings), pg_settings AS (SELECT 1) SELECT * FROM a',
    404,
    'TABLE_NOT_FOUND',
    'pg_settings',
  ],
  [
    'WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings',
    404,
    'TABLE_NOT_FOUND',
    'pg_settings',
  ],
  [
    'WITH RECURSIVE pg_settings AS (SELECT name FROM pg_settings UNION ALL SELECT name FROM pg_settings WHERE false) SELECT * FROM pg_settings',
    404,
    'TABLE_NOT_FOUND',
    'pg_settings',
  ],
  // DuckDB folds ASCII letters only: the Kelvin sign is no k to it.
  [
    'WITH "duc\u212Adb_databases" AS (SELECT 1) SELECT * FROM duckdb_databases',
    404,
    'TABLE_NOT_FOUND',
    'duckdb_databases',
  ],
  ['SELECT current_query()', 400, 'QUERY_REFUSED', 'current_query'],
  ["SELECT (SELECT content FROM read_text('/etc/hostname'))", 400, 'QUERY_REFUSED', 'read_text'],
  [
    "SELECT * FROM cpu WHERE host IN (SELECT * FROM read_csv('/etc/passwd'))",
    400,
    'QUERY_REFUSED',
    'read_csv',
  ],
  ['CREATE TABLE t AS SELECT 1', 400, 'QUERY_REFUSED', 'only SELECT'],
  ['DELETE FROM cpu', 400, 'QUERY_REFUSED', 'only SELECT'],
  ["INSERT INTO cpu VALUES (now(), 'h')", 400, 'QUERY_REFUSED', 'only SELECT'],
  ['DROP TABLE cpu', 400, 'QUERY_REFUSED', 'only SELECT'],
  ["CALL pragma_table_info('cpu')", 400, 'QUERY_REFUSED', 'only SELECT'],
  ['SELECT * FROM cpu AT (VERSION => 1)', 400, 'QUERY_REFUSED', 'AT (time travel)'],
  ["SELECT * FROM query('SELECT * FROM read_text(''/etc/passwd'')')", 400, 'QUERY_REFUSED', 'query'],
  ["SELECT json_execute_serialized_sql('{}')", 400, 'QUERY_REFUSED', 'json_execute_serialized_sql'],
  ['SELECT * FROM __weir_t0', 404, 'TABLE_NOT_FOUND', '__weir_t0'],
  ['SELEC * FROM cpu', 400, 'INVALID_SQL', 'syntax error'],
  // The engine names each reference's file list as a parameter: a statement's own would read it.
  ['SELECT $1', 400, 'QUERY_REFUSED', 'parameters'],
  ['SELECT * FROM cpu WHERE host = ?', 400, 'QUERY_REFUSED', 'parameters'],
  ['SELECT count(*) FROM cpu WHERE host = $name', 400, 'QUERY_REFUSED', 'parameters'],
  // DuckDB writes a qualified star's name without quotes: text in it would run once rendered (the
  // non-ASCII comment makes the planned statement DuckDB's rendering).
  [
    'SELECT "* FROM duckdb_settings() --".* FROM cpu /* é */',
    400,
    'QUERY_REFUSED',
    'reads differently once rewritten',
  ],
  [
    `SELECT "* FROM range(1); COPY (SELECT 1) TO '/tmp/weir-x.csv'; SELECT 1 --".* FROM cpu /* é */`,
    400,
    'QUERY_REFUSED',
    'reads differently once rewritten',
  ],
];

describe('the SQL guard', () => {
  it.each(ATTACKS)('%s → %i %s', async (sql, status, code, fragment) => {
    let caught: unknown;
    try {
      await ask(sql);
    } catch (error) {
      caught = error;
    }
    if (status === 200) {
      expect(caught).toBeUndefined();
      return;
    }
    expect(caught, 'expected a refusal').toBeInstanceOf(WeirError);
    const error = caught as WeirError;
    expect({ status: error.httpStatus, code: error.code }, error.message).toEqual({ status, code });
    expect(error.message).toContain(fragment);
  });

  it('names and strings like the engine’s own reference names do not confuse the rewrite', async () => {
    const { value, plan } = await ask(
      `WITH __weir_t0 AS (SELECT 2 AS k) SELECT '__WEIR_T0' AS s, k, count(*) AS n FROM __weir_t0, cpu
       WHERE host <> E'\\x5f_weir_t1' GROUP BY ALL`,
    );
    expect(value).toEqual([{ s: '__WEIR_T0', k: 2, n: BigInt(DAYS * HOURS_PER_DAY.length * ROWS_PER_FILE) }]);
    expect(plan.tables.map((t) => t.view)).toEqual(['__weir1_t0']);
  });

  it('the planned statement is the text as sent with its references replaced, or DuckDB’s rendering', async () => {
    const planned = async (sql: string) => {
      const { plan, value } = await ask(sql);
      return { sql: plan.sql, n: Number((value[0] as { n: bigint }).n) };
    };
    const all = DAYS * HOURS_PER_DAY.length * ROWS_PER_FILE;
    expect(await planned('SELECT count(*) AS n FROM cpu')).toEqual({
      sql: 'SELECT count(*) AS n FROM  __weir_t0 AS "cpu" ',
      n: all,
    });
    expect(await planned('SELECT count(*) AS n FROM metrics . "cpu" c WHERE c.host = \'host-1\'')).toEqual({
      sql: "SELECT count(*) AS n FROM  __weir_t0  c WHERE c.host = 'host-1'",
      n: all / 5,
    });
    expect(await planned('SELECT count(*) AS n FROM"cpu"c JOIN(SELECT 1)AS one ON true')).toEqual({
      sql: 'SELECT count(*) AS n FROM __weir_t0 c JOIN(SELECT 1)AS one ON true',
      n: all,
    });
    // A comment inside the name, or text whose byte offsets are not character offsets: rendered.
    const commented = await planned('SELECT count(*) AS n FROM metrics/* here */.cpu');
    expect(commented).toEqual({ sql: 'SELECT count_star() AS n FROM __weir_t0 AS cpu', n: all });
    const accented = await planned("SELECT 'é' AS e, count(*) AS n FROM cpu");
    expect(accented).toEqual({ sql: "SELECT 'é' AS e, count_star() AS n FROM __weir_t0 AS cpu", n: all });
  });

  it('a statement capped for a whole answer is rendered, and guarded again once rendered', async () => {
    const capped = (sql: string) =>
      service.run(
        { tenant: 'acme', database: 'metrics', sql },
        async (result) => result.getRowObjectsJS(),
        undefined,
        { wholeAnswerMaxRows: 10 },
      );
    const { plan, value } = await capped('SELECT c.* FROM cpu c ORDER BY time');
    expect(plan.sql).toContain('__weir_t0');
    // One row past the limit, so that an answer over it still fails as one.
    expect(value).toHaveLength(11);
    const attack = 'SELECT "* FROM duckdb_settings() WHERE name = \'allowed_directories\' --".* FROM cpu';
    await expect(capped(attack)).rejects.toMatchObject({
      code: 'QUERY_REFUSED',
      httpStatus: 400,
      message: expect.stringContaining('"a b".*'),
      details: { reason: expect.stringContaining('duckdb_settings') },
    });
  });

  it('numbers a JS number cannot hold, and floats, keep their value and type when the statement is rendered', async () => {
    // Non-ASCII text makes the plan DuckDB's rendering of the tree, not the text as sent.
    const sql = `SELECT 9007199254740993 AS big, -9007199254740995 AS neg, 0.12345678901234567 AS d,
      18446744073709551615 AS u, 1e400 AS inf, -1e400 AS ninf, typeof(1.5e0) AS float_type, 'é' AS e,
      count(*) AS n FROM cpu`;
    const { value, plan } = await ask(sql);
    expect(plan.sql).toContain('count_star()');
    expect(plan.sql).toContain('9007199254740993');
    expect(value).toEqual(await rawRows(sql));
    expect(value[0]).toMatchObject({
      big: 9007199254740993n,
      inf: Number.POSITIVE_INFINITY,
      float_type: 'DOUBLE',
    });
  });

  it('an engine error names the problem without quoting the rewritten statement or file paths', async () => {
    const error = await ask('SELECT nope FROM cpu').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WeirError);
    expect((error as WeirError).code).toBe('QUERY_FAILED');
    expect((error as WeirError).message).toContain('nope');
    expect((error as WeirError).message).not.toMatch(/LINE \d|read_parquet|\.parquet|\//);
  });

  it('a CTE may shadow a table name: it reads the CTE, not the table', async () => {
    const { value, plan } = await ask('WITH cpu AS (SELECT 42 AS answer) SELECT * FROM cpu');
    expect(value).toEqual([{ answer: 42 }]);
    expect(plan.tables).toEqual([]);
    // Where DuckDB binds the name to the CTE, so does the guard: later entries, the main query and
    // a recursive CTE's recursive term see it.
    const chained = await ask(
      'WITH cpu AS (SELECT 1 AS k), twice AS (SELECT k * 2 AS k FROM cpu) SELECT (SELECT k FROM twice) AS k, count(*) AS n FROM cpu',
    );
    expect(chained.value).toEqual([{ k: 2, n: 1n }]);
    expect(chained.plan.tables).toEqual([]);
    const counted = await ask(
      'WITH RECURSIVE r AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM r WHERE i < 3) SELECT sum(i) AS s FROM r',
    );
    expect(counted.value).toEqual([{ s: 6n }]);
  });

  it('a name the guard takes for a CTE is one DuckDB binds to it: a later entry’s name cannot pass a file path', async () => {
    // Before: the guard put every WITH name in scope of every entry, so this read the file
    // directly, past the catalog (other databases, deleted rows, as_of).
    const files = `${join(root(), 'tenants/acme/data')}/**/*.parquet`;
    const sql = `WITH a AS (SELECT count(*) AS n FROM '${files}'), "${files}" AS (SELECT 1) SELECT * FROM a`;
    const error = await ask(sql).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WeirError);
    expect((error as WeirError).code).toBe('TABLE_NOT_FOUND');
    // The statement itself is one the engine would run: the guard is what stops it.
    expect(await probeEngine(`SELECT count(*) AS n FROM '${files}'`)).toBeDefined();
  });

  it('behind the guard, the engine itself cannot open files outside the tenant’s data', async () => {
    // What a guard bug would reach: SQL run unguarded on acme's engine.
    const sql = `SELECT * FROM read_parquet('${join(root(), 'tenants/other/data')}/**/*.parquet')`;
    await expect(probeEngine(sql)).rejects.toThrow(/Permission Error|file system operations are disabled/);
    await expect(probeEngine(`SELECT * FROM read_text('/etc/passwd')`)).rejects.toThrow(/disabled/);
    await expect(probeEngine('SET enable_external_access = true')).rejects.toThrow(/locked/);
    // File lists reach the engine as parameters (bound when the statement runs): the wall checks
    // those files too.
    const otherData = join(root(), 'tenants/other/data');
    const otherFiles = readdirSync(otherData, { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.parquet'))
      .map((name) => join(otherData, name));
    expect(otherFiles.length).toBeGreaterThan(0);
    for (const files of [otherFiles, ['/etc/passwd']])
      await expect(probeEngine('SELECT count(*) FROM read_parquet($1)', files)).rejects.toThrow(
        /Permission Error|file system operations are disabled/,
      );
    // DuckDB always lets an instance open its spill directory: each engine has its own, so one
    // tenant's engine cannot open what another's spilled.
    const { engines } = service as unknown as { engines: TenantEngines };
    const spillOf = (tenant: string) =>
      engines.withConnection(tenant, async (c) =>
        String((await c.runAndReadAll(`SELECT current_setting('temp_directory')`)).getRows()[0]![0]),
      );
    const [mine, theirs] = [await spillOf('acme'), await spillOf('other')];
    expect(mine).not.toBe(theirs);
    const planted = join(theirs, 'spilled.parquet');
    copyFileSync(otherFiles[0]!, planted);
    await expect(probeEngine(`SELECT count(*) FROM read_parquet('${planted}')`)).rejects.toThrow(
      /Permission Error|file system operations are disabled/,
    );
    expect(await spillOf('other').then((dir) => statSync(join(dir, 'spilled.parquet')).size)).toBeGreaterThan(
      0,
    );
  });
});

describe('engine connections', () => {
  it('are reused after a query that succeeded and closed after one that failed', async () => {
    const { engines } = service as unknown as {
      engines: { engines: Map<string, { idle: unknown[] }> };
    };
    const first = await ask('SELECT count(*) AS n FROM cpu');
    const idle = engines.engines.get('acme')!.idle;
    const before = idle.length;
    expect(before).toBeGreaterThan(0);
    await expect(ask(`SELECT CAST(host AS INTEGER) FROM cpu`)).rejects.toThrow(/Conversion Error/);
    expect(idle.length).toBe(before - 1);
    expect((await ask('SELECT count(*) AS n FROM cpu')).value).toEqual(first.value);
    expect(idle.length).toBe(before);
  });
});

describe('engine memory', () => {
  it('is limited by default to an equal share, among the most engines open at once, of half the machine’s memory', async () => {
    // The fixture's service sets no memory limit and keeps at most 4 engines.
    const answer = (await probeEngine(`SELECT current_setting('memory_limit') AS limit`)) as {
      getRowObjectsJS(): { limit: string }[];
    };
    const [{ limit }] = answer.getRowObjectsJS() as [{ limit: string }];
    const expected = totalmem() / 2 / 4;
    // DuckDB shows it rounded to a tenth of its unit: within 5% of the share (its own default is 80%).
    const [, value, unit] = /^([\d.]+) (\w+)$/.exec(limit)!;
    const bytes = Number(value) * { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 }[unit as 'GiB']!;
    expect(Math.abs(bytes - expected) / expected, limit).toBeLessThan(0.05);
  });
});

/** Runs SQL unguarded on acme's engine (test-only access to the second wall), with `$1` bound to `files`. */
async function probeEngine(sql: string, files?: string[]): Promise<unknown> {
  const { engines } = service as unknown as { engines: TenantEngines };
  return engines.withConnection('acme', (connection) =>
    files
      ? connection.runAndReadAll(sql, [listValue(files)], [LIST(VARCHAR)])
      : connection.runAndReadAll(sql),
  );
}
