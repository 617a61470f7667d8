/**
 * The orchestrator (DESIGN.md §6): turns a trigger into a run — plan (pure), record the plan
 * with put-if-absent (one trigger, one run), dispatch its tasks to BullMQ — and moves the run
 * to its end as tasks report. Every transition is an event; Redis only speeds things up.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import {
  CatalogNotFoundError,
  type ObjectStore,
  paths,
  sha256Hex,
  type TenantCatalogs,
  WeirError,
} from '../../catalog/index.js';
import type { DispatchEnvelope, TaskResult } from '../../proto/index.js';
import type { Dispatcher } from './dispatch/queues.js';
import {
  attemptIdOf,
  type Plan,
  type PlannedTask,
  parseTrigger,
  planBytes,
  planFromBytes,
  planRun,
} from './planner/index.js';
import { RunProgress, type TaskOutcome } from './progress.js';
import { type RunEventLog, RunHistory, type RunView } from './runs/index.js';

export interface OrchestratorDeps {
  store: ObjectStore;
  catalogs: TenantCatalogs;
  events: RunEventLog;
  dispatcher: Dispatcher;
  redis: Redis;
  now?: () => number;
  /** How long after planning a task attempt may still start. */
  taskDeadlineMs?: number;
}

export interface SubmitResult {
  runId: string;
  planId: string;
  /** False when the trigger already had a run: nothing new was planned or dispatched. */
  created: boolean;
  kind: string;
  dryRun: boolean;
  taskCount: number;
  summary: Record<string, unknown>;
  catalogVersion: number;
}

export interface ReplayOutput {
  file: string;
  recordedSha256: string;
  storedSha256: string | null;
  replayedSha256: string | null;
}

export interface ReplayReport {
  runId: string;
  reproducible: boolean;
  catalogVersion: number;
  tasks: {
    taskId: string;
    taskKey: string;
    kind: string;
    reproducible: boolean;
    skipped?: string;
    outputs: ReplayOutput[];
  }[];
  differences: ReplayOutput[];
}

/** Task kinds whose outputs are a pure function of their inputs, so replay can compare them. */
const REPLAYABLE = new Set(['compaction']);
/** Task statuses that end a task without success: its dependents are skipped and its run fails. */
const ENDED_UNSUCCESSFULLY: ReadonlySet<string> = new Set(['failed', 'skipped', 'cancelled']);
/** Task statuses that end a task. */
const TASK_ENDS: ReadonlySet<string> = new Set(['succeeded', ...ENDED_UNSUCCESSFULLY]);
/**
 * Jobs' worth of attempts a task gets from reconcile before it is failed: a job BullMQ lost is
 * dispatched again, but a task that kills its worker on every attempt must end.
 */
const MAX_JOBS_PER_TASK = 3;
/** How old a plan without events must be before a repeated submit starts it (see startIfOrphaned). */
const ORPHANED_PLAN_GRACE_MS = 5_000;
/**
 * Plans kept in memory, the most recently used: every finished task reads its run's plan, and a
 * long-lived worker sees an endless stream of runs (some plans name 100,000 files).
 */
export const CACHED_PLANS = 256;

export class Orchestrator {
  readonly history: RunHistory;
  readonly progress: RunProgress;
  private readonly now: () => number;
  private readonly plans = new Map<string, Plan>();

  constructor(private readonly deps: OrchestratorDeps) {
    this.history = new RunHistory(deps.store);
    this.progress = new RunProgress(deps.redis);
    this.now = deps.now ?? Date.now;
  }

