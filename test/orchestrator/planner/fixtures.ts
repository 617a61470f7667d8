/** Catalog states for planner tests, built through real commits with a clock the test moves. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LocalObjectStore,
  type PolicySpec,
  TenantCatalog,
  type TenantState,
} from '../../../catalog/index.js';
import { addFile, BASE_US, createTable, HOUR_US } from '../../catalog/fixtures/actions.js';

export { addFile, BASE_US, createTable, HOUR_US, removeFile } from '../../catalog/fixtures/actions.js';

/** Commit timestamps start here (ms) and only move when a test sets the clock. */
export const CLOCK_START_MS = Date.parse('2026-04-01T00:00:00Z');

export interface TestCatalog {
  catalog: TenantCatalog;
  /** Sets the wall clock the next commits see (commit timestamps are max(clock, previous + 1)). */
  setClock(ms: number): void;
  commit(actions: unknown[]): Promise<TenantState>;
  cleanup(): Promise<void>;
}

export async function testCatalog(tenant = 'acme'): Promise<TestCatalog> {
  const root = mkdtempSync(join(tmpdir(), 'weir-planner-'));
  const store = new LocalObjectStore(root);
  let clock = CLOCK_START_MS;
  const catalog = new TenantCatalog(store, tenant, { now: () => clock });
  return {
    catalog,
    setClock: (ms) => {
      clock = ms;
    },
    commit: async (actions) => (await catalog.commit(actions)).state,
    cleanup: async () => {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** An addFile whose newest row is `maxTime` (µs) instead of the fixture's min + 1 ms. */
export function addFileEndingAt(
  tenant: string,
  database: string,
  table: string,
  hour: number,
  fileId: string,
  maxTime: number,
  rows = 100,
) {
  const action = addFile(tenant, database, table, hour, fileId, rows);
  return { ...action, file: { ...action.file, maxTime } };
}

export function retentionPolicy(
  id: string,
  database: string,
  definition: Record<string, unknown>,
  table?: string,
): { op: 'setPolicy'; policy: PolicySpec } {
  return { op: 'setPolicy', policy: { id, kind: 'retention', database, table, definition } };
}

/** Start (µs) of fixture hour `hour` (hours counted from 2026-03-01T00:00Z). */
export function hourStartUs(hour: number): number {
  return BASE_US + hour * HOUR_US;
}

/** ISO text of a fixture-relative instant in ms. */
export function isoAtMs(ms: number): string {
  return new Date(ms).toISOString();
}

export const BASE_MS = BASE_US / 1000;
export const HOUR_MS = HOUR_US / 1000;

/** Database `db` with tables `cpu` and `mem`, and database `other` with table `disk`. */
export async function seedTables(t: TestCatalog): Promise<TenantState> {
  return t.commit([
    { op: 'createDatabase', database: 'db' },
    { op: 'createDatabase', database: 'other' },
    ...createTable('db', 'cpu'),
    ...createTable('db', 'mem'),
    ...createTable('other', 'disk'),
  ]);
}
