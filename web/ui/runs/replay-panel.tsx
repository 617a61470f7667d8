/**
 * Replay: re-executes the run into scratch against its recorded catalog version and compares its
 * outputs with what was recorded and what storage holds (nothing is committed).
 */
import { useState } from 'preact/hooks';
import type { ReplayReport } from '../../../sdk/index.js';
import { useClient } from '../api.js';
import { ErrorBox } from '../common.js';

type State =
  | { state: 'idle' }
  | { state: 'replaying' }
  | { state: 'done'; report: ReplayReport }
  | { state: 'failed'; error: unknown };

const short = (sha: string | null) => (sha === null ? 'missing' : sha.slice(0, 12));

export function ReplayPanel(props: { runId: string }) {
  const client = useClient();
  const [replay, setReplay] = useState<State>({ state: 'idle' });
  const start = async () => {
    setReplay({ state: 'replaying' });
    try {
      setReplay({ state: 'done', report: await client.runs.replay(props.runId) });
    } catch (error) {
      setReplay({ state: 'failed', error });
    }
  };
  return (
    <section class="panel">
      <h2>Replay</h2>
      <div class="toolbar">
        <button
          type="button"
          data-testid="replay-run"
          disabled={replay.state === 'replaying'}
          onClick={start}
        >
          {replay.state === 'replaying' ? 'Replaying…' : 'Replay'}
        </button>
        <span class="muted">
          Re-executes a succeeded run against its recorded catalog version into scratch and compares its
          outputs; commits nothing.
        </span>
      </div>
      {replay.state === 'failed' && (
        <div data-testid="replay-result">
          <ErrorBox error={replay.error} />
        </div>
      )}
      {replay.state === 'done' && <ReplayResult report={replay.report} />}
    </section>
  );
}

function ReplayResult(props: { report: ReplayReport }) {
  const { report } = props;
  const { tasks, differences } = report;
  return (
    <div data-testid="replay-result" data-reproducible={String(report.reproducible)}>
      <p class={report.reproducible ? 'outcome good' : 'outcome bad'}>
        {report.reproducible ? 'Reproducible' : 'Not reproducible'}: replayed against catalog version{' '}
        {report.catalogVersion}.
      </p>
      <table class="grid">
        <thead>
          <tr>
            <th>task</th>
            <th>kind</th>
            <th>reproducible</th>
            <th>outputs compared</th>
            <th>note</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((task) => (
            <tr key={task.taskId}>
              <td>{task.taskKey}</td>
              <td>{task.kind}</td>
              <td>{task.skipped ? '—' : task.reproducible ? 'yes' : 'no'}</td>
              <td class="kind-number">{task.outputs.length}</td>
              <td class="muted">{task.skipped ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {differences.length > 0 && (
        <>
          <h3>Differing outputs</h3>
          <table class="grid" data-testid="replay-differences">
            <thead>
              <tr>
                <th>file</th>
                <th>recorded</th>
                <th>stored</th>
                <th>replayed</th>
              </tr>
            </thead>
            <tbody>
              {differences.map((d) => (
                <tr key={d.file}>
                  <td class="mono">{d.file}</td>
                  <td class="mono">{short(d.recordedSha256)}</td>
                  <td class={d.storedSha256 === d.recordedSha256 ? 'mono' : 'mono bad'}>
                    {short(d.storedSha256)}
                  </td>
                  <td class={d.replayedSha256 === d.recordedSha256 ? 'mono' : 'mono bad'}>
                    {short(d.replayedSha256)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
