/**
 * One run: what it was, its tasks on a timeline, what it read and wrote, its errors, its lineage,
 * and replay. An unfinished run is re-read every few seconds until it finishes.
 */
import { useEffect } from 'preact/hooks';
import type { Run } from '../../../sdk/index.js';
import { useClient } from '../api.js';
import { AsyncView, PageHeader, StatusBadge } from '../common.js';
import { elapsedMs, formatMs, formatTime } from '../format.js';
import { href } from '../router.js';
import { useAsync } from '../use-async.js';
import { ReplayPanel } from './replay-panel.js';
import { RunFiles } from './run-files.js';
import { RunLineage } from './run-lineage.js';
import { tasksOf } from './task.js';
import { TaskTable } from './task-table.js';
import { TaskTimeline } from './task-timeline.js';

const POLL_MS = 2000;
const unfinished = (run: Run) => run.status === 'planned' || run.status === 'running';

export function RunPage(props: { runId: string }) {
  const client = useClient();
  const run = useAsync(() => client.runs.get(props.runId), [client, props.runId]);
  const polling = run.state === 'done' && unfinished(run.value);
  useEffect(() => {
    if (!polling) return;
    const timer = setInterval(run.reload, POLL_MS);
    return () => clearInterval(timer);
  }, [polling, run.reload]);

  return (
    <div data-testid="run-detail">
      <PageHeader
        title={
          <>
            Run <span class="mono">{props.runId}</span>
          </>
        }
      >
        <a href={href(['runs'])}>all runs</a>
      </PageHeader>
      <AsyncView value={run} what="the run">
        {(value) => <RunDetail run={value} />}
      </AsyncView>
    </div>
  );
}

function RunDetail(props: { run: Run }) {
  const { run } = props;
  const tasks = tasksOf(run);
  const duration = elapsedMs(run.startedAt ?? run.plannedAt, run.finishedAt);
  const failedTasks = tasks.filter((t) => t.error);
  return (
    <>
      <dl class="facts-grid">
        <dt>status</dt>
        <dd>
          <StatusBadge status={run.status} />
          {run.dryRun && <span class="badge">dry run</span>}
        </dd>
        <dt>kind</dt>
        <dd>{run.kind}</dd>
        <dt>table</dt>
        <dd>
          {run.table ? (
            <>
              <a href={href(['browse', ...run.table.split('.')])}>{run.table}</a>{' '}
              <a
                class="muted"
                href={href(['lineage'], { table: run.table, direction: 'upstream', depth: 5 })}
              >
                (lineage)
              </a>
            </>
          ) : (
            '—'
          )}
        </dd>
        <dt>catalog version</dt>
        <dd>{run.catalogVersion}</dd>
        <dt>logical time</dt>
        <dd>{formatTime(run.logicalTime)}</dd>
        <dt>planned</dt>
        <dd>{formatTime(run.plannedAt)}</dd>
        <dt>started</dt>
        <dd>{formatTime(run.startedAt) || '—'}</dd>
        <dt>finished</dt>
        <dd>{formatTime(run.finishedAt) || '—'}</dd>
        <dt>duration</dt>
        <dd>{duration === undefined ? '—' : formatMs(duration)}</dd>
        <dt>trigger</dt>
        <dd class="mono small">{JSON.stringify(run.trigger)}</dd>
        <dt>summary</dt>
        <dd class="mono small">{JSON.stringify(run.summary)}</dd>
      </dl>
      {(run.error || failedTasks.length > 0) && (
        <section class="panel" data-testid="run-errors">
          <h2>Errors</h2>
          {run.error && (
            <div class="error-box">
              <span class="error-text">{run.error.message}</span>
              <span class="error-code">{run.error.code}</span>
            </div>
          )}
          {failedTasks.map((task) => (
            <div key={task.taskId} class="error-box">
              <span class="error-text">
                {task.taskKey}: {task.error!.message}
              </span>
              <span class="error-code">{task.error!.code}</span>
            </div>
          ))}
        </section>
      )}
      <section class="panel">
        <h2>Tasks</h2>
        <TaskTimeline run={run} tasks={tasks} />
        <TaskTable tasks={tasks} />
      </section>
      <RunFiles tasks={tasks} />
      <ReplayPanel runId={run.runId} />
      <RunLineage runId={run.runId} status={run.status} />
    </>
  );
}
