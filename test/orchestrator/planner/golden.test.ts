/**
 * Golden plans: the exact bytes of `planBytes` for fixed triggers over a fixed catalog history.
 * A change here changes every recorded plan id; regenerate only on purpose, with
 *   UPDATE_GOLDEN=1 npx vitest run test/orchestrator/planner
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TenantState } from '../../../catalog/index.js';
import {
  planBytes,
  planFromBytes,
  planRun,
  type TriggerInput,
} from '../../../services/orchestrator/planner/index.js';
import {
  addFile,
  addFileEndingAt,
  BASE_MS,
  CLOCK_START_MS,
  HOUR_MS,
  hourStartUs,
  removeFile,
  retentionPolicy,
  seedTables,
  type TestCatalog,
  testCatalog,
} from './fixtures.js';

const goldenDir = fileURLToPath(new URL('../../golden/plans/', import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

/**
 * v1 DDL; v2–v3 files of db.cpu (commit order differs from path order); v4 db.mem files;
 * v5 policies; v6 removes two files at CLOCK_START + 1 day.
 */
async function goldenState(t: TestCatalog): Promise<TenantState> {
  await seedTables(t);
  const z1 = addFile('acme', 'db', 'cpu', 0, 'z1', 120);
  await t.commit([z1, addFile('acme', 'db', 'cpu', 0, 'm1', 80), addFile('acme', 'db', 'cpu', 1, 'h1')]);
  await t.commit([addFile('acme', 'db', 'cpu', 0, 'a1', 50), addFile('acme', 'db', 'cpu', 2, 'h2')]);
  const old = addFile('acme', 'db', 'mem', 0, 'old');
  await t.commit([old, addFileEndingAt('acme', 'db', 'mem', 30, 'late', hourStartUs(30) + 59 * 60_000_000)]);
  await t.commit([
    retentionPolicy('keep-1d', 'db', { retention_days: 1 }),
    retentionPolicy('cpu-2h', 'db', { retention_days: 0.125, measurement: 'cpu' }),
  ]);
  t.setClock(CLOCK_START_MS + 24 * HOUR_MS);
  return t.commit([removeFile(z1), removeFile(old)]);
}

const at = (hours: number) => new Date(BASE_MS + hours * HOUR_MS).toISOString();

const GOLDEN: Record<string, TriggerInput> = {
  compaction: {
    kind: 'compaction',
    tenant: 'acme',
    logicalTime: at(26),
    tier: 'hourly',
    database: 'db',
    table: 'cpu',
    partition: 'date=2026-03-01/hour=00',
    dedup: true,
  },
  'compaction-single-file': {
    kind: 'compaction',
    tenant: 'acme',
    logicalTime: at(26),
    tier: 'daily',
    database: 'db',
    table: 'cpu',
    partition: 'date=2026-03-01/hour=01',
  },
  retention: { kind: 'retention', tenant: 'acme', logicalTime: at(26), policyId: 'keep-1d' },
  'retention-dry-run': {
    kind: 'retention',
    tenant: 'acme',
    logicalTime: at(4),
    policyId: 'cpu-2h',
    dryRun: true,
  },
  checkpoint: { kind: 'checkpoint', tenant: 'acme', logicalTime: at(26) },
  'events-compaction': { kind: 'events-compaction', tenant: 'acme', logicalTime: at(26), settleMs: 45_000 },
  expire: {
    kind: 'expire',
    tenant: 'acme',
    logicalTime: new Date(CLOCK_START_MS + 8 * 24 * HOUR_MS).toISOString(),
  },
  flush: {
    kind: 'flush',
    tenant: 'acme',
    logicalTime: at(26),
    database: 'db',
    table: 'cpu',
    batchId: '01JZ0000000000000000000000',
    rows: 1200,
    bytes: 65_536,
  },
  delete: {
    kind: 'delete',
    tenant: 'acme',
    logicalTime: at(26),
    database: 'db',
    table: 'cpu',
    predicate: `((host = 'a') AND ("time" < CAST('2026-03-01 02:00:00' AS TIMESTAMP)))`,
    // Listed out of path order: the plan lists them sorted.
    files: [
      { path: addFile('acme', 'db', 'cpu', 1, 'h1').file.path, matchedRows: 30 },
      { path: addFile('acme', 'db', 'cpu', 0, 'm1', 80).file.path, matchedRows: 10 },
    ],
    matchedRows: 40,
  },
  noop: { kind: 'noop', tenant: 'acme', logicalTime: at(26), tasks: 3, sleepMs: 5 },
};

describe('golden plans', () => {
  let t: TestCatalog;
  let state: TenantState;
  beforeAll(async () => {
    t = await testCatalog();
    state = await goldenState(t);
  });
  afterAll(async () => t.cleanup());

  it('the golden catalog history is the one the files were made from', () => {
    expect(state.version).toBe(6);
    expect(state.timestamp).toBe(CLOCK_START_MS + 24 * HOUR_MS);
  });

  it.each(Object.keys(GOLDEN))('%s plan matches its golden bytes', (name) => {
    const bytes = planBytes(planRun(GOLDEN[name]!, state));
    const file = `${goldenDir}${name}.json`;
    if (update) {
      mkdirSync(goldenDir, { recursive: true });
      writeFileSync(file, bytes);
    }
    expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 to create it`).toBe(true);
    const golden = readFileSync(file);
    expect(new TextDecoder().decode(bytes)).toBe(golden.toString('utf8'));
    expect(Buffer.compare(Buffer.from(bytes), golden)).toBe(0);
    // The stored bytes read back as the same plan, ids verified.
    expect(planBytes(planFromBytes(golden))).toEqual(bytes);
  });

  it('the golden plans cover every run kind', () => {
    const kinds = new Set(Object.values(GOLDEN).map((trigger) => trigger.kind));
    expect([...kinds].sort()).toEqual([
      'checkpoint',
      'compaction',
      'delete',
      'events-compaction',
      'expire',
      'flush',
      'noop',
      'retention',
    ]);
  });
});
