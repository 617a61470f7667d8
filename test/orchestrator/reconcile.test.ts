/**
 * Runs that lost their fast-path bookkeeping still end, and end right: reconcile against real
 * Redis and BullMQ. Each case plays a crash at a chosen point by calling what the worker calls.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalObjectStore, type ObjectBody, paths, TenantCatalog } from '../../catalog/index.js';
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
import { FAST_RETRY, useOrchestration } from '../helpers/orchestration.js';
import { waitFor } from '../helpers/wait.js';
import { compactionTrigger, seedFiles } from './fixtures.js';

let n = 0;
const freshTenant = () => `rc${Date.now().toString(36)}${n++}`;
const LOGICAL = '2026-03-02T00:05:00.000Z';

describe('reconcile', () => {
  // No workers: the tests play the worker's part, crash included.
  const o = useOrchestration({ tmpPrefix: 'weir-reconcile-', workers: false, duckdb: false });
  let client: Redis;

  beforeAll(() => {
    client = new Redis({ host: o.redis.host, port: o.redis.port });
  });
  afterAll(() => {
    client.disconnect();
  });

  /** A stored, started plan of two no-op tasks, the second depending on the first when `chained`. */
  async function startPlan(tenant: string, chained: boolean): Promise<Plan> {
    const state = await new TenantCatalog(o.store, tenant).refresh();
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
    await o.store.putIfAbsent(paths.runKeys.plan(tenant, plan.runId), planBytes(plan));
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

  it('starts a run whose planner died right after recording it, and runs it to its end', async () => {
    const tenant = freshTenant();
    // The planner dies between `run.planned` and `run.started`, before adding any job.
    const died = vi.spyOn(o.events, 'runStarted').mockRejectedValueOnce(new Error('planner died'));
    const plan = await startPlan(tenant, false).catch(() => undefined);
    expect(plan).toBeUndefined();
    died.mockRestore();
    const { runs } = await o.orchestrator.history.list(tenant, { unfinished: true, limit: 10 });
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(await statuses(tenant, run.runId)).toEqual({ run: 'planned', tasks: ['planned', 'planned'] });

    expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 2, finished: 0 });
    const view = (await o.orchestrator.history.get(tenant, run.runId))!;
    expect(view).toMatchObject({ status: 'running', startedAt: expect.any(String) });
    expect(view.tasks.map((t) => t.status)).toEqual(['queued', 'queued']);
    const stored = (await o.orchestrator.loadPlan(tenant, run.runId))!;
    for (const task of stored.tasks) await succeed(tenant, stored, task);
    expect(await statuses(tenant, run.runId)).toEqual({
      run: 'succeeded',
      tasks: ['succeeded', 'succeeded'],
    });
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
  const o = useOrchestration({ tmpPrefix: 'weir-report-', kinds: ['noop'], duckdb: false });

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

  it('numbers the attempts of the job reconcile adds on from the job, when their running events were lost', async () => {
    const tenant = freshTenant();
    const report = o.events.taskSucceeded.bind(o.events);
    const running = o.events.taskRunning.bind(o.events);
    let refusals = 3;
    o.events.taskSucceeded = async (...args) => {
      if (refusals-- > 0) throw new Error('event log unreachable');
      return report(...args);
    };
    // `task.running` is not awaited: the first job's three are lost, only the job counts them.
    o.events.taskRunning = async () => {};
    try {
      const { runId } = await o.orchestrator.submit({ kind: 'noop', tenant, logicalTime: LOGICAL, tasks: 1 });
      const taskId = (await o.orchestrator.loadPlan(tenant, runId))!.tasks[0]!.taskId;
      const dispatcher = new Dispatcher(o.connection, FAST_RETRY);
      try {
        await waitFor(async () =>
          (await dispatcher.jobState('noop', taskId)) === 'failed' ? true : undefined,
        );
      } finally {
        await dispatcher.close();
      }
      o.events.taskRunning = running;
      expect(await o.orchestrator.reconcile(tenant)).toMatchObject({ redispatched: 1 });
      const run = await o.orchestrator.waitForRun(tenant, runId, 30_000);
      expect(run.status).toBe('succeeded');
      expect(run.tasks[0]!.attempts.map((a) => [a.attempt, a.status])).toEqual([
        [1, 'queued'],
        [4, 'succeeded'],
      ]);
    } finally {
      o.events.taskSucceeded = report;
      o.events.taskRunning = running;
    }
  });
});

/** A local store whose catalog commits fail while `failing` is set (an object-store outage). */
class OutageStore extends LocalObjectStore {
  failing = false;
  override async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    if (this.failing && key.includes('/catalog/log/')) throw new Error('object store unavailable');
    return super.putIfAbsent(key, body);
  }
}

