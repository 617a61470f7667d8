/**
 * One table, at the latest catalog version or as of an earlier one: its schema and live files (from
 * a browser session for the whole table, which pins the version) and the catalog's versions.
 */
import { useClient } from '../api.js';
import { AsyncView, PageHeader } from '../common.js';
import { formatBytes, formatCount, formatTime, quotedName } from '../format.js';
import { href } from '../router.js';
import { useAsync } from '../use-async.js';
import { CatalogVersions } from './catalog-versions.js';
import { TableFiles } from './table-files.js';
import { TableSchema } from './table-schema.js';

export interface TablePageProps {
  readonly database: string;
  readonly table: string;
  readonly asOfVersion?: number;
}

export function TablePage(props: TablePageProps) {
  const client = useClient();
  const { database, table, asOfVersion } = props;
  const name = `${database}.${table}`;
  const session = useAsync(
    () =>
      client.browserSession({
        tables: [name],
        ...(asOfVersion !== undefined ? { asOf: { version: asOfVersion } } : {}),
      }),
    [client, name, asOfVersion],
  );
  const tableHref = (version?: number) => href(['browse', database, table], { version });
  const sample = `SELECT * FROM ${quotedName(database)}.${quotedName(table)} ORDER BY time DESC LIMIT 100`;

  return (
    <div class="table-page">
      <PageHeader
        title={
          <>
            {name}
            {asOfVersion !== undefined && <span class="badge as-of">as of v{asOfVersion}</span>}
          </>
        }
      >
        {asOfVersion !== undefined && <a href={tableHref()}>latest</a>}
        <a class="button" href={href(['query'], { sql: sample, database })}>
          Query this table
        </a>
        <a class="button" href={href(['lineage'], { table: name, direction: 'upstream', depth: 5 })}>
          Lineage of this table
        </a>
      </PageHeader>
      <AsyncView value={session} what="the table">
        {(answer) => {
          const found = answer.tables[0];
          if (!found) return <div class="muted empty">The session named no table.</div>;
          const rows = found.files.reduce((sum, f) => sum + f.rows, 0);
          const bytes = found.files.reduce((sum, f) => sum + f.bytes, 0);
          const from = found.files.reduce<string | undefined>(
            (m, f) => (!m || f.min_time < m ? f.min_time : m),
            undefined,
          );
          const to = found.files.reduce<string | undefined>(
            (m, f) => (!m || f.max_time > m ? f.max_time : m),
            undefined,
          );
          return (
            <>
              <div class="facts-row">
                <span class="fact">
                  <span class="fact-label">version</span> v{answer.version}
                </span>
                <span class="fact">
                  <span class="fact-label">files</span> {formatCount(found.files.length)}
                </span>
                <span class="fact">
                  <span class="fact-label">rows</span> {formatCount(rows)}
                </span>
                <span class="fact">
                  <span class="fact-label">size</span> {formatBytes(bytes)}
                </span>
                {from && to && (
                  <span class="fact">
                    <span class="fact-label">time</span> {formatTime(from)} → {formatTime(to)}
                  </span>
                )}
              </div>
              <TableSchema columns={found.columns} />
              <TableFiles files={found.files} />
            </>
          );
        }}
      </AsyncView>
      <CatalogVersions current={asOfVersion} openHref={tableHref} />
    </div>
  );
}
