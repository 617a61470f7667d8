/**
 * The browser console's row-group choice, over footers DuckDB wrote: a group is left out only when
 * its `time` statistics are wholly outside the range, to the microsecond (and outwards for
 * nanoseconds), never by a statistic rounded to the millisecond.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserSessionFile, BrowserSessionTable } from '../../sdk/index.js';
import { rowGroupsFor } from '../../web/engine/row-groups.js';

const NOON_US = Date.parse('2026-03-01T12:00:00Z') * 1000;
let dir: string;
let duckdb: DuckDBInstance;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'weir-row-groups-'));
  duckdb = await DuckDBInstance.create(':memory:', { threads: '1' });
});
afterAll(() => {
  duckdb?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

/** Two row groups of 2,048 rows a microsecond apart: the first ends at 12:00:00.000900 (µs) or …000900500 (ns), the second starts a second later. */
async function twoGroups(type: 'TIMESTAMP' | 'TIMESTAMP_NS'): Promise<Buffer> {
  const path = join(dir, `${type}.parquet`);
  const lastOfFirstNs = BigInt(NOON_US) * 1000n + (type === 'TIMESTAMP' ? 900_000n : 900_500n);
  const connection = await duckdb.connect();
  try {
    await connection.run(
      `COPY (SELECT CAST(make_timestamp_ns(CASE WHEN i < 2048 THEN ${lastOfFirstNs} - (2047 - i) * 1000
                                                ELSE ${BigInt(NOON_US + 1_000_000) * 1000n} + i * 1000 END) AS ${type}) AS time
             FROM range(4096) r(i) ORDER BY time)
       TO '${path}' (FORMAT parquet, ROW_GROUP_SIZE 2048)`,
    );
  } finally {
    connection.closeSync();
  }
  return readFileSync(path);
}

async function chosen(
  bytes: Buffer,
  from: number | null,
  to: number | null,
): Promise<readonly number[] | undefined> {
  const table = { time_range: { from, to } } as unknown as BrowserSessionTable;
  const file = {
    url: 'file',
    bytes: bytes.length,
    min_time_us: NOON_US - 10_000,
    max_time_us: NOON_US + 3_000_000,
  } as unknown as BrowserSessionFile;
  const choice = await rowGroupsFor(
    table,
    file,
    async (_url, start, end) => new Uint8Array(bytes.subarray(start, end)).buffer,
  );
  return choice.chosen;
}

describe('row groups for a time range', () => {
  it('keeps a group whose last row is in the range by microseconds only', async () => {
    const bytes = await twoGroups('TIMESTAMP');
    expect(await chosen(bytes, NOON_US + 500, null)).toEqual([0, 1]);
    expect(await chosen(bytes, NOON_US + 900, null)).toEqual([0, 1]);
    expect(await chosen(bytes, NOON_US + 901, null)).toEqual([1]);
    expect(await chosen(bytes, null, NOON_US + 900)).toEqual([0]);
  });

  it('rounds nanosecond statistics outwards', async () => {
    const bytes = await twoGroups('TIMESTAMP_NS');
    // The first group's max is 900.5 µs: a range from 901 µs may still hold it.
    expect(await chosen(bytes, NOON_US + 901, null)).toEqual([0, 1]);
    expect(await chosen(bytes, NOON_US + 902, null)).toEqual([1]);
  });
});
