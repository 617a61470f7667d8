/** One line under the editor: rows, where the time went, and for browser runs what was fetched. */
import { Fragment } from 'preact';
import { formatBytes, formatCount, formatMs } from '../format.js';
import type { QueryResult } from './result.js';

function facts(result: QueryResult): string[] {
  // Plain digits: the count is the fact most often read (and matched) from this line.
  const rows = `${result.rows.length} ${result.rows.length === 1 ? 'row' : 'rows'}`;
  const { browser } = result;
  if (browser) {
    return [
      rows,
      `browser`,
      `session ${formatMs(browser.sessionMs)}`,
      ...(browser.startMs >= 1 ? [`DuckDB start ${formatMs(browser.startMs)}`] : []),
      `load ${formatMs(browser.loadMs)}`,
      `query ${formatMs(browser.queryMs)}`,
      `total ${formatMs(result.totalMs)}`,
      `${formatBytes(browser.bytesFetched)} fetched (${formatCount(browser.bytesFetched)} bytes, ${formatCount(browser.requests)} requests)`,
      `${formatCount(browser.files)} ${browser.files === 1 ? 'file' : 'files'}` +
        (browser.cachedFiles > 0 ? ` (${formatCount(browser.cachedFiles)} already loaded)` : ''),
      ...(browser.cutFiles.files > 0
        ? [
            `row groups ${formatCount(browser.cutFiles.rowGroupsRead)}/${formatCount(browser.cutFiles.rowGroupsTotal)} ` +
              `in the ${formatCount(browser.cutFiles.files)} ${browser.cutFiles.files === 1 ? 'file' : 'files'} the time range cuts`,
          ]
        : []),
      `version ${result.version}`,
    ];
  }
  return [
    rows,
    'server',
    `server ${formatMs(result.serverMs ?? 0)}`,
    `total ${formatMs(result.totalMs)}`,
    `version ${result.version}`,
  ];
}

export function ResultStatus(props: { result: QueryResult }) {
  return (
    <div class="result-status" data-testid="result-status">
      {facts(props.result).map((fact, i) => (
        <Fragment key={i}>
          {i > 0 && <span class="separator"> · </span>}
          <span class={i === 0 ? 'fact strong' : 'fact'}>{fact}</span>
        </Fragment>
      ))}
    </div>
  );
}
