/** A run's tasks in a table: key, kind, status, attempts, duration, dependencies. */
import { StatusBadge } from '../common.js';
import { elapsedMs, formatMs } from '../format.js';
import type { Task } from './task.js';

export function TaskTable(props: { tasks: readonly Task[] }) {
  return (
    <div class="table-scroll short">
      <table class="grid" data-testid="task-table">
        <thead>
          <tr>
            <th>task</th>
            <th>kind</th>
            <th>status</th>
            <th class="kind-number">attempts</th>
            <th class="kind-number">duration</th>
            <th>depends on</th>
          </tr>
        </thead>
        <tbody>
          {props.tasks.map((task) => {
            const duration = elapsedMs(task.startedAt, task.finishedAt);
            return (
              <tr key={task.taskId}>
                <td title={task.taskId}>{task.taskKey}</td>
                <td>{task.kind}</td>
                <td>
                  <StatusBadge status={task.status} />
                </td>
                <td class="kind-number">{task.attempts.length}</td>
                <td class="kind-number">{duration === undefined ? '' : formatMs(duration)}</td>
                <td class="muted">{task.dependsOn.join(', ')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
