/**
 * Runs that lost their fast-path bookkeeping still end, and end right: reconcile against real
 * Redis and BullMQ. Each case plays a crash at a chosen point by calling what the worker calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalObjectStore, paths, TenantCatalog } from '../../catalog/index.js';
import { Dispatcher } from '../../services/orchestrator/index.js';
import {
  type Plan,
  planBody,
  planBytes,
  planIdOf,
  planRun,
  taskIdOf,
} from '../../services/orchestrator/planner/index.js';
import { taskResult } from '../../workers/tasks/result.js';
import { FAST_RETRY, startTestOrchestration, type TestOrchestration } from '../helpers/orchestration.js';
import { startTestRedis, type TestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let n = 0;
const freshTenant = () => `rc${Date.now().toString(36)}${n++}`;
const LOGICAL = '2026-03-02T00:05:00.000Z';

describe('reconcile', () => {
  let redis: TestRedis;
  let root: string;
  let store: LocalObjectStore;
  let o: TestOrchestration;
  let client: Redis;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-reconcile-'));
    store = new LocalObjectStore(root);
    // No workers: the tests play the worker's part, crash included.
    o = await startTestOrchestration(store, redis, { workers: false });
    client = new Redis({ host: redis.host, port: redis.port });
  });
  afterAll(async () => {
    client.disconnect();
    await o.stop();
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** A stored, started plan of two no-op tasks, the second depending on the first when `chained`. */
  async function startPlan(tenant: string, chained: boolean): Promise<Plan> {
    const state = await new TenantCatalog(store, tenant).refresh();
    const planned = planRun({ kind: 'noop', tenant, logicalTime: LOGICAL, tasks: 2 }, state);
    const body = planBody(planned);
    const tasks = body.tasks.map((task, i) => ({
      ...task,
      dependsOn: chained && i === 1 ? [body.tasks[0]!.taskKey] : [],
    }));
    const planId = planIdOf({ ...body, tasks });
    const plan: Plan = {
      ...body,
      planId,
      tasks: tasks.map((t) => ({ ...t, taskId: taskIdOf(planId, t.taskKey) })),
    };
    await store.putIfAbsent(paths.runKeys.plan(tenant, plan.runId), planBytes(plan));
    // What submit does once the plan is stored (no trigger makes a chained no-op plan).
    await (o.orchestrator as unknown as { start(plan: Plan): Promise<void> }).start(plan);
    return plan;
  }

  /** What a worker reports when a task of the plan succeeded. */
  async function succeed(tenant: string, plan: Plan, task: Plan['tasks'][number]) {
    await o.events.taskSucceeded(
      tenant,
      plan.runId,
      1,
      taskResult(o.orchestrator.envelope(plan, task, 1, ''), {}),
    );
    await o.orchestrator.taskFinished(tenant, plan.runId, task.taskId, 'succeeded');
  }

  const statuses = async (tenant: string, runId: string) => {
    const run = (await o.orchestrator.history.get(tenant, runId))!;
    return { run: run.status, tasks: run.tasks.map((t) => t.status) };
  };

  it('skips the dependents of a failed task whose skips never landed, and ends the run failed', async () => {
    const tenant = freshTenant();
    const plan = await startPlan(tenant, true);
    const [a] = plan.tasks;
    await o.events.taskFailed(tenant, plan.runId, a!.taskId, 1, { code: 'BOOM', message: 'boom' }, true);
    // The worker counted the outcome in Redis, then died before skipping the dependent.
    await o.orchestrator.progress.finish(tenant, plan.runId, a!.taskId, 'failed');
    // A redelivery reports again; Redis says the outcome was counted already.
    await o.orchestrator.taskFinished(tenant, plan.runId, a!.taskId, 'failed');
    expect(await statuses(tenant, plan.runId)).toEqual({ run: 'running', tasks: ['failed', 'planned'] });

    expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 0 });
    expect(await statuses(tenant, plan.runId)).toEqual({ run: 'failed', tasks: ['failed', 'skipped'] });
  });

  it('ends a run failed when Redis lost its record after a task failed', async () => {
    const tenant = freshTenant();
    const plan = await startPlan(tenant, false);
    const [a, b] = plan.tasks;
    await o.events.taskFailed(tenant, plan.runId, a!.taskId, 1, { code: 'BOOM', message: 'boom' }, true);
    await o.orchestrator.taskFinished(tenant, plan.runId, a!.taskId, 'failed');
    await client.del(`weir:run:${tenant}:${plan.runId}`); // Redis lost its data
    // Rebuilds the record from the events (the other task's job still waits in its queue).
    expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 0 });
    // The other task runs and succeeds: the run still failed.
    await succeed(tenant, plan, b!);
    expect(await statuses(tenant, plan.runId)).toEqual({ run: 'failed', tasks: ['failed', 'succeeded'] });
  });

  it('fails a task that made the attempts of several jobs instead of dispatching it again and again', async () => {
    const tenant = freshTenant();
    const plan = await startPlan(tenant, false);
    const [a, b] = plan.tasks;
    // FAST_RETRY gives a job 3 attempts; three jobs' worth died without a terminal event.
    for (let attempt = 1; attempt <= 3 * FAST_RETRY.attempts; attempt++)
      await o.events.taskRunning(tenant, plan.runId, a!.taskId, attempt, `att_${attempt}`, 'worker:gone');
    const dispatcher = new Dispatcher(o.connection, FAST_RETRY);
    try {
      await dispatcher.queue('noop').remove(a!.taskId); // BullMQ dropped the job
      expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 0 });
      expect(await dispatcher.jobState('noop', a!.taskId)).toBeUndefined();
    } finally {
      await dispatcher.close();
    }
    const view = (await o.orchestrator.history.get(tenant, plan.runId))!;
    expect(view.tasks[0]).toMatchObject({ status: 'failed', error: { code: 'TASK_LOST' } });
    expect(view.tasks[0]!.error!.message).toContain('made 9 attempts');
    await succeed(tenant, plan, b!);
    expect(await statuses(tenant, plan.runId)).toEqual({ run: 'failed', tasks: ['failed', 'succeeded'] });
  });

  it('sees an unfinished run however many finished runs are newer', async () => {
    const tenant = freshTenant();
    const plan = await startPlan(tenant, false);
    for (let i = 0; i < 3; i++) {
      const done = await o.orchestrator.submit({
        kind: 'noop',
        tenant,
        logicalTime: new Date(Date.parse(LOGICAL) + (i + 1) * 60_000).toISOString(),
        tasks: 1,
      });
      // Finished by hand: the test has no workers.
      const later = (await o.orchestrator.loadPlan(tenant, done.runId))!;
      await succeed(tenant, later, later.tasks[0]!);
    }
    const page = await o.orchestrator.history.list(tenant, { unfinished: true, limit: 1 });
    expect(page.runs.map((r) => r.runId)).toEqual([plan.runId]);
    expect((await o.orchestrator.history.list(tenant, { limit: 1 })).runs[0]!.runId).not.toBe(plan.runId);
  });
});

