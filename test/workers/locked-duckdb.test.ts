import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withLockedDuckDB } from '../../workers/tasks/duckdb.js';

let root: string;
let taskDir: string;
let outside: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'weir-locked-'));
  taskDir = join(root, 'task');
  mkdirSync(taskDir);
  outside = join(root, 'other.parquet');
  // Written by an unlocked instance: a file beside the task's directory, as another tenant's would be.
  await withLockedDuckDB(root, (c) => c.run(`COPY (SELECT 7 AS v) TO '${outside}' (FORMAT parquet)`));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the DuckDB instance of a task that runs tenant SQL', () => {
  it('opens and writes files in its directory only, with its settings locked and times in UTC', async () => {
    await withLockedDuckDB(taskDir, async (connection) => {
      const inside = join(taskDir, 'in.parquet');
      await connection.run(`COPY (SELECT 1 AS v) TO '${inside}' (FORMAT parquet)`);
      const read = await connection.runAndReadAll(`SELECT v FROM read_parquet('${inside}')`);
      expect(read.getRows()).toEqual([[1]]);
      await expect(connection.run(`SELECT * FROM read_parquet('${outside}')`)).rejects.toThrow(
        /Permission Error|file system operations are disabled/,
      );
      await expect(
        connection.run(`SELECT * FROM read_parquet('${taskDir}/../other.parquet')`),
      ).rejects.toThrow(/Permission Error|file system operations are disabled/);
      await expect(connection.run(`SELECT * FROM read_text('/etc/hostname')`)).rejects.toThrow(/disabled/);
      await expect(connection.run('SET enable_external_access = true')).rejects.toThrow(/locked/);
      const zone = await connection.runAndReadAll(`SELECT current_setting('TimeZone')`);
      expect(zone.getRows()).toEqual([['UTC']]);
    });
  });
});
