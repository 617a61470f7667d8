/**
 * Continuous-query windows planned and run directly (no queue, no scheduler): the planner's plan
 * at the head, its tasks run in order by `executeTask` on the query fixture. Tests of planning and
 * committing use it to put a CQ in an exact state between ticks.
 */
import type { DuckDBInstance } from '@duckdb/node-api';
import { ContinuousQueries } from '../../services/cq/index.js';
import { cqProgressId, type Orchestrator } from '../../services/orchestrator/index.js';
import { planRun } from '../../services/orchestrator/planner/index.js';
import type { Trigger } from '../../services/orchestrator/planner/triggers.js';
import type { QueryService } from '../../services/query/index.js';
import { executeTask, openWorkerDuckDB } from '../../workers/tasks/index.js';
import { BASE_US, HOUR_US, writeDataFiles } from '../helpers/data-files.js';
import { envelopeOf, type TestContext, taskContext } from '../workers/support.js';
import { createQueryFixture, openFixtureQueryService, type QueryFixture } from './fixture.js';

export const iso = (us: number) => new Date(us / 1000).toISOString();
/** `BASE + day days + hour hours`, in µs. */
export const at = (day: number, hour = 0) => BASE_US + (day * 24 + hour) * HOUR_US;

/** Hourly counts per host of `cpu`, over windows of `interval`. */
export const COUNT_QUERY = `SELECT time_bucket(INTERVAL '1 hour', time) AS time, host, count(*) AS n
  FROM cpu WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`;

export interface CqDirect {
  fixture: QueryFixture;
  query: QueryService;
  duckdb: DuckDBInstance;
  ctx: TestContext;
  cqs: ContinuousQueries;
  close(): Promise<void>;
}

export async function openCqDirect(): Promise<CqDirect> {
  const fixture = await createQueryFixture();
  const query = await openFixtureQueryService(fixture);
  const duckdb = await openWorkerDuckDB({ threads: 1 });
  const ctx = { ...(await taskContext(fixture.store, duckdb)), query };
  // Creating, updating and deleting a CQ never submits a run.
  const cqs = new ContinuousQueries({ catalogs: fixture.catalogs, query, orchestrator: {} as Orchestrator });
  return {
    fixture,
    query,
    duckdb,
    ctx,
    cqs,
    close: async () => {
      await ctx.cleanup();
      duckdb.closeSync();
      query.close();
      await fixture.close();
    },
  };
}

/** An inactive CQ of `metrics.cpu` into `cpu_{name}` (6h windows from `startUs`, no delay). */
export async function createCq(
  env: CqDirect,
  name: string,
  startUs: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const view = await env.cqs.create('acme', {
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: `cpu_${name}`,
    query: COUNT_QUERY,
    interval: '6h',
    delay: '0s',
    start_time: iso(startUs),
    is_active: false,
    ...extra,
  });
  return view.id;
}

/** The plan of `trigger` at the head, and its tasks as envelopes at that version. */
export async function planAtHead(env: CqDirect, trigger: Record<string, unknown>) {
  const state = await env.fixture.catalogs.forTenant('acme').refresh();
  const plan = planRun({ tenant: 'acme', ...trigger } as Trigger, state);
  const envelopes = plan.tasks.map((task) =>
    envelopeOf('acme', task.kind, state.version, task.inputs, { taskId: task.taskId }),
  );
  return { plan, envelopes };
}

/** A tick of CQ `cqId` at `logicalUs`. */
export const planTick = (env: CqDirect, cqId: string, logicalUs: number) =>
  planAtHead(env, { kind: 'cq', cqId, logicalTime: iso(logicalUs) });

/** Runs the envelopes one after the other, as the chain of a plan does. */
export async function runAll(env: CqDirect, envelopes: readonly ReturnType<typeof envelopeOf>[]) {
  for (const envelope of envelopes) await executeTask(envelope, env.ctx);
}

export async function sqlRows(env: CqDirect, sql: string) {
  return (await env.query.run({ tenant: 'acme', database: 'metrics', sql }, async (r) => r.getRowObjectsJS()))
    .value;
}

/** The CQ's progress entry, if a window wrote one. */
export async function progressOf(env: CqDirect, cqId: string) {
  const state = await env.fixture.catalogs.forTenant('acme').refresh();
  return state.policies.get(cqProgressId(cqId))?.definition as Record<string, number> | undefined;
}

/** One flush of `count` rows of `host` into metrics.cpu, a second apart from `startUs`. */
export function flushRows(env: CqDirect, fileId: string, startUs: number, host: string, count = 10) {
  return writeDataFiles({
    store: env.fixture.store,
    catalog: env.fixture.catalogs.forTenant('acme'),
    database: 'metrics',
    table: 'cpu',
    duckdb: env.duckdb,
    files: [
      {
        fileId,
        sql: `SELECT make_timestamp(${startUs}::BIGINT + i * 1_000_000) AS time, '${host}' AS host, 'eu' AS region,
          1.0 AS usage, 1::BIGINT AS procs, false AS busy FROM range(${count}) t(i)`,
      },
    ],
  });
}