describe('a task whose work is done but whose report fails', () => {
  let redis: TestRedis;
  let root: string;
  let o: TestOrchestration;

  beforeAll(async () => {
    redis = await startTestRedis();
    root = mkdtempSync(join(tmpdir(), 'weir-report-'));
    o = await startTestOrchestration(new LocalObjectStore(root), redis, { kinds: ['noop'] });
  });
  afterAll(async () => {
    await o.stop();
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('is not counted a failure: the job is retried, and reconcile runs it again once its attempts are spent', async () => {
    const tenant = freshTenant();
    // Every attempt BullMQ allows (FAST_RETRY: 3) finds the event log unreachable when reporting.
    const report = o.events.taskSucceeded.bind(o.events);
    let refusals = 3;
    o.events.taskSucceeded = async (...args) => {
      if (refusals-- > 0) throw new Error('event log unreachable');
      return report(...args);
    };
    try {
      const { runId } = await o.orchestrator.submit({ kind: 'noop', tenant, logicalTime: LOGICAL, tasks: 1 });
      const plan = (await o.orchestrator.loadPlan(tenant, runId))!;
      const taskId = plan.tasks[0]!.taskId;
      const dispatcher = new Dispatcher(o.connection, FAST_RETRY);
      try {
        await waitFor(async () =>
          (await dispatcher.jobState('noop', taskId)) === 'failed' ? true : undefined,
        );
      } finally {
        await dispatcher.close();
      }
      const view = (await o.orchestrator.history.get(tenant, runId))!;
      expect(view.status).toBe('running');
      expect(view.tasks[0]!.status).not.toBe('failed');
      expect(await o.orchestrator.reconcile(tenant)).toMatchObject({ redispatched: 1 });
      const run = await o.orchestrator.waitForRun(tenant, runId, 30_000);
      expect(run.status).toBe('succeeded');
      expect(run.tasks[0]!.status).toBe('succeeded');
      // The job reconcile added goes on with attempt 4: no attempt stays queued.
      expect(run.tasks[0]!.attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, 'running'],
        [2, 'running'],
        [3, 'running'],
        [4, 'succeeded'],
      ]);
    } finally {
      o.events.taskSucceeded = report;
    }
  });
});
