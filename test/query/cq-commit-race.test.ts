/**
 * A CQ window's commit is checked against the state it lands on: a CQ deleted, or its progress
 * moved by another run, after the window's last catalog read and before its commit lands. The
 * window task runs directly (no queue) over a store that lets another writer commit right before
 * the window's commit is written.
 */
import type { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, type TenantState, tableKey, type WeirError } from '../../catalog/index.js';
import { ContinuousQueries } from '../../services/cq/index.js';
import { cqProgressId, type Orchestrator } from '../../services/orchestrator/index.js';
import { planRun } from '../../services/orchestrator/planner/index.js';
import type { QueryService } from '../../services/query/index.js';
import { executeTask, openWorkerDuckDB } from '../../workers/tasks/index.js';
import { BASE_US, HOUR_US } from '../helpers/data-files.js';
import { RacingStore } from '../helpers/racing-store.js';
import { envelopeOf, type TestContext, taskContext } from '../workers/support.js';
import { createQueryFixture, openFixtureQueryService, type QueryFixture } from './fixture.js';

const iso = (us: number) => new Date(us / 1000).toISOString();

let fixture: QueryFixture;
let query: QueryService;
let duckdb: DuckDBInstance;
let racing: RacingStore;
let racingCtx: TestContext;
let plainCtx: TestContext;
let cqs: ContinuousQueries;

beforeAll(async () => {
  fixture = await createQueryFixture();
  query = await openFixtureQueryService(fixture);
  duckdb = await openWorkerDuckDB({ threads: 1 });
  racing = new RacingStore(fixture.store.root);
  racingCtx = { ...(await taskContext(racing, duckdb)), query };
  // The other writer's own catalog head: the racing one is busy committing while the other commits.
  plainCtx = { ...(await taskContext(fixture.store, duckdb)), query };
  // Creating, updating and deleting a CQ never submits a run.
  cqs = new ContinuousQueries({ catalogs: fixture.catalogs, query, orchestrator: {} as Orchestrator });
}, 120_000);

afterAll(async () => {
  await racingCtx?.cleanup();
  await plainCtx?.cleanup();
  await racing?.close();
  duckdb?.closeSync();
  query?.close();
  await fixture?.close();
});

async function createCq(name: string): Promise<string> {
  const view = await cqs.create('acme', {
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: `cpu_${name}`,
    query: `SELECT time_bucket(INTERVAL '1 hour', time) AS time, host, count(*) AS n
      FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`,
    interval: '6h',
    delay: '0s',
    start_time: iso(BASE_US),
    is_active: false,
  });
  return view.id;
}

/** The window tasks a tick at `BASE + hours` plans (one per closed 6-hour window, from the CQ's start; the fixture has a file at hours 0 and 6). */
async function planTick(cqId: string, hours: number) {
  const state = await fixture.catalogs.forTenant('acme').refresh();
  const plan = planRun(
    { kind: 'cq', tenant: 'acme', logicalTime: iso(BASE_US + hours * HOUR_US), cqId },
    state,
  );
  return plan.tasks.map((task) =>
    envelopeOf('acme', 'cq', state.version, task.inputs, {
      taskId: `tsk_${sha256Hex(task.taskKey).slice(0, 32)}`,
    }),
  );
}

const destinationFiles = (state: TenantState, table: string) =>
  [...(state.tables.get(tableKey('metrics', table))?.partitions.values() ?? [])].reduce(
    (n, f) => n + f.size,
    0,
  );

describe('a CQ window commit racing another commit', () => {
  it('refuses the window of a CQ deleted right before its commit lands: nothing of it is committed', async () => {
    const cqId = await createCq('deleted');
    const [window] = await planTick(cqId, 6);
    racing.beforeNextCommit = () => cqs.remove('acme', cqId);

    const failure = await executeTask(window!, racingCtx).catch((error: WeirError) => error);
    expect(failure).toMatchObject({ code: 'CQ_DELETED', httpStatus: 409 });
    expect(racing.beforeNextCommit).toBeUndefined();
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.policies.has(cqId)).toBe(false);
    expect(state.policies.has(cqProgressId(cqId))).toBe(false);
    expect(destinationFiles(state, 'cpu_deleted')).toBe(0);
  });

  it('swaps again when another window moved the progress meanwhile: the watermark never moves back', async () => {
    const cqId = await createCq('moved');
    const [first, second] = await planTick(cqId, 12);
    // The second window commits while the first is about to (two runs of one CQ at once).
    racing.beforeNextCommit = async () => {
      await executeTask(second!, plainCtx);
    };
    const result = await executeTask(first!, racingCtx);
    expect(racing.beforeNextCommit).toBeUndefined();
    expect(result.wrote.committed).toBe(true);
    const state = await fixture.catalogs.forTenant('acme').refresh();
    const progress = state.policies.get(cqProgressId(cqId))!.definition as Record<string, number>;
    expect(progress.watermark_us).toBe(BASE_US + 12 * HOUR_US);
    expect(destinationFiles(state, 'cpu_moved')).toBe(2);
  });
});
