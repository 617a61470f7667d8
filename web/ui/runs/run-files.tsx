/** What a run read, wrote and removed, gathered from its finished tasks' results. */
import { formatBytes, formatCount } from '../format.js';
import type { FileRef, Task } from './task.js';

function distinct(files: Iterable<FileRef>): FileRef[] {
  const byPath = new Map<string, FileRef>();
  for (const file of files) byPath.set(file.path, file);
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}

const fileName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

function FileList(props: { title: string; files: readonly FileRef[]; testId: string }) {
  const rows = props.files.reduce((sum, f) => sum + f.rows, 0);
  const bytes = props.files.reduce((sum, f) => sum + f.bytes, 0);
  return (
    <section class="panel">
      <h2>
        {props.title}{' '}
        <span class="muted">
          ({formatCount(props.files.length)} files, {formatCount(rows)} rows, {formatBytes(bytes)})
        </span>
      </h2>
      <div class="table-scroll short">
        <table class="grid" data-testid={props.testId}>
          <thead>
            <tr>
              <th>table</th>
              <th>partition</th>
              <th>file</th>
              <th class="kind-number">rows</th>
              <th class="kind-number">bytes</th>
            </tr>
          </thead>
          <tbody>
            {props.files.length === 0 && (
              <tr>
                <td colSpan={5} class="muted">
                  none
                </td>
              </tr>
            )}
            {props.files.map((file) => (
              <tr key={file.path}>
                <td>
                  {file.database}.{file.table}
                </td>
                <td>{file.partition}</td>
                <td class="mono file-name" title={file.path}>
                  {fileName(file.path)}
                </td>
                <td class="kind-number">{formatCount(file.rows)}</td>
                <td class="kind-number">{formatBytes(file.bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function RunFiles(props: { tasks: readonly Task[] }) {
  const results = props.tasks.flatMap((t) => (t.result ? [t.result] : []));
  const read = distinct(results.flatMap((r) => r.reads.flatMap((read) => read.files)));
  const wrote = distinct(results.flatMap((r) => r.wrote.files));
  const removed = distinct(results.flatMap((r) => r.wrote.removed));
  return (
    <>
      <FileList title="Inputs" files={read} testId="run-inputs" />
      <FileList title="Outputs" files={wrote} testId="run-outputs" />
      {removed.length > 0 && <FileList title="Removed" files={removed} testId="run-removed" />}
    </>
  );
}
