/**
 * A run's tasks on a time axis: one row per task, one bar per attempt from its start to its finish
 * (a pale lead-in while it waited in the queue), coloured by status. Unfinished attempts run to now.
 */
import { useRef } from 'preact/hooks';
import type { Run } from '../../../sdk/index.js';
import { formatMs, formatTime } from '../format.js';
import { useWidth } from '../use-width.js';
import type { Task, TaskAttempt } from './task.js';

/** Room for task keys: as wide as the longest needs, within bounds. */
const labelWidth = (tasks: readonly Task[]) =>
  Math.min(Math.max(...tasks.map((t) => t.taskKey.length), 10) * 6.4 + 12, 360);
const ROW_HEIGHT = 24;
const AXIS_HEIGHT = 22;
const BAR_HEIGHT = 14;

interface Span {
  readonly from: number;
  readonly to: number;
}

const ms = (time: string | undefined) => (time ? Date.parse(time) : undefined);

/** An attempt's queue wait and its run, in epoch ms (`now` for what has not finished). */
function attemptSpans(attempt: TaskAttempt, now: number): { queued?: Span; ran?: Span } {
  const queued = ms(attempt.queuedAt);
  const started = ms(attempt.startedAt);
  const finished = ms(attempt.finishedAt) ?? now;
  return {
    ...(queued !== undefined ? { queued: { from: queued, to: started ?? finished } } : {}),
    ...(started !== undefined ? { ran: { from: started, to: finished } } : {}),
  };
}

function timeRange(run: Run, tasks: readonly Task[], now: number): Span {
  const times = [ms(run.plannedAt), ms(run.startedAt), ms(run.finishedAt)];
  for (const task of tasks) {
    times.push(ms(task.startedAt), ms(task.finishedAt));
    for (const a of task.attempts) times.push(ms(a.queuedAt), ms(a.startedAt), ms(a.finishedAt));
  }
  const known = times.filter((t): t is number => t !== undefined);
  const from = Math.min(...known);
  const to = run.finishedAt ? Math.max(...known) : now;
  return { from, to: Math.max(to, from + 1) };
}

export function TaskTimeline(props: { run: Run; tasks: readonly Task[] }) {
  const host = useRef<HTMLDivElement>(null);
  const width = useWidth(host);
  const now = Date.now();
  const range = timeRange(props.run, props.tasks, now);
  const label = labelWidth(props.tasks);
  const plot = Math.max(width - label - 16, 100);
  const x = (t: number) => label + ((t - range.from) / (range.to - range.from)) * plot;
  const height = AXIS_HEIGHT + props.tasks.length * ROW_HEIGHT + 4;
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <div ref={host} class="timeline">
      <svg
        data-testid="task-timeline"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label="Task timeline"
      >
        {ticks.map((f) => {
          const tx = label + f * plot;
          return (
            <g key={f} class="timeline-tick">
              <line x1={tx} x2={tx} y1={AXIS_HEIGHT - 4} y2={height} />
              <text x={tx} y={AXIS_HEIGHT - 8} text-anchor={f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}>
                +{formatMs(f * (range.to - range.from))}
              </text>
            </g>
          );
        })}
        {props.tasks.map((task, row) => {
          const y = AXIS_HEIGHT + row * ROW_HEIGHT;
          const barY = y + (ROW_HEIGHT - BAR_HEIGHT) / 2;
          return (
            <g key={task.taskId} data-task={task.taskId} class="timeline-row">
              <text x={4} y={y + ROW_HEIGHT / 2 + 4} class="timeline-label">
                <title>{`${task.taskKey} (${task.kind})`}</title>
                {task.taskKey.length > 55 ? `${task.taskKey.slice(0, 54)}…` : task.taskKey}
              </text>
              {task.attempts.length === 0 && (
                <text x={label + 4} y={y + ROW_HEIGHT / 2 + 4} class="muted-text">
                  {task.status}
                </text>
              )}
              {task.attempts.map((attempt) => {
                const { queued, ran } = attemptSpans(attempt, now);
                const title = [
                  `${task.taskKey} attempt ${attempt.attempt}: ${attempt.status}`,
                  attempt.worker && `worker ${attempt.worker}`,
                  attempt.queuedAt && `queued ${formatTime(attempt.queuedAt)}`,
                  attempt.startedAt && `started ${formatTime(attempt.startedAt)}`,
                  attempt.finishedAt && `finished ${formatTime(attempt.finishedAt)}`,
                  ran && `ran ${formatMs(ran.to - ran.from)}`,
                  attempt.error && `error ${attempt.error.message}`,
                ]
                  .filter(Boolean)
                  .join('\n');
                return (
                  <g key={attempt.attempt}>
                    <title>{title}</title>
                    {queued && (
                      <rect
                        class="bar-queued"
                        x={x(queued.from)}
                        y={barY}
                        width={Math.max(x(queued.to) - x(queued.from), 1)}
                        height={BAR_HEIGHT}
                      />
                    )}
                    {ran && (
                      <rect
                        class={`bar status-${attempt.status}`}
                        x={x(ran.from)}
                        y={barY}
                        width={Math.max(x(ran.to) - x(ran.from), 2)}
                        height={BAR_HEIGHT}
                        rx={2}
                      />
                    )}
                  </g>
                );
              })}
            </g>
          );
        })}
      </svg>
    </div>
  );
}