describe('reconcile whose history read a job finish overtakes', () => {
  const o = useOrchestration({
    tmpPrefix: 'weir-reconcile-stale-',
    store: (root) => new OutageStore(root),
    kinds: ['noop', 'compaction'],
  });
  let dispatcher: Dispatcher;

  beforeAll(() => {
    dispatcher = new Dispatcher(o.connection, FAST_RETRY);
  });
  afterAll(async () => {
    await dispatcher.close();
  });

  /** Reconcile's next history listing answers what it read, but only once `until` holds. */
  function staleListing(until: () => Promise<boolean>) {
    const history = o.orchestrator.history;
    const list = history.list.bind(history);
    history.list = async (...args) => {
      const page = await list(...args);
      history.list = list;
      await waitFor(async () => ((await until()) ? true : undefined), 30_000, 10);
      return page;
    };
  }

  it('does not run again a task that succeeded after the read', async () => {
    const tenant = freshTenant();
    const { runId } = await o.orchestrator.submit({
      kind: 'noop',
      tenant,
      logicalTime: LOGICAL,
      tasks: 1,
      sleepMs: 300,
    });
    const taskId = (await o.orchestrator.loadPlan(tenant, runId))!.tasks[0]!.taskId;
    staleListing(async () => (await dispatcher.jobState('noop', taskId)) === 'completed');
    expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 0 });
    expect(await dispatcher.jobState('noop', taskId)).toBe('completed');
    const run = await o.orchestrator.waitForRun(tenant, runId, 30_000);
    expect(run.status).toBe('succeeded');
    expect(run.tasks[0]!.attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 'succeeded']]);
  });

  it('does not run again a task whose planner added its job after reconcile looked, once that job ended', async () => {
    const tenant = freshTenant();
    // The planner's enqueue waits until reconcile has found the task without a job.
    const enqueueMany = o.dispatcher.enqueueMany.bind(o.dispatcher);
    let releaseEnqueue!: () => void;
    const enqueueReleased = new Promise<void>((resolve) => {
      releaseEnqueue = resolve;
    });
    let reachedEnqueue!: () => void;
    const enqueueReached = new Promise<void>((resolve) => {
      reachedEnqueue = resolve;
    });
    o.dispatcher.enqueueMany = async (envelopes) => {
      o.dispatcher.enqueueMany = enqueueMany;
      reachedEnqueue();
      await enqueueReleased;
      return enqueueMany(envelopes);
    };
    const executions = new Map<string, number>();
    const running = o.events.taskRunning.bind(o.events);
    o.events.taskRunning = (tenantId, runId, taskId, ...rest) => {
      executions.set(taskId, (executions.get(taskId) ?? 0) + 1);
      return running(tenantId, runId, taskId, ...rest);
    };
    try {
      const submitting = o.orchestrator.submit({ kind: 'noop', tenant, logicalTime: LOGICAL, tasks: 1 });
      await enqueueReached;
      const { runId } = (await o.orchestrator.history.list(tenant, { unfinished: true })).runs[0]!;
      const taskId = (await o.orchestrator.loadPlan(tenant, runId))!.tasks[0]!.taskId;
      // Reconcile's read after the job states answers the task open; by then the planner's job
      // was added and ran to its end, so reconcile's removal takes a finished job.
      const history = o.orchestrator.history;
      const get = history.get.bind(history);
      history.get = async (...args) => {
        const view = await get(...args);
        history.get = get;
        releaseEnqueue();
        await waitFor(async () =>
          (await dispatcher.jobState('noop', taskId)) === 'completed' ? true : undefined,
        );
        return view;
      };
      expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 0 });
      await submitting;
      const run = await o.orchestrator.waitForRun(tenant, runId, 30_000);
      expect(run.tasks[0]!.attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 'succeeded']]);
      expect(executions.get(taskId)).toBe(1);
    } finally {
      o.dispatcher.enqueueMany = enqueueMany;
      o.events.taskRunning = running;
    }
  });

  it('does not revive a task that failed for good after the read', async () => {
    const tenant = freshTenant();
    const catalog = new TenantCatalog(o.store, tenant);
    await seedFiles(o.store, catalog, o.duckdb, { files: 4, rows: 100 });
    const before = await catalog.refresh();
    o.store.failing = true; // every attempt's commit meets the outage: the task fails for good
    try {
      const { runId } = await o.orchestrator.submit(compactionTrigger(tenant));
      const taskId = (await o.orchestrator.loadPlan(tenant, runId))!.tasks[0]!.taskId;
      await waitFor(async () => {
        const status = (await o.orchestrator.history.get(tenant, runId))?.tasks[0]?.status;
        return status === 'running' || status === 'retry_wait' ? true : undefined;
      }, 30_000);
      // Reconcile reads the task open; by the time it looks at the job, the job failed, the run
      // ended failed and the outage is over (a revived task would commit).
      staleListing(async () => {
        if ((await dispatcher.jobState('compaction', taskId)) !== 'failed') return false;
        if ((await o.orchestrator.history.get(tenant, runId))?.status !== 'failed') return false;
        o.store.failing = false;
        return true;
      });
      expect(await o.orchestrator.reconcile(tenant)).toEqual({ redispatched: 0, finished: 0 });
      expect(await dispatcher.jobState('compaction', taskId)).toBe('failed');
      const run = (await o.orchestrator.history.get(tenant, runId))!;
      expect(run.status).toBe('failed');
      expect(run.tasks[0]!.status).toBe('failed');
      expect((await catalog.refresh()).version).toBe(before.version);
    } finally {
      o.store.failing = false;
    }
  });
});
