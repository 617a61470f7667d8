/** Browse: the catalog tree beside either one table or an overview of all of them. */
import { useClient } from '../api.js';
import { AsyncView } from '../common.js';
import { useAsync } from '../use-async.js';
import { CatalogOverview } from './catalog-overview.js';
import { CatalogTree } from './catalog-tree.js';
import { TablePage } from './table-page.js';

export interface BrowsePageProps {
  readonly database?: string;
  readonly table?: string;
  /** `?version=` of the address: the table as of that catalog version. */
  readonly asOfVersion?: string;
}

export function BrowsePage(props: BrowsePageProps) {
  const client = useClient();
  const catalog = useAsync(async () => {
    const [databases, tables] = await Promise.all([client.databases.list(), client.tables.list()]);
    return { databases, tables };
  }, [client]);
  const version = props.asOfVersion === undefined ? undefined : Number(props.asOfVersion);
  return (
    <div class="browse">
      <aside class="browse-side">
        <AsyncView value={catalog} what="databases">
          {({ databases, tables }) => (
            <CatalogTree
              databases={databases}
              tables={tables}
              database={props.database}
              table={props.table}
            />
          )}
        </AsyncView>
      </aside>
      <section class="browse-main">
        {props.database && props.table ? (
          <TablePage
            database={props.database}
            table={props.table}
            asOfVersion={Number.isInteger(version) ? version : undefined}
          />
        ) : (
          <AsyncView value={catalog} what="tables">
            {({ tables }) => <CatalogOverview tables={tables} database={props.database} />}
          </AsyncView>
        )}
      </section>
    </div>
  );
}
