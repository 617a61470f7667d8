import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidNameError, paths } from '../../catalog/index.js';
import {
  loadDataFile,
  openWorkerDuckDB,
  outputRelativePath,
  outputsChecksum,
  sqlIdentifier,
  sqlString,
  type TableShape,
  writeSortedFiles,
} from '../../workers/tasks/index.js';
import { queryRows } from './support.js';

describe('sorted data files', () => {
  let duckdb: DuckDBInstance;
  let dir: string;

  beforeAll(async () => {
    duckdb = await openWorkerDuckDB({ threads: 2 });
    dir = await mkdtemp(join(tmpdir(), 'weir-data-files-'));
  });
  afterAll(async () => {
    duckdb?.closeSync();
    await rm(dir, { recursive: true, force: true });
  });

  const shape: TableShape = {
    columns: [
      { name: 'time', type: 'timestamp', role: 'time' },
      { name: 'host', type: 'string', role: 'tag' },
      { name: 'x', type: 'float64', role: 'field' },
      { name: 'n', type: 'int64', role: 'field' },
      { name: 'ok', type: 'bool', role: 'field' },
      { name: 'note', type: 'string', role: 'field' },
      { name: 'empty', type: 'float64', role: 'field' },
    ],
    sortKey: ['host', 'time'],
  };

  async function write(
    sql: string,
    sourceColumns: string[],
    options: { targetRows?: number; dedup?: boolean; duckdb?: DuckDBInstance } = {},
  ) {
    const connection = await (options.duckdb ?? duckdb).connect();
    try {
      await connection.run(`CREATE OR REPLACE TEMP TABLE src AS ${sql}`);
      const counted = await connection.runAndReadAll('SELECT count(*) FROM src');
      return await writeSortedFiles(connection, shape, {
        source: 'src',
        sourceColumns: new Set(sourceColumns),
        tieBreakers: ['rowid'],
        dedup: options.dedup ?? false,
        targetRows: options.targetRows ?? 1000,
        sourceRows: Number(counted.getRows()[0]![0]),
        dir: join(dir, String(Math.random()).slice(2)),
      });
    } finally {
      connection.closeSync();
    }
  }

  it('reports exact statistics and leaves out what JSON or DuckDB cannot carry exactly', async () => {
    const long = 'y'.repeat(300);
    const { files, rows } = await write(
      `SELECT * FROM (VALUES
        (TIMESTAMP '2026-03-01 00:00:00.000001', 'b', 'nan'::DOUBLE, 9007199254740993, true, '${long}'),
        (TIMESTAMP '2026-03-01 00:59:59.999999', 'a''q', -0.5, -3, false, NULL),
        (TIMESTAMP '2026-03-01 00:30:00', NULL, 2.25, 7, NULL, 'short'),
        (TIMESTAMP '2026-03-01 00:30:00', 'a''q', 1e300, NULL, true, 'a')
      ) t(time, host, x, n, ok, note)`,
      ['time', 'host', 'x', 'n', 'ok', 'note'],
    );
    expect(rows).toBe(4);
    expect(files).toHaveLength(1);
    const [file] = files;
    const base = Date.parse('2026-03-01T00:00:00Z') * 1000;
    expect(file!.minTime).toBe(base + 1);
    expect(file!.maxTime).toBe(base + 3_600_000_000 - 1);
    expect(file!.columnStats).toEqual({
      time: { min: base + 1, max: base + 3_600_000_000 - 1, nullCount: 0 },
      host: { min: "a'q", max: 'b', nullCount: 1 },
      x: { min: -0.5, nullCount: 0 }, // NaN present: no max
      n: { min: -3, nullCount: 1 }, // max beyond 2^53: left out
      ok: { min: false, max: true, nullCount: 1 },
      note: { min: 'a', nullCount: 1 }, // max is 300 characters: DuckDB cuts it, so it is left out
      empty: { nullCount: 4 },
    });
    // NULL tags sort last, then rows by time.
    const order = await queryRows(duckdb, `SELECT host, x FROM read_parquet(${sqlString(file!.localPath)})`);
    expect(order.map((r) => r.host)).toEqual(["a'q", "a'q", 'b', null]);
  });

  it('orders by the sort key, then the tie-breakers only: equal keys keep source order, -0.0 and 0.0 too', async () => {
    const t0 = "TIMESTAMP '2026-03-01 00:00:00'";
    const t1 = "TIMESTAMP '2026-03-01 00:00:01'";
    const sql = `SELECT * FROM (VALUES (${t1}, 'b', 3.0), (${t1}, 'a', '-0'::DOUBLE), (${t1}, 'a', 2.0),
      (${t1}, 'a', 0.0), (${t1}, 'a', -1.0), (${t0}, 'a', 5.0)) t(time, host, x)`;
    const { files } = await write(sql, ['time', 'host', 'x']);
    const read = await queryRows(
      duckdb,
      `SELECT host, x FROM read_parquet(${sqlString(files[0]!.localPath)})`,
    );
    expect(read.map((r) => [r.host, r.x])).toEqual([
      ['a', 5],
      ['a', -0],
      ['a', 2],
      ['a', 0],
      ['a', -1],
      ['b', 3],
    ]);
    expect(Object.is(read[1]!.x, -0) && Object.is(read[3]!.x, 0)).toBe(true);
    // The same bytes from a one-thread instance.
    const oneThread = await openWorkerDuckDB({ threads: 1 });
    try {
      const again = await write(sql, ['time', 'host', 'x'], { duckdb: oneThread });
      expect((await loadDataFile(again.files[0]!.localPath)).sha256).toBe(
        (await loadDataFile(files[0]!.localPath)).sha256,
      );
    } finally {
      oneThread.closeSync();
    }
  });

  it('splits into files of consecutive rows whose sizes differ by at most one', async () => {
    const { files } = await write(
      `SELECT TIMESTAMP '2026-03-01 00:00:00' + to_microseconds(i) AS time, 'h' || (i % 3) AS host FROM range(10) r(i)`,
      ['time', 'host'],
      { targetRows: 3 },
    );
    expect(files.map((f) => f.rows)).toEqual([2, 3, 2, 3]);
    expect(files.map((f) => f.columnStats.host)).toEqual([
      { min: 'h0', max: 'h0', nullCount: 0 },
      { min: 'h0', max: 'h1', nullCount: 0 },
      { min: 'h1', max: 'h1', nullCount: 0 },
      { min: 'h2', max: 'h2', nullCount: 0 },
    ]);
  });

  it('quotes SQL literals and identifiers', () => {
    expect(sqlString("a'b")).toBe("'a''b'");
    expect(sqlIdentifier('we"ird')).toBe('"we""ird"');
    expect(() => sqlString('a\u0000b')).toThrow(RangeError);
    expect(() => sqlIdentifier('')).toThrow(RangeError);
  });
});

