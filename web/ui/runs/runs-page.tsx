/**
 * Run history, newest first, filtered by kind, status and table. The filters live in the address
 * (`#/runs?kind=flush&status=failed`) so a filtered list can be linked and reloaded.
 */
import type { RunFilter, RunStatus } from '../../../sdk/index.js';
import { useClient } from '../api.js';
import { AsyncView, PageHeader } from '../common.js';
import { href, navigate } from '../router.js';
import { useAsync } from '../use-async.js';
import { RunsTable } from './runs-table.js';

const RUN_KINDS = [
  'flush',
  'compaction',
  'retention',
  'delete',
  'cq',
  'checkpoint',
  'events-compaction',
  'expire',
  'noop',
];
const RUN_STATUSES: readonly RunStatus[] = ['planned', 'running', 'succeeded', 'failed', 'cancelled'];
const LIMIT = 200;

export function RunsPage(props: { params: URLSearchParams }) {
  const client = useClient();
  const kind = props.params.get('kind') ?? '';
  const status = (props.params.get('status') ?? '') as RunStatus | '';
  const table = props.params.get('table') ?? '';
  const runs = useAsync(() => {
    const filter: RunFilter = { limit: LIMIT };
    if (kind) filter.kind = kind;
    if (status) filter.status = status;
    if (table) filter.table = table;
    return client.runs.list(filter);
  }, [client, kind, status, table]);
  const tables = useAsync(() => client.tables.list(), [client]);

  const setFilter = (change: { kind?: string; status?: string; table?: string }) =>
    navigate(href(['runs'], { kind, status, table, ...change }));

  return (
    <div>
      <PageHeader title="Runs">
        <button type="button" onClick={runs.reload}>
          Refresh
        </button>
      </PageHeader>
      <div class="toolbar">
        <label class="field-inline">
          <span>Kind</span>
          <select
            data-testid="runs-kind"
            value={kind}
            onChange={(e) => setFilter({ kind: e.currentTarget.value })}
          >
            <option value="">all</option>
            {RUN_KINDS.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label class="field-inline">
          <span>Status</span>
          <select
            data-testid="runs-status"
            value={status}
            onChange={(e) => setFilter({ status: e.currentTarget.value })}
          >
            <option value="">all</option>
            {RUN_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label class="field-inline">
          <span>Table</span>
          <select
            data-testid="runs-table"
            value={table}
            onChange={(e) => setFilter({ table: e.currentTarget.value })}
          >
            <option value="">all</option>
            {table && <option value={table}>{table}</option>}
            {(tables.state === 'done' ? tables.value : [])
              .map((t) => `${t.database}.${t.measurement}`)
              .filter((name) => name !== table)
              .map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
          </select>
        </label>
      </div>
      <AsyncView value={runs} what="runs">
        {(list) => <RunsTable runs={list} limit={LIMIT} />}
      </AsyncView>
    </div>
  );
}
