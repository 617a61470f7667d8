/** A list of runs: one row each, linking to the run's page. */
import type { Run } from '../../../sdk/index.js';
import { StatusBadge } from '../common.js';
import { elapsedMs, formatCount, formatMs, formatTime } from '../format.js';
import { href } from '../router.js';

export function RunsTable(props: { runs: readonly Run[]; limit: number }) {
  const { runs } = props;
  return (
    <div class="table-scroll">
      <table class="grid" data-testid="runs-list">
        <thead>
          <tr>
            <th>run</th>
            <th>kind</th>
            <th>status</th>
            <th>table</th>
            <th>planned at (UTC)</th>
            <th class="kind-number">duration</th>
            <th class="kind-number">tasks</th>
            <th class="kind-number">version</th>
            <th>error</th>
          </tr>
        </thead>
        <tbody>
          {runs.length === 0 && (
            <tr>
              <td colSpan={9} class="muted">
                No runs match.
              </td>
            </tr>
          )}
          {runs.map((run) => {
            const duration = elapsedMs(run.startedAt ?? run.plannedAt, run.finishedAt);
            return (
              <tr key={run.runId} data-testid="run-row" data-run-id={run.runId}>
                <td class="mono">
                  <a href={href(['runs', run.runId])}>{run.runId}</a>
                </td>
                <td>
                  {run.kind}
                  {run.dryRun && <span class="badge">dry run</span>}
                </td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>{run.table ?? ''}</td>
                <td class="kind-time">{formatTime(run.plannedAt)}</td>
                <td class="kind-number">{duration === undefined ? '' : formatMs(duration)}</td>
                <td class="kind-number">{run.task_count ?? ''}</td>
                <td class="kind-number">{run.catalogVersion}</td>
                <td class="error-cell" title={run.error?.message}>
                  {run.error?.message ?? ''}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {runs.length >= props.limit && (
        <div class="muted note">
          Showing the newest {formatCount(props.limit)} runs; narrow the filters to see older ones.
        </div>
      )}
    </div>
  );
}