describe('scratch keys', () => {
  const partition = { date: '2026-03-01', hour: 5 };

  it('mirror the data keys under the replay prefix', () => {
    const data = paths.dataKeys.file('acme', 'db', 'cpu', partition, 'tsk_1-0');
    const scratch = paths.scratchKeys.dataFile('acme', 'rpl_1', 'db', 'cpu', partition, 'tsk_1-0');
    expect(paths.scratchKeys.prefix('acme', 'rpl_1')).toBe('tenants/acme/scratch/rpl_1/');
    expect(scratch).toBe('tenants/acme/scratch/rpl_1/data/db/cpu/date=2026-03-01/hour=05/tsk_1-0.parquet');
    expect(paths.scratchKeys.parsePrefix('acme', 'tenants/acme/scratch/rpl_1/')).toBe('rpl_1');
    expect(outputRelativePath('acme', data)).toBe(outputRelativePath('acme', scratch));
    expect(outputsChecksum('acme', [{ path: data, sha256: 'a'.repeat(64) }])).toBe(
      outputsChecksum('acme', [{ path: scratch, sha256: 'a'.repeat(64) }]),
    );
  });

  it('refuse bad replay ids, other tenants and keys already in scratch', () => {
    expect(() => paths.scratchKeys.prefix('acme', '../x')).toThrow(InvalidNameError);
    expect(() => paths.scratchKeys.parsePrefix('acme', 'tenants/other/scratch/rpl_1/')).toThrow(
      InvalidNameError,
    );
    expect(() => paths.scratchKeys.parsePrefix('acme', 'tenants/acme/scratch/a/b/')).toThrow(
      InvalidNameError,
    );
    expect(() => paths.scratchKeys.parsePrefix('acme', 'tenants/acme/scratch/rpl_1')).toThrow(
      InvalidNameError,
    );
    expect(() => paths.scratchKeys.mirror('acme', 'rpl_1', 'tenants/other/data/x.parquet')).toThrow(
      InvalidNameError,
    );
    expect(() => paths.scratchKeys.mirror('acme', 'rpl_1', 'tenants/acme/scratch/rpl_0/x')).toThrow(
      InvalidNameError,
    );
    expect(() => paths.scratchKeys.mirror('acme', 'rpl_1', 'tenants/acme/../other/x')).toThrow(
      InvalidNameError,
    );
  });
});
