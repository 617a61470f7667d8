/** A table's live data files: partition, rows, size and time range, in partition order. */
import type { BrowserSessionFile } from '../../../sdk/index.js';
import { formatBytes, formatCount, formatTime } from '../format.js';

/** The object's name: the signed URL's path without its query. */
const fileName = (url: string) => new URL(url, location.href).pathname.split('/').at(-1) ?? url;

export function TableFiles(props: { files: readonly BrowserSessionFile[] }) {
  const files = [...props.files].sort(
    (a, b) => a.partition.localeCompare(b.partition) || a.min_time_us - b.min_time_us,
  );
  return (
    <section class="panel">
      <h2>
        Files <span class="muted">({formatCount(files.length)})</span>
      </h2>
      <div class="table-scroll">
        <table class="grid" data-testid="table-files">
          <thead>
            <tr>
              <th>partition</th>
              <th>file</th>
              <th class="kind-number">rows</th>
              <th class="kind-number">bytes</th>
              <th>min time (UTC)</th>
              <th>max time (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {files.length === 0 && (
              <tr>
                <td colSpan={6} class="muted">
                  No live files.
                </td>
              </tr>
            )}
            {files.map((file) => (
              <tr key={file.url}>
                <td>{file.partition}</td>
                <td class="mono muted file-name" title={fileName(file.url)}>
                  {fileName(file.url)}
                </td>
                <td class="kind-number">{formatCount(file.rows)}</td>
                <td class="kind-number" title={`${formatCount(file.bytes)} bytes`}>
                  {formatBytes(file.bytes)}
                </td>
                <td class="kind-time">{formatTime(file.min_time)}</td>
                <td class="kind-time">{formatTime(file.max_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
