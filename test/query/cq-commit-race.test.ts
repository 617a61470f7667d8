/**
 * A CQ window's commit is checked against the state it lands on: a CQ deleted, or its progress
 * moved by another run, after the window's last catalog read and before its commit lands. The
 * window task runs directly (no queue) over a store that lets another writer commit right before
 * the window's commit is written.
 */
import type { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  sha256Hex,
  TenantCatalogs,
  type TenantState,
  tableKey,
  type WeirError,
} from '../../catalog/index.js';
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
/** The CQ service over the racing store, with its own catalog instance (the other writer uses `cqs`). */
let racingCqs: ContinuousQueries;

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
  racingCqs = new ContinuousQueries({
    catalogs: new TenantCatalogs(racing),
    query,
    orchestrator: {} as Orchestrator,
  });
}, 120_000);

afterAll(async () => {
  await racingCtx?.cleanup();
  await plainCtx?.cleanup();
  await racing?.close();
  duckdb?.closeSync();
  query?.close();
  await fixture?.close();
});

const cqInput = (name: string, destination = `cpu_${name}`, description?: string) => ({
  name,
  database: 'metrics',
  source_measurement: 'cpu',
  destination_measurement: destination,
  query: `SELECT time_bucket(INTERVAL '1 hour', time) AS time, host, count(*) AS n
      FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`,
  interval: '6h',
  delay: '0s',
  start_time: iso(BASE_US),
  is_active: false,
  ...(description ? { description } : {}),
});

async function createCq(name: string): Promise<string> {
  return (await cqs.create('acme', cqInput(name))).id;
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
      // Window keys repeat across CQs: the CQ's id keeps task ids apart.
      taskId: `tsk_${sha256Hex(`${cqId}:${task.taskKey}`).slice(0, 32)}`,
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

describe('a CQ window planned from an earlier definition', () => {
  it('is refused when the CQ is updated right before its commit lands: the new definition keeps its progress', async () => {
    const cqId = await createCq('updated');
    const [window] = await planTick(cqId, 6);
    racing.beforeNextCommit = async () => {
      await cqs.update('acme', cqId, cqInput('updated', 'cpu_updated_new'));
    };

    const failure = await executeTask(window!, racingCtx).catch((error: WeirError) => error);
    expect(failure).toMatchObject({ code: 'CQ_CHANGED', httpStatus: 409 });
    expect(racing.beforeNextCommit).toBeUndefined();
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.policies.has(cqProgressId(cqId))).toBe(false);
    expect(destinationFiles(state, 'cpu_updated')).toBe(0);
  });

  it('is refused after the CQ was deleted and created again under its name (the same id)', async () => {
    const cqId = await createCq('again');
    const [window] = await planTick(cqId, 6);
    await cqs.remove('acme', cqId);
    expect((await cqs.create('acme', cqInput('again', 'cpu_again_new'))).id).toBe(cqId);

    const failure = await executeTask(window!, plainCtx).catch((error: WeirError) => error);
    expect(failure).toMatchObject({ code: 'CQ_CHANGED', httpStatus: 409 });
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.policies.has(cqProgressId(cqId))).toBe(false);
    expect(destinationFiles(state, 'cpu_again')).toBe(0);
  });
});

describe('a CQ definition commit racing another definition commit', () => {
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => 'committed',
      (error: WeirError) => error,
    );

  it('refuses an update of a CQ deleted right before it lands: the CQ stays deleted', async () => {
    const cqId = await createCq('put_delete');
    racing.beforeNextCommit = () => cqs.remove('acme', cqId);
    const failure = await refusal(racingCqs.update('acme', cqId, cqInput('put_delete', undefined, 'edited')));
    expect(failure).toMatchObject({ code: 'CQ_DELETED', httpStatus: 409 });
    expect(racing.beforeNextCommit).toBeUndefined();
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.policies.has(cqId)).toBe(false);
  });

  it('refuses an update or a delete of a CQ changed right before it lands', async () => {
    const cqId = await createCq('put_put');
    racing.beforeNextCommit = async () =>
      void (await cqs.update('acme', cqId, cqInput('put_put', undefined, 'first')));
    const update = await refusal(racingCqs.update('acme', cqId, cqInput('put_put', undefined, 'second')));
    expect(update).toMatchObject({ code: 'CQ_MODIFIED', httpStatus: 409 });
    expect((await cqs.get('acme', cqId)).description).toBe('first');

    racing.beforeNextCommit = async () =>
      void (await cqs.update('acme', cqId, cqInput('put_put', undefined, 'third')));
    const removal = await refusal(racingCqs.remove('acme', cqId));
    expect(removal).toMatchObject({ code: 'CQ_MODIFIED', httpStatus: 409 });
    expect((await cqs.get('acme', cqId)).description).toBe('third');
  });

  it('refuses the second of two creates of one name: the first CQ and its table stay', async () => {
    let first: { destination_measurement: string } | undefined;
    racing.beforeNextCommit = async () => {
      first = await cqs.create('acme', cqInput('twin', 'cpu_twin_b'));
    };
    const failure = await refusal(racingCqs.create('acme', cqInput('twin', 'cpu_twin_a')));
    expect(failure).toMatchObject({ code: 'CQ_EXISTS', httpStatus: 409 });
    expect(first?.destination_measurement).toBe('cpu_twin_b');
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.tables.has(tableKey('metrics', 'cpu_twin_a'))).toBe(false);
    const stored = (await cqs.list('acme')).find((view) => view.name === 'twin');
    expect(stored?.destination_measurement).toBe('cpu_twin_b');
  });
});