  async submit(rawTrigger: unknown): Promise<SubmitResult> {
    const trigger = parseTrigger(rawTrigger);
    const state = await this.deps.catalogs.forTenant(trigger.tenant).refresh();
    const plan = planRun(trigger, state);
    const created = await this.deps.store.putIfAbsent(
      paths.runKeys.plan(plan.tenant, plan.runId),
      planBytes(plan),
    );
    const recorded = created ? plan : ((await this.loadPlan(plan.tenant, plan.runId)) ?? plan);
    const result: SubmitResult = {
      runId: recorded.runId,
      planId: recorded.planId,
      created,
      kind: recorded.kind,
      dryRun: recorded.dryRun,
      taskCount: recorded.tasks.length,
      summary: recorded.summary,
      catalogVersion: recorded.catalogVersion,
    };
    if (created) await this.start(recorded);
    else await this.startIfOrphaned(recorded);
    return result;
  }

  /**
   * A plan whose process died before its first event was durable (events are batched) is a run
   * nobody knows about: asking for the same trigger again starts it. A grace period keeps this
   * from racing the process that wrote the plan a moment ago.
   */
  private async startIfOrphaned(plan: Plan): Promise<void> {
    const info = await this.deps.store.head(paths.runKeys.plan(plan.tenant, plan.runId));
    if (!info || this.now() - info.lastModified.getTime() < ORPHANED_PLAN_GRACE_MS) return;
    if (await this.history.get(plan.tenant, plan.runId)) return;
    await this.start(plan);
  }

  /** Records the plan's events and dispatches what can run; safe to call again (reconcile). */
  private async start(plan: Plan): Promise<void> {
    const { events } = this.deps;
    const table = tableOf(plan);
    const database = databaseOf(plan);
    await events.planned(plan.tenant, {
      runId: plan.runId,
      runKey: plan.runKey,
      planId: plan.planId,
      kind: plan.kind,
      catalogVersion: plan.catalogVersion,
      logicalTime: plan.logicalTime,
      dryRun: plan.dryRun,
      trigger: plan.trigger as unknown as Record<string, unknown>,
      ...(table ? { table } : {}),
      ...(database ? { database } : {}),
      tasks: plan.tasks.map((t) => ({
        taskId: t.taskId,
        taskKey: t.taskKey,
        kind: t.kind,
        dependsOn: t.dependsOn,
      })),
      summary: plan.summary,
    });
    if (plan.dryRun || plan.tasks.length === 0) {
      await events.runFinished(plan.tenant, plan.runId, 'succeeded', {
        dryRun: plan.dryRun,
        summary: plan.summary,
      });
      return;
    }
    await this.progress.init(plan.tenant, plan.runId, plan.tasks.length);
    await events.runStarted(plan.tenant, plan.runId);
    await this.dispatch(
      plan,
      plan.tasks.filter((t) => t.dependsOn.length === 0),
      () => 1,
    );
  }

  /** Enqueues tasks in bulk; their `queued` events are written together, not one flush each. */
  private async dispatch(
    plan: Plan,
    tasks: readonly PlannedTask[],
    attemptOf: (task: PlannedTask) => number,
  ): Promise<void> {
    if (tasks.length === 0) return;
    // The one way to a worker: a dry run's tasks say what it would do and must never get there.
    if (plan.dryRun) throw new Error(`run ${plan.runId} is a dry run: its tasks are never dispatched`);
    await this.deps.dispatcher.enqueueMany(
      tasks.map((task) => this.envelope(plan, task, attemptOf(task), '')),
    );
    await Promise.all(
      tasks.map((task) => this.deps.events.taskQueued(plan.tenant, plan.runId, task.taskId, attemptOf(task))),
    );
  }

  envelope(plan: Plan, task: PlannedTask, attempt: number, scratchPrefix: string): DispatchEnvelope {
    return {
      tenant: plan.tenant,
      runId: plan.runId,
      planId: plan.planId,
      taskId: task.taskId,
      taskKey: task.taskKey,
      attempt,
      attemptId: attemptIdOf(task.taskId, attempt),
      kind: task.kind,
      catalogVersion: plan.catalogVersion,
      inputsJson: JSON.stringify(task.inputs),
      deadlineMs: this.now() + (this.deps.taskDeadlineMs ?? 6 * 3600_000),
      scratchPrefix,
    };
  }

