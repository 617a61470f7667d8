/**
 * `weir import`, `weir write` and `weir query` as an operator runs them: the real binary against a
 * real `weir serve` (test/sdk/server.ts). Imports are checked by what `weir query` then answers;
 * bad files by their message, their exit code and the server taking no row of them at all.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import {
  Bool,
  makeData,
  makeVector,
  Table,
  TimestampNanosecond,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeParquet } from '../../catalog/parquet/index.js';
import { NotFoundError, toRecords } from '../../sdk/index.js';
import { waitFor } from '../helpers/wait.js';
import type { SdkServer } from '../sdk/server.js';
import { startSdkServer } from '../sdk/server.js';
import { type CliResult, hasStackTrace, runCli, runCliWithInput } from './cli.js';

let server: SdkServer;
let env: Record<string, string>;
let dir: string;
const T0 = Date.UTC(2026, 0, 1);

beforeAll(async () => {
  server = await startSdkServer();
  env = { WEIR_URL: server.url, WEIR_TOKEN: server.token };
  dir = mkdtempSync(join(tmpdir(), 'weir-cli-import-'));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Rows of a table of database `default` (0 while it does not exist). */
async function count(table: string): Promise<number> {
  try {
    return Number((await server.client().query(`SELECT count(*) FROM ${table}`)).data[0]![0]);
  } catch (error) {
    if (error instanceof NotFoundError) return 0;
    throw error;
  }
}

/** Ingest commits after a moment (flush runs): waits until the table holds `rows`. */
const untilCount = (table: string, rows: number) =>
  waitFor(async () => ((await count(table)) === rows ? true : undefined), 45_000, 100);

