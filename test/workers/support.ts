/** Shared set-up of the task executor tests: envelopes, task contexts, DuckDB checks over stored files. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll } from 'vitest';
import {
  type FileEntry,
  type ObjectStore,
  sha256Hex,
  type TenantCatalog,
  TenantCatalogs,
  tableKey,
} from '../../catalog/index.js';
import type { DispatchEnvelope } from '../../proto/index.js';
import type { TaskInputs } from '../../proto/task-inputs.js';
import { planRun } from '../../services/orchestrator/planner/index.js';
import { openWorkerDuckDB, sqlString, type TaskContext } from '../../workers/tasks/index.js';
import type { TestBackend } from '../helpers/stores.js';

let serial = 0;

/** A fresh tenant name per test, so tests on one store never see each other. */
export function freshTenant(prefix = 't'): string {
  serial++;
  return `${prefix}${process.pid}x${serial}`;
}

export function envelopeOf(
  tenant: string,
  kind: string,
  catalogVersion: number,
  inputs: unknown,
  options: { taskId?: string; scratchPrefix?: string; attempt?: number } = {},
): DispatchEnvelope {
  const taskId =
    options.taskId ?? `tsk_${sha256Hex(`${tenant}\n${kind}\n${JSON.stringify(inputs)}`).slice(0, 32)}`;
  const attempt = options.attempt ?? 1;
  return {
    tenant,
    runId: `run_${sha256Hex(taskId).slice(0, 32)}`,
    planId: `pln_${sha256Hex(taskId).slice(0, 32)}`,
    taskId,
    taskKey: `${kind}:test`,
    attempt,
    attemptId: `att_${sha256Hex(`${taskId}:${attempt}`).slice(0, 32)}`,
    kind,
    catalogVersion,
    inputsJson: typeof inputs === 'string' ? inputs : JSON.stringify(inputs),
    deadlineMs: 0,
    scratchPrefix: options.scratchPrefix ?? '',
  };
}

/** Live files of a partition at a state, oldest commit first (the planner's order). */
export async function liveFilesOf(
  catalog: TenantCatalog,
  database: string,
  table: string,
  partition: string,
  version?: number,
): Promise<FileEntry[]> {
  const state = version === undefined ? await catalog.refresh() : await catalog.at({ version });
  const files = state.tables.get(tableKey(database, table))?.partitions.get(partition);
  return [...(files?.values() ?? [])].sort(
    (a, b) => a.addedVersion - b.addedVersion || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
}

/** The planner's compaction inputs for a partition at `version` (or the head): its real file order. */
export async function compactionInputs(
  catalog: TenantCatalog,
  database: string,
  table: string,
  partition: string,
  options: { version?: number; dedup?: boolean; targetRows?: number } = {},
): Promise<{ version: number; inputs: TaskInputs<'compaction'> }> {
  const state =
    options.version === undefined ? await catalog.refresh() : await catalog.at({ version: options.version });
  const plan = planRun(
    {
      kind: 'compaction',
      tenant: catalog.tenant,
      logicalTime: new Date(state.timestamp).toISOString(),
      tier: 'hourly',
      database,
      table,
      partition,
      dedup: options.dedup ?? false,
      targetRows: options.targetRows ?? 1_000_000,
    },
    state,
  );
  const task = plan.tasks[0];
  if (task?.kind !== 'compaction') throw new Error(`no compaction planned for ${partition}`);
  return { version: state.version, inputs: task.inputs };
}

export interface TestContext extends TaskContext {
  cleanup(): Promise<void>;
}

export async function taskContext(store: ObjectStore, duckdb: DuckDBInstance): Promise<TestContext> {
  const workRoot = await mkdtemp(join(tmpdir(), 'weir-worker-'));
  // Looks like a hive partition of a tag the test tables have: a task reading its local copies as
  // hive-partitioned would replace that column's values, and the tests would see it.
  const workDir = join(workRoot, 'host=from-the-path');
  await mkdir(workDir);
  return {
    store,
    catalogs: new TenantCatalogs(store),
    duckdb,
    workDir,
    cleanup: () => rm(workRoot, { recursive: true, force: true }),
  };
}

/** Runs `work` with local copies of stored objects (DuckDB reads local files only here). */
export async function withLocalCopies<T>(
  store: ObjectStore,
  keys: readonly string[],
  work: (localPaths: string[]) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-copies-'));
  try {
    const local = await Promise.all(
      keys.map(async (key, i) => {
        const path = join(dir, `${String(i).padStart(6, '0')}.parquet`);
        await writeFile(path, await store.get(key));
        return path;
      }),
    );
    return await work(local);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function parquetList(localPaths: readonly string[]): string {
  return `read_parquet([${localPaths.map(sqlString).join(', ')}], union_by_name = true)`;
}

export async function queryRows(duckdb: DuckDBInstance, sql: string): Promise<Record<string, unknown>[]> {
  const connection = await duckdb.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

export async function scalar(duckdb: DuckDBInstance, sql: string): Promise<number> {
  const rows = await queryRows(duckdb, sql);
  return Number(Object.values(rows[0]!)[0]);
}

/** Every key under a prefix. */
export async function keysUnder(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.listAll(prefix)) keys.push(info.key);
  return keys;
}

export interface ExecutorEnvironment {
  store: ObjectStore;
  duckdb: DuckDBInstance;
  ctx: TestContext;
}

/**
 * Registers the hooks every executor suite needs: a fresh store of `backend`, a DuckDB with
 * `threads` threads and a task context before the suite, all closed after it.
 */
export function useExecutorEnvironment(
  backend: TestBackend,
  threads: number,
  receive: (env: ExecutorEnvironment) => void,
): void {
  let env: ExecutorEnvironment | undefined;
  let cleanupStore: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await backend.create();
    cleanupStore = created.cleanup;
    const duckdb = await openWorkerDuckDB({ threads });
    env = { store: created.store, duckdb, ctx: await taskContext(created.store, duckdb) };
    receive(env);
  });
  afterAll(async () => {
    await env?.ctx.cleanup();
    env?.duckdb.closeSync();
    await cleanupStore?.();
  });
}