  /** Polls run history until the run ends (or the timeout passes) and answers its view. */
  async waitForRun(tenant: string, runId: string, timeoutMs = 120_000): Promise<RunView> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      const run = await this.history.get(tenant, runId);
      if (run && ['succeeded', 'failed', 'cancelled'].includes(run.status)) return run;
      if (this.now() > deadline) {
        throw new WeirError(
          'RUN_TIMEOUT',
          `run ${runId} did not finish within ${timeoutMs} ms (it continues)`,
          504,
          { runId },
        );
      }
      await sleep(100);
    }
  }

  async loadPlan(tenant: string, runId: string): Promise<Plan | undefined> {
    const key = `${tenant}/${runId}`;
    const cached = this.plans.get(key);
    if (cached) {
      // Map order is insertion order: move it to the newest end.
      this.plans.delete(key);
      this.plans.set(key, cached);
      return cached;
    }
    const bytes = await this.deps.store.getIfExists(paths.runKeys.plan(tenant, runId));
    if (!bytes) return undefined;
    const plan = planFromBytes(bytes);
    this.plans.set(key, plan);
    if (this.plans.size > CACHED_PLANS) this.plans.delete(this.plans.keys().next().value!);
    return plan;
  }

  /**
   * Called by a worker once a task reached a terminal state (its events already written):
   * dispatches dependents, skips them after a failure, and ends the run with its last task.
   */
  async taskFinished(tenant: string, runId: string, taskId: string, outcome: TaskOutcome): Promise<void> {
    const plan = await this.loadPlan(tenant, runId);
    if (!plan) return;
    const counts = await this.progress.finish(tenant, runId, taskId, outcome);
    if (!counts) return;
    for (const dependent of dependentsOf(plan, taskId)) {
      if (outcome !== 'succeeded') {
        await this.deps.events.taskEnded(
          tenant,
          runId,
          dependent.taskId,
          'skipped',
          `upstream task ${taskId} ${outcome}`,
        );
        await this.taskFinished(tenant, runId, dependent.taskId, 'skipped');
      } else if (
        !(await this.progress.isCancelled(tenant, runId)) &&
        (await this.upstreamDone(tenant, plan, dependent))
      ) {
        await this.dispatch(plan, [dependent], () => 1);
      }
    }
    if (counts.remaining === 0 && (await this.progress.claimFinal(tenant, runId))) {
      await this.finishRun(tenant, runId, counts.failed === 0 ? 'succeeded' : 'failed');
    }
  }

  private async upstreamDone(tenant: string, plan: Plan, task: PlannedTask): Promise<boolean> {
    const run = await this.history.get(tenant, plan.runId);
    const byKey = new Map(run?.tasks.map((t) => [t.taskKey, t.status]));
    return task.dependsOn.every((key) => byKey.get(key) === 'succeeded');
  }

  private async finishRun(
    tenant: string,
    runId: string,
    status: 'succeeded' | 'failed' | 'cancelled',
  ): Promise<void> {
    const error =
      status === 'failed' ? { code: 'TASK_FAILED', message: 'one or more tasks failed' } : undefined;
    await this.deps.events.runFinished(tenant, runId, status, error ? { error } : {});
  }

  async cancel(tenant: string, runId: string): Promise<RunView> {
    const run = await this.history.get(tenant, runId);
    if (!run) throw new CatalogNotFoundError('RUN_NOT_FOUND', `run ${runId} does not exist`, { runId });
    if (['succeeded', 'failed', 'cancelled'].includes(run.status)) {
      throw new WeirError('RUN_FINISHED', `run ${runId} already ${run.status}`, 409, {
        runId,
        status: run.status,
      });
    }
    if (run.kind === 'flush') {
      // A flush commits rows the API already acknowledged; cancelled, they would wait unqueryable
      // in staging until the next start's recovery.
      throw new WeirError(
        'RUN_NOT_CANCELLABLE',
        `run ${runId} is a flush of acknowledged rows and cannot be cancelled`,
        409,
        { runId, kind: run.kind },
      );
    }
    await this.progress.cancel(tenant, runId);
    await this.finishCancel(tenant, run);
    return (await this.history.get(tenant, runId))!;
  }

  /**
   * The events of a cancel whose flag is set: queued tasks removed and cancelled, then the run.
   * Running tasks see the flag and stop before they commit. Reconcile calls it again for a cancel
   * that failed after its flag (its events are then written, not lost with the flag's TTL).
   */
  private async finishCancel(tenant: string, run: RunView): Promise<void> {
    const { runId } = run;
    for (const task of run.tasks) {
      if (['succeeded', 'failed', 'skipped', 'cancelled', 'running'].includes(task.status)) continue;
      await this.deps.dispatcher.remove(task.kind, task.taskId);
      await this.deps.events.taskEnded(tenant, runId, task.taskId, 'cancelled', 'run cancelled');
    }
    await this.deps.events.runFinished(tenant, runId, 'cancelled');
  }

  /**
   * Brings every unfinished run of a tenant back in line with its events, e.g. after Redis
   * lost its queues: tasks nobody holds are dispatched again (the catalog's idempotency keys
   * make a second execution harmless) and runs whose tasks all ended are finished.
   */
  async reconcile(tenant: string): Promise<{ redispatched: number; finished: number }> {
    // Every unfinished run, however many finished ones are newer.
    const { runs } = await this.history.list(tenant, { unfinished: true, limit: Number.MAX_SAFE_INTEGER });
    let redispatched = 0;
    let finished = 0;
    for (const run of runs) {
      const plan = await this.loadPlan(tenant, run.runId);
      if (!plan) continue;
      if (await this.progress.isCancelled(tenant, run.runId)) {
        await this.finishCancel(tenant, run);
        finished++;
        continue;
      }
      if (plan.dryRun) {
        // A dry run is seen unfinished while its planner is between the two events, or after it
        // died there: it never executes, so it only needs its end.
        await this.deps.events.runFinished(tenant, run.runId, 'succeeded', {
          dryRun: true,
          summary: plan.summary,
        });
        finished++;
        continue;
      }
      const open = run.tasks.filter((t) => !TASK_ENDS.has(t.status));
      if (open.length === 0) {
        const failed = run.tasks.some((t) => t.status !== 'succeeded');
        await this.finishRun(tenant, run.runId, failed ? 'failed' : 'succeeded');
        finished++;
        continue;
      }
      // A record Redis lost is rebuilt from the events, failures that already ended included.
      const ended = run.tasks.filter((t) => ENDED_UNSUCCESSFULLY.has(t.status)).length;
      await this.progress.init(tenant, run.runId, open.length, ended);
      // Its planner died between `run.planned` and `run.started`: reconcile starts it (the event's
      // idempotency key is the planner's, so a planner still alive writes it once with us).
      if (run.status === 'planned') await this.deps.events.runStarted(tenant, run.runId);
      const statusByKey = new Map(run.tasks.map((t) => [t.taskKey, t.status]));
      const taskById = new Map(plan.tasks.map((t) => [t.taskId, t]));
      // Tasks whose job is gone from Redis, or finished there while the events read above show them open.
      const lost: { task: PlannedTask; jobAttempts: number }[] = [];
      for (const view of open) {
        const task = taskById.get(view.taskId)!;
        const failedUpstream = task.dependsOn.find((key) => ENDED_UNSUCCESSFULLY.has(statusByKey.get(key)!));
        if (failedUpstream !== undefined) {
          // Its upstream ended without success, but the skip never landed (the process that
          // finished the upstream died first): skip it now, which may end the run.
          await this.deps.events.taskEnded(
            tenant,
            run.runId,
            view.taskId,
            'skipped',
            `upstream task ${failedUpstream} ${statusByKey.get(failedUpstream)}`,
          );
          await this.taskFinished(tenant, run.runId, view.taskId, 'skipped');
          continue;
        }
        if (!task.dependsOn.every((key) => statusByKey.get(key) === 'succeeded')) continue;
        const job = await this.deps.dispatcher.jobAttempts(task.kind, task.taskId);
        if (job === undefined || job.state === 'completed' || job.state === 'failed') {
          lost.push({ task, jobAttempts: job?.lastAttempt ?? 0 });
        }
      }
      const again: PlannedTask[] = [];
      const attempts = new Map<string, number>();
      // A job that finished after the history was read looks lost in that read. Its worker wrote
      // the task's terminal event before the job finished, so a read after the job states has it.
      const current = lost.length > 0 ? await this.history.get(tenant, run.runId) : undefined;
      const currentById = new Map(current?.tasks.map((t) => [t.taskId, t]));
      for (const { task, jobAttempts } of lost) {
        const view = currentById.get(task.taskId);
        if (!view || TASK_ENDS.has(view.status)) continue;
        // Run it again, unless it has had the attempts of several jobs already (it kills its
        // worker every time). Attempts count from the events and from the job: `task.running` is
        // not awaited, so the events may miss some.
        const made = Math.max(jobAttempts, ...view.attempts.map((a) => a.attempt));
        const limit = MAX_JOBS_PER_TASK * this.deps.dispatcher.attemptsOf(task.kind);
        if (made >= limit) {
          const message = `task ${task.taskKey} made ${made} attempts without finishing (its worker died or its job was lost each time); giving up`;
          await this.deps.events.taskFailed(
            tenant,
            run.runId,
            task.taskId,
            made,
            { code: 'TASK_LOST', message },
            true,
          );
          await this.taskFinished(tenant, run.runId, task.taskId, 'failed');
          continue;
        }
        await this.deps.dispatcher
          .queue(task.kind)
          .remove(task.taskId)
          .catch(() => undefined);
        again.push(task);
        attempts.set(task.taskId, made + 1);
      }
      const still = await this.stillLost(tenant, run.runId, again);
      await this.dispatch(plan, still, (task) => attempts.get(task.taskId)!);
      redispatched += still.length;
    }
    return { redispatched, finished };
  }

  /**
   * Of the tasks reconcile found lost and removed the jobs of, those still lost now. The run's
   * planner (or the process finishing an upstream) may have added the task's job just after
   * reconcile looked: a job there now is that one, and reconcile's own add would be ignored. A
   * job that ran to its end just before its removal took it is gone, but its worker made the
   * task's end durable before that: a read of the events after the removals has it.
   */
  private async stillLost(
    tenant: string,
    runId: string,
    removed: readonly PlannedTask[],
  ): Promise<PlannedTask[]> {
    if (removed.length === 0) return [];
    const jobs = await Promise.all(removed.map((t) => this.deps.dispatcher.jobAttempts(t.kind, t.taskId)));
    const run = await this.history.get(tenant, runId);
    const ended = new Set(run?.tasks.filter((t) => TASK_ENDS.has(t.status)).map((t) => t.taskId));
    return removed.filter((task, i) => jobs[i] === undefined && run !== undefined && !ended.has(task.taskId));
  }

  /**
   * Re-executes a finished run's plan against its recorded catalog version into a scratch
   * prefix, and compares each output with what was recorded and with what storage holds now.
   * Commits nothing.
   */
  async replay(tenant: string, runId: string, timeoutMs = 10 * 60_000): Promise<ReplayReport> {
    const plan = await this.loadPlan(tenant, runId);
    const run = await this.history.get(tenant, runId);
    if (!plan || !run)
      throw new CatalogNotFoundError('RUN_NOT_FOUND', `run ${runId} does not exist`, { runId });
    if (run.status !== 'succeeded') {
      throw new WeirError(
        'RUN_NOT_REPLAYABLE',
        `run ${runId} is ${run.status}; only succeeded runs can be replayed`,
        409,
      );
    }
    const replayId = `rpl_${sha256Hex(`${runId}\n${this.now()}`).slice(0, 24)}`;
    const report: ReplayReport = {
      runId,
      reproducible: true,
      catalogVersion: plan.catalogVersion,
      tasks: [],
      differences: [],
    };
    for (const task of plan.tasks) {
      const recorded = run.tasks.find((t) => t.taskId === task.taskId)?.result;
      if (!REPLAYABLE.has(task.kind) || !recorded) {
        report.tasks.push({
          taskId: task.taskId,
          taskKey: task.taskKey,
          kind: task.kind,
          reproducible: true,
          skipped: `${task.kind} tasks have no deterministic outputs to compare`,
          outputs: [],
        });
        continue;
      }
      const envelope = this.envelope(plan, task, 1, paths.scratchKeys.prefix(tenant, replayId));
      const replayed = await this.deps.dispatcher.run(envelope, `${replayId}-${task.taskId}`, timeoutMs);
      const outputs = await this.compareOutputs(recorded, replayed);
      const ok = outputs.every(
        (o) => o.recordedSha256 === o.storedSha256 && o.recordedSha256 === o.replayedSha256,
      );
      report.tasks.push({
        taskId: task.taskId,
        taskKey: task.taskKey,
        kind: task.kind,
        reproducible: ok,
        outputs,
      });
      if (!ok) {
        report.reproducible = false;
        report.differences.push(
          ...outputs.filter(
            (o) => o.recordedSha256 !== o.storedSha256 || o.recordedSha256 !== o.replayedSha256,
          ),
        );
      }
    }
    return report;
  }

  private async compareOutputs(recorded: TaskResult, replayed: TaskResult): Promise<ReplayOutput[]> {
    const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);
    const replayedByName = new Map(replayed.wrote.files.map((f) => [name(f.path), f.sha256]));
    return Promise.all(
      recorded.wrote.files.map(async (file) => {
        const stored = await this.deps.store.getIfExists(file.path);
        return {
          file: file.path,
          recordedSha256: file.sha256,
          storedSha256: stored ? sha256Hex(stored) : null,
          replayedSha256: replayedByName.get(name(file.path)) ?? null,
        };
      }),
    );
  }
}

