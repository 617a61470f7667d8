import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, TenantCatalog } from '../../catalog/index.js';
import { addFile, createTable, removeFile } from './fixtures/actions.js';

/** The documented checkpoint columns (docs/catalog-checkpoints.md), as DuckDB types. */
const DOCUMENTED: Record<string, Record<string, string>> = {
  databases: { name: 'VARCHAR', created_version: 'BIGINT', created_at: 'TIMESTAMP', properties: 'VARCHAR' },
  tables: {
    database: 'VARCHAR',
    name: 'VARCHAR',
    partitioning: 'VARCHAR',
    sort_key: 'VARCHAR[]',
    created_version: 'BIGINT',
    schema_version: 'BIGINT',
    file_count: 'BIGINT',
    row_count: 'BIGINT',
    byte_count: 'BIGINT',
  },
  columns: {
    database: 'VARCHAR',
    table: 'VARCHAR',
    name: 'VARCHAR',
    type: 'VARCHAR',
    role: 'VARCHAR',
    ordinal: 'INTEGER',
  },
  files: {
    path: 'VARCHAR',
    database: 'VARCHAR',
    table: 'VARCHAR',
    partition: 'VARCHAR',
    rows: 'BIGINT',
    bytes: 'BIGINT',
    min_time: 'TIMESTAMP',
    max_time: 'TIMESTAMP',
    sha256: 'VARCHAR',
    column_stats: 'VARCHAR',
    added_version: 'BIGINT',
    source_version: 'BIGINT',
    removed_version: 'BIGINT',
    removed_at: 'TIMESTAMP',
  },
  policies: {
    id: 'VARCHAR',
    kind: 'VARCHAR',
    database: 'VARCHAR',
    table: 'VARCHAR',
    definition: 'VARCHAR',
    version: 'BIGINT',
  },
  commits: {
    version: 'BIGINT',
    committed_at: 'TIMESTAMP',
    action_count: 'BIGINT',
    author: 'VARCHAR',
    run_id: 'VARCHAR',
    task_id: 'VARCHAR',
    idempotency_key: 'VARCHAR',
    logical_time: 'VARCHAR',
    operation: 'VARCHAR',
  },
};

describe('checkpoint Parquet files are plain Parquet that DuckDB reads directly', () => {
  const root = mkdtempSync(join(tmpdir(), 'weir-ckpt-duckdb-'));
  const store = new LocalObjectStore(root);
  let files: Record<string, string>;
  let connection: Awaited<ReturnType<DuckDBInstance['connect']>>;

  beforeAll(async () => {
    const catalog = new TenantCatalog(store, 'acme', { now: () => Date.parse('2026-03-05T10:00:00Z') });
    await catalog.commit([{ op: 'createDatabase', database: 'db' }, ...createTable('db', 'cpu')], {
      author: 'tok_1',
      operation: 'ddl',
    });
    await catalog.commit(
      [addFile('acme', 'db', 'cpu', 0, 'f1', 10), addFile('acme', 'db', 'cpu', 5, 'f2', 20)],
      {
        idempotencyKey: 'flush-1',
        runId: 'run-1',
      },
    );
    await catalog.commit([removeFile(addFile('acme', 'db', 'cpu', 0, 'f1'))]);
    await catalog.commit([
      { op: 'setPolicy', policy: { id: 'r1', kind: 'retention', database: 'db', definition: { days: 7 } } },
    ]);
    const manifest = await catalog.checkpoint();
    files = Object.fromEntries(manifest.files.map((f) => [f.table, join(root, f.key)]));
    connection = await (await DuckDBInstance.create(':memory:')).connect();
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(Object.keys(DOCUMENTED))('%s has the documented columns and types', async (table) => {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${files[table]}')`);
    const described = Object.fromEntries(
      reader.getRowObjects().map((r) => [String(r.column_name), String(r.column_type)]),
    );
    expect(described).toEqual(DOCUMENTED[table]);
  });

  it('DuckDB sees live files, tombstones and history with the right values', async () => {
    const live = await connection.runAndReadAll(
      `SELECT path, rows, strftime(min_time, '%Y-%m-%dT%H:%M:%S.%f') AS min_time FROM read_parquet('${files.files}') WHERE removed_version IS NULL`,
    );
    expect(live.getRowObjects()).toEqual([
      {
        path: 'tenants/acme/data/db/cpu/date=2026-03-01/hour=05/f2.parquet',
        rows: 20n,
        min_time: '2026-03-01T05:00:00.000000',
      },
    ]);
    const dead = await connection.runAndReadAll(
      `SELECT path, removed_version FROM read_parquet('${files.files}') WHERE removed_version IS NOT NULL`,
    );
    expect(dead.getRowObjects()).toEqual([
      { path: 'tenants/acme/data/db/cpu/date=2026-03-01/hour=00/f1.parquet', removed_version: 3n },
    ]);
    const history = await connection.runAndReadAll(
      `SELECT version, operation, idempotency_key, author FROM read_parquet('${files.commits}') ORDER BY version`,
    );
    expect(history.getRowObjects()).toEqual([
      { version: 1n, operation: 'ddl', idempotency_key: null, author: 'tok_1' },
      { version: 2n, operation: null, idempotency_key: 'flush-1', author: null },
      { version: 3n, operation: null, idempotency_key: null, author: null },
      { version: 4n, operation: null, idempotency_key: null, author: null },
    ]);
    const tables = await connection.runAndReadAll(
      `SELECT sort_key, file_count, row_count FROM read_parquet('${files.tables}')`,
    );
    expect(tables.getRowObjects()[0]).toMatchObject({ file_count: 1n, row_count: 20n });
  });
});
