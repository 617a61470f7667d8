/**
 * Deleting a CQ while one of its windows runs (real Redis and BullMQ, one worker slot): the window
 * stops at once and ends failed with CQ_DELETED, committing nothing, instead of holding the slot
 * until its query ends or reaches the query timeout (60 s here, as by default).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tableKey } from '../../catalog/index.js';
import { cqProgressId, type RunView } from '../../services/orchestrator/index.js';
import { BASE_US, HOUR_US } from '../helpers/data-files.js';
import type { TestOrchestration } from '../helpers/orchestration.js';
import { waitFor } from '../helpers/wait.js';
import { type CqEnvironment, startCqEnvironment } from './cq-environment.js';
import type { QueryFixture } from './fixture.js';

let fixture: QueryFixture;
let orchestration: TestOrchestration;
let app: FastifyInstance;
let token = '';

const day = (d: number, hour = 0) => new Date((BASE_US + (d * 24 + hour) * HOUR_US) / 1000).toISOString();
/** Each source row fans out into a trillion rows: the window's query runs far past any timeout. */
const ENDLESS = `SELECT time_bucket(INTERVAL '15 minutes', time) AS time, host, count(*) AS n
  FROM cpu, range(1_000_000_000_000 + hour(time)) r(i)
  WHERE time >= '{start_time}' AND time < '{end_time}' GROUP BY ALL`;

let env: CqEnvironment;
beforeAll(async () => {
  env = await startCqEnvironment(
    async (auth) => {
      token = (await auth.tenants.create('acme', 'Acme')).token;
    },
    { concurrency: 1 },
  );
  ({ fixture, orchestration, app } = env);
}, 240_000);

afterAll(() => env?.close());

const api = (method: 'POST' | 'DELETE', url: string, body?: unknown) =>
  app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: body as object }),
    headers: { authorization: `Bearer ${token}` },
  });

async function createEndless(name: string): Promise<string> {
  const res = await api('POST', '/api/v1/continuous_queries', {
    name,
    database: 'metrics',
    source_measurement: 'cpu',
    destination_measurement: `cpu_${name.replaceAll('-', '_')}`,
    query: ENDLESS,
    interval: '1h',
    delay: '0s',
    start_time: day(0),
    is_active: false,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().query.id as string;
}

/** The CQ's newest run, once its first window has been running for a while (its query, by then). */
async function runningWindow(cqId: string): Promise<RunView> {
  const running = await waitFor(async () => {
    const { runs } = await orchestration.orchestrator.history.list('acme', { kind: 'cq', limit: 100 });
    return runs.find((r) => r.trigger.cqId === cqId && r.tasks.some((t) => t.status === 'running'));
  });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  return running;
}

const deletedWhileRunning = (cqId: string, window: string) =>
  `continuous query ${cqId} was deleted while its window [${window}, ${new Date(Date.parse(window) + 3_600_000).toISOString()}) ran; nothing of the window was committed`;

describe('deleting a CQ while a window runs', () => {
  it('stops the window at once: failed with CQ_DELETED, the rest skipped, nothing committed', async () => {
    const cqId = await createEndless('endless-tick');
    const submitted = await orchestration.orchestrator.submit({
      kind: 'cq',
      tenant: 'acme',
      logicalTime: day(0, 3),
      cqId,
    });
    await runningWindow(cqId);
    const deleted = await api('DELETE', `/api/v1/continuous_queries/${cqId}`);
    expect(deleted.statusCode, deleted.body).toBe(200);
    const afterDelete = (await fixture.catalogs.forTenant('acme').refresh()).version;
    // The error says the deletion stopped the window, not the query timeout.
    const run = await orchestration.orchestrator.waitForRun('acme', submitted.runId, 120_000);
    expect(run.status).toBe('failed');
    expect(run.tasks.map((t) => t.status)).toEqual(['failed', 'skipped', 'skipped']);
    expect(run.tasks[0]!.error).toEqual({ code: 'CQ_DELETED', message: deletedWhileRunning(cqId, day(0)) });
    const state = await fixture.catalogs.forTenant('acme').refresh();
    expect(state.version).toBe(afterDelete);
    expect(state.policies.has(cqProgressId(cqId))).toBe(false);
    expect(state.tables.get(tableKey('metrics', 'cpu_endless_tick'))!.fileCount).toBe(0);
  }, 120_000);

  it('answers an execute waiting on the run with 409, naming the deletion', async () => {
    const cqId = await createEndless('endless-execute');
    const executing = api('POST', `/api/v1/continuous_queries/${cqId}/execute`, {
      start_time: day(0),
      end_time: day(0, 1),
    });
    const run = await runningWindow(cqId);
    expect((await api('DELETE', `/api/v1/continuous_queries/${cqId}`)).statusCode).toBe(200);
    const res = await executing;
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json().code).toBe('CQ_RUN_FAILED');
    expect(res.json().error).toBe(
      `continuous query run ${run.runId} failed: ${deletedWhileRunning(cqId, day(0))}`,
    );
  }, 120_000);
});