const dependentsIndex = new WeakMap<Plan, Map<string, PlannedTask[]>>();

/** Tasks that list `taskId`'s key in their dependsOn, indexed once per plan. */
function dependentsOf(plan: Plan, taskId: string): PlannedTask[] {
  let index = dependentsIndex.get(plan);
  if (!index) {
    index = new Map();
    const idOfKey = new Map(plan.tasks.map((t) => [t.taskKey, t.taskId]));
    for (const task of plan.tasks) {
      for (const key of task.dependsOn) {
        const upstream = idOfKey.get(key);
        if (upstream !== undefined) index.set(upstream, [...(index.get(upstream) ?? []), task]);
      }
    }
    dependentsIndex.set(plan, index);
  }
  return index.get(taskId) ?? [];
}

/** The one database the run is about: its trigger's, or the one every task names (a retention policy's). */
function databaseOf(plan: Plan): string | undefined {
  const named = new Set<unknown>([
    (plan.trigger as { database?: unknown }).database,
    ...plan.tasks.map((t) => (t.inputs as { database?: unknown }).database),
  ]);
  named.delete(undefined);
  const [only] = named;
  return named.size === 1 && typeof only === 'string' ? only : undefined;
}

function tableOf(plan: Plan): string | undefined {
  const trigger = plan.trigger as { database?: string; table?: string };
  return trigger.database && trigger.table ? `${trigger.database}.${trigger.table}` : undefined;
}