/** `weir query -f json`, parsed. */
async function queryJson(sql: string): Promise<Record<string, unknown>[]> {
  const result = await runCli(['query', '-f', 'json', sql], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

/** The same answer through the SDK, where what is under test is not `weir query`. */
async function records(sql: string): Promise<Record<string, unknown>[]> {
  return toRecords(await server.client().query(sql));
}

/** time (RFC 3339, 10 ms apart), host (100 tags), region, usage, count, ok. */
async function writeReadings(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  out.write('time,host,region,usage,count,ok\n');
  let chunk = '';
  let second = '';
  for (let i = 0; i < rows; i++) {
    // A hundred rows per second: the date and time up to the second is worked out once for them.
    if (i % 100 === 0) second = new Date(T0 + i * 10).toISOString().slice(0, 20);
    const ms = String((i % 100) * 10).padStart(3, '0');
    chunk += `${second}${ms}Z,host-${i % 100},r${i % 5},${(i % 1000) / 10},${i},${i % 2 === 0}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await finished(out);
}

/** Sum of the server's accepted-rows counter over every wire format. */
async function rowsAccepted(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return [...text.matchAll(/^weir_ingest_rows_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

describe('weir import', () => {
  it('imports a 1M-row CSV file, streamed and sent in Arrow batches, and weir query counts every row', async () => {
    const file = join(dir, 'readings.csv');
    await writeReadings(file, 1_000_000);
    const result = await runCli(['import', file, '--tags', 'host,region'], env);
    expect(result.code, result.stderr).toBe(0);
    const summary =
      /^imported 1,000,000 rows into default\.readings from .+ \(([\d,]+) rows\/s\): 0 errors, 10 requests/m;
    expect(result.stdout).toMatch(summary);
    console.log(`1M-row CSV import: ${result.stdout.trim()}`);

    await untilCount('readings', 1_000_000);
    expect(
      await queryJson(
        'SELECT count(*) AS n, count(DISTINCT host) AS hosts, sum("count") AS total, count(*) FILTER (WHERE ok) AS ok, ' +
          'min(time) AS first, max(time) AS last, max(usage) AS peak FROM readings',
      ),
    ).toEqual([
      {
        n: 1_000_000,
        hosts: 100,
        total: 499_999_500_000,
        ok: 500_000,
        first: '2026-01-01T00:00:00.000000Z',
        last: '2026-01-01T02:46:39.990000Z',
        peak: 99.9,
      },
    ]);
    // --tags made host and region tags; the other string-free columns kept their inferred types.
    expect(await server.columnRoles('default', 'readings')).toMatchObject({
      host: 'tag',
      region: 'tag',
      usage: 'field',
      count: 'field',
      ok: 'field',
    });
  });

  it('imports a Parquet file (nanosecond timestamps, several row groups) and weir query counts it', async () => {
    const rows = 200_000;
    const t0 = BigInt(Date.UTC(2026, 1, 1)) * 1_000_000n;
    const table = new Table({
      ts: makeVector(
        makeData({
          type: new TimestampNanosecond(),
          length: rows,
          data: BigInt64Array.from({ length: rows }, (_, i) => t0 + BigInt(i) * 1_000_000_001n),
        }),
      ),
      sensor: vectorFromArray(Array.from({ length: rows }, (_, i) => `s${i % 8}`)),
      temp: makeVector(Float64Array.from({ length: rows }, (_, i) => i / 2)),
      level: makeVector(Int32Array.from({ length: rows }, (_, i) => i % 1000)),
      active: vectorFromArray(
        Array.from({ length: rows }, (_, i) => i % 4 === 0),
        new Bool(),
      ),
    });
    const file = join(dir, 'sensors.parquet');
    writeFileSync(file, writeParquet(table, { rowGroupSize: 50_000 }));

    const result = await runCli(['import', file, '--time-column', 'ts'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^imported 200,000 rows into default\.sensors from .+sensors\.parquet/m);
    await untilCount('sensors', rows);
    expect(
      await queryJson(
        'SELECT count(*) AS n, count(DISTINCT sensor) AS sensors, sum(level) AS levels, sum(temp) AS temps, ' +
          'count(*) FILTER (WHERE active) AS active, min(time) AS first, max(time) AS last FROM sensors',
      ),
    ).toEqual([
      {
        n: rows,
        sensors: 8,
        levels: 200 * 499_500,
        temps: (rows * (rows - 1)) / 4,
        active: rows / 4,
        first: '2026-02-01T00:00:00.000000Z',
        // The last row is 199,999 × 1.000000001 s later: its nanoseconds are dropped, as Weir stores µs.
        last: '2026-02-03T07:33:19.000199Z',
      },
    ]);
    // Without --tags the string column is a tag (the server's rule) and the numbers are fields.
    expect(await server.columnRoles('default', 'sensors')).toMatchObject({ sensor: 'tag', temp: 'field' });
  });

  it('imports gzipped line protocol and Arrow IPC files', async () => {
    let lp = '# two tables, one file\n';
    for (let i = 0; i < 3000; i++) {
      lp += `cpu,host=h${i % 3} usage=${i}.5,procs=${i}i ${BigInt(T0 + i * 1000) * 1_000_000n}\n`;
      if (i % 3 === 0) lp += `mem,host=h0 used=${i}i ${BigInt(T0 + i * 1000) * 1_000_000n}\n`;
    }
    writeFileSync(join(dir, 'metrics.lp.gz'), gzipSync(lp));
    const rows = 5000;
    const arrow = new Table({
      time: makeVector(BigInt64Array.from({ length: rows }, (_, i) => BigInt(T0 + i))),
      device: vectorFromArray(Array.from({ length: rows }, (_, i) => `d${i % 10}`)),
      note: vectorFromArray(Array.from({ length: rows }, (_, i) => (i % 2 === 0 ? `n${i}` : null))),
      value: makeVector(Float64Array.from({ length: rows }, (_, i) => i)),
    });
    writeFileSync(join(dir, 'devices.arrow'), tableToIPC(arrow, 'file'));

    const [lpResult, arrowResult] = await Promise.all([
      runCli(['import', join(dir, 'metrics.lp.gz'), '--batch-size', '1000'], env),
      runCli(['import', join(dir, 'devices.arrow'), '--precision', 'ms', '--tags', 'device'], env),
    ]);
    expect(lpResult.code, lpResult.stderr).toBe(0);
    expect(lpResult.stdout).toMatch(
      /^imported 4,000 rows into default\.cpu, default\.mem from .+: 0 errors, 5 requests/m,
    );
    expect(arrowResult.code, arrowResult.stderr).toBe(0);
    expect(arrowResult.stdout).toMatch(/^imported 5,000 rows into default\.devices /m);
    await Promise.all([untilCount('cpu', 3000), untilCount('mem', 1000), untilCount('devices', rows)]);
    expect(
      await records(
        'SELECT (SELECT sum(procs) FROM cpu) AS procs, (SELECT max(used) FROM mem) AS used, ' +
          '(SELECT count(note) FROM devices) AS notes, (SELECT max(time) FROM devices) AS last',
      ),
    ).toEqual([{ procs: (3000 * 2999) / 2, used: 2997, notes: 2500, last: '2026-01-01T00:00:04.999000Z' }]);
    // --tags device: the other string column is a field.
    expect(await server.columnRoles('default', 'devices')).toMatchObject({ device: 'tag', note: 'field' });
  });
});

describe('bad files', () => {
  /** 1000 good rows of a CSV, with `bad` in place of row `at` (line at + 1). */
  function csvWith(at: number, bad: string): string {
    const lines = ['time,host,usage,count'];
    for (let i = 1; i <= 1000; i++) {
      lines.push(i === at ? bad : `${new Date(T0 + i * 1000).toISOString()},h${i % 4},${i / 4},${i}`);
    }
    return `${lines.join('\n')}\n`;
  }

  it('are refused whole with a clear message and exit 1, and nothing of them is ever queryable', async () => {
    writeFileSync(join(dir, 'bad_row.csv'), csvWith(600, '2026-01-01T00:10:00Z,h1,0.5,6,extra'));
    writeFileSync(join(dir, 'wrong_type.csv'), csvWith(700, '2026-01-01T00:11:40Z,h1,abc,7'));
    writeFileSync(join(dir, 'bad_time.csv'), csvWith(800, '2026-02-30T00:00:00Z,h1,0.5,8'));
    const good = new Table({
      time: makeVector(BigInt64Array.from({ length: 50_000 }, (_, i) => BigInt(T0 + i))),
      v: makeVector(Float64Array.from({ length: 50_000 }, (_, i) => Math.sin(i))),
    });
    const parquet = Buffer.from(writeParquet(good, { rowGroupSize: 10_000 }));
    // Garble the data of the last row group: the footer (schema, row groups) stays readable, and a
    // reader that sent row groups as it went would have sent the first four.
    const dataEnd = parquet.length - 8 - parquet.readUInt32LE(parquet.length - 8);
    for (let i = dataEnd - 3000; i < dataEnd - 100; i++) parquet[i] = (parquet[i]! * 7 + 3) & 255;
    writeFileSync(join(dir, 'corrupt.parquet'), parquet);
    writeFileSync(
      join(dir, 'mixed.lp'),
      `${`bad_lp f=1i ${T0}000000\n`.repeat(500)}bad_lp f=1.5 ${T0}000000\n`,
    );
    writeFileSync(join(dir, 'readings.xlsx'), 'time,v\n2026-01-01T00:00:00Z,1\n');
    const before = await rowsAccepted();

    // A batch size of 100 means a row-by-row importer would have sent rows before the bad one.
    const run = (file: string) => runCli(['import', join(dir, file), '--batch-size', '100'], env);
    const [badRow, wrongType, badTime, corrupt, mixed, unknown] = await Promise.all([
      run('bad_row.csv'),
      run('wrong_type.csv'),
      run('bad_time.csv'),
      run('corrupt.parquet'),
      run('mixed.lp'),
      run('readings.xlsx'),
    ]);
    const refused = (result: CliResult, file: string, detail: RegExp) => {
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toContain(`error: ${join(dir, file)}: 1 problem; nothing was imported`);
      expect(result.stderr).toMatch(detail);
      expect(result.stdout).toBe('');
      expect(hasStackTrace(result.stderr)).toBe(false);
    };
    refused(badRow, 'bad_row.csv', /line 601: 5 fields, but the header has 4/);
    refused(
      wrongType,
      'wrong_type.csv',
      /line 701, column usage: "abc" is not a number; the column holds numbers/,
    );
    refused(badTime, 'bad_time.csv', /line 801, column time: "2026-02-30T00:00:00Z" is no such date/);
    refused(corrupt, 'corrupt.parquet', /not a valid Parquet file/);
    refused(
      mixed,
      'mixed.lp',
      /table bad_lp: f is a float64 field in line 501, but f is an int64 field in lines 1–100/,
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /cannot tell the format of .+readings\.xlsx from its name .+ pass --format/,
    );

    // The server accepted no row of any of them...
    expect(await rowsAccepted()).toBe(before);
    // ...and once a later write to the same tables is queryable, they hold that write alone.
    const tables = ['bad_row', 'wrong_type', 'bad_time', 'corrupt', 'bad_lp'];
    await server.client().writeRows(tables.map((table) => ({ table, time: T0, fields: { sentinel: 1 } })));
    await Promise.all(tables.map((table) => untilCount(table, 1)));
    for (const table of tables) expect(await count(table)).toBe(1);
  });

  it('checks the file against the existing table before sending', async () => {
    // readings.usage is a float64 column: text cannot go into it, and the server would refuse it part way.
    const file = join(dir, 'clash.csv');
    writeFileSync(file, `time,host,usage\n2026-03-01T00:00:00Z,h1,high\n`);
    const result = await runCli(['import', file, '--table', 'readings', '--tags', 'host'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'column usage of default.readings is float64 in the table, but the file holds string values',
    );
    expect(result.stderr).toContain('nothing was imported');
  });

  it('--dry-run checks and describes a file and sends nothing', async () => {
    const file = join(dir, 'dry.csv');
    writeFileSync(file, 'ts,site,reading,flag\n1767225600000,a,1,true\n1767225601000,b,2.5,\n');
    const before = await rowsAccepted();
    const result = await runCli(['import', file, '--time-column', 'ts', '--dry-run'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('2 rows of epoch milliseconds (by their size; --precision sets it)');
    expect(result.stdout).toMatch(/│ site\s+│ string\s+│ tag\s+│/);
    expect(result.stdout).toMatch(/│ reading\s+│ float64\s+│ field\s+│/);
    expect(result.stdout).toMatch(/│ flag\s+│ bool\s+│ field\s+│/);
    expect(result.stdout).toContain('nothing was sent (--dry-run)');
    expect(await rowsAccepted()).toBe(before);
  });
});

describe('weir write', () => {
  it('writes line protocol and CSV from stdin', async () => {
    const lp = `stdin_lp,host=a v=1.5 ${T0 / 1000}\nstdin_lp,host=b v=2.5 ${T0 / 1000 + 1}\n`;
    const csv =
      'when,host,v\n2026-01-01T00:00:00+01:00,a,1\n2026-01-01T00:00:01+01:00,a,2\n2026-01-01T00:00:02+01:00,b,\n';
    const [fromLp, fromCsv] = await Promise.all([
      runCliWithInput(['write', '--precision', 's'], lp, env),
      runCliWithInput(
        ['write', '-f', 'csv', '-t', 'stdin_csv', '--time-column', 'when', '--tags', 'host'],
        csv,
        env,
      ),
    ]);
    expect(fromLp.code, fromLp.stderr).toBe(0);
    expect(fromLp.stdout).toMatch(/^wrote 2 rows into default\.stdin_lp from stdin/m);
    expect(fromCsv.code, fromCsv.stderr).toBe(0);
    await Promise.all([untilCount('stdin_lp', 2), untilCount('stdin_csv', 3)]);
    expect(await records('SELECT host, v, time FROM stdin_csv ORDER BY time')).toEqual([
      { host: 'a', v: 1, time: '2025-12-31T23:00:00.000000Z' },
      { host: 'a', v: 2, time: '2025-12-31T23:00:01.000000Z' },
      { host: 'b', v: null, time: '2025-12-31T23:00:02.000000Z' },
    ]);
    expect(await records('SELECT sum(v) AS v, max(time) AS last FROM stdin_lp')).toEqual([
      { v: 4, last: '2026-01-01T00:00:01.000000Z' },
    ]);
  });
});

describe('weir query', () => {
  const sql =
    'SELECT sensor, count(*) AS n, sum(level) AS levels FROM sensors GROUP BY sensor ORDER BY sensor';

  it('prints the same answer as a table, CSV, JSON and an Arrow IPC stream', async () => {
    const arrowFile = join(dir, 'answer.arrows');
    const [table, csv, json, arrow] = await Promise.all([
      runCli(['query', sql], env),
      runCli(['query', '--format', 'csv', sql], env),
      runCli(['query', '--format', 'json', sql], env),
      runCli(['query', '--format', 'arrow', '--output', arrowFile, sql], env),
    ]);
    for (const result of [table, csv, json, arrow]) expect(result.code, result.stderr).toBe(0);
    const expected = Array.from({ length: 8 }, (_, s) => ({
      sensor: `s${s}`,
      n: 25_000,
      // Sensor s has the rows i ≡ s (mod 8), whose levels i % 1000 are 8k + s (k < 125), 200 times over.
      levels: 200 * (62_000 + 125 * s),
    }));
    expect(JSON.parse(json.stdout)).toEqual(expected);
    expect(csv.stdout).toBe(
      `sensor,n,levels\n${expected.map((r) => `${r.sensor},${r.n},${r.levels}`).join('\n')}\n`,
    );
    const ipc = tableFromIPC(readFileSync(arrowFile));
    expect(ipc.numRows).toBe(8);
    expect(ipc.schema.fields.map((f) => f.name)).toEqual(['sensor', 'n', 'levels']);
    expect(
      ipc.toArray().map((row) => ({ sensor: row.sensor, n: Number(row.n), levels: Number(row.levels) })),
    ).toEqual(expected);
    expect(table.stdout).toMatch(/│ sensor\s+│ n\s+│ levels\s+│/);
    expect(table.stdout).toMatch(new RegExp(`│ s7\\s+│ 25000\\s+│ ${expected[7]!.levels}\\s+│`));
    expect(table.stdout).toMatch(/^\(8 rows, [\d.]+ ms\)$/m);
  });

  it('keeps NULL and empty strings apart in CSV, and prints a header for an empty answer', async () => {
    const [values, empty] = await Promise.all([
      runCli(['query', '-f', 'csv', `SELECT NULL AS a, '' AS b, 'x,"y"' AS c, 1 AS "1"`], env),
      runCli(['query', '-f', 'csv', 'SELECT sensor, temp FROM sensors WHERE false'], env),
    ]);
    expect(values.stdout).toBe('a,b,c,1\n,"","x,""y""",1\n');
    expect(empty.stdout).toBe('sensor,temp\n');
  });

  it('reads an earlier catalog version with --as-of', async () => {
    const version = Number((await server.client().query('SELECT 1 FROM stdin_lp LIMIT 1')).catalog_version);
    await server.client().writeLineProtocol(`stdin_lp,host=c v=10 ${T0}000000`);
    await untilCount('stdin_lp', 3);
    const [now, then] = await Promise.all([
      records('SELECT count(*) AS n FROM stdin_lp'),
      runCli(['query', '-f', 'json', '--as-of', String(version), 'SELECT count(*) AS n FROM stdin_lp'], env),
    ]);
    expect(now).toEqual([{ n: 3 }]);
    expect(JSON.parse(then.stdout)).toEqual([{ n: 2 }]);
  });

  it("reports the server's refusal with its message and code, exit 1, no stack trace", async () => {
    const [missing, refused] = await Promise.all([
      runCli(['query', 'SELECT * FROM no_such_table'], env),
      runCli(['query', 'DROP TABLE sensors'], env),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'error: table default.no_such_table does not exist (TABLE_NOT_FOUND, HTTP 404)\n',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: .*only SELECT.* \(QUERY_REFUSED, HTTP 400\)\n$/);
  });
});
