/** The tenant's databases and their tables, as a tree of links; the open table is marked. */
import type { Database, TableInfo } from '../../../sdk/index.js';
import { href } from '../router.js';

export interface CatalogTreeProps {
  readonly databases: readonly Database[];
  readonly tables: readonly TableInfo[];
  readonly database?: string;
  readonly table?: string;
}

export function CatalogTree(props: CatalogTreeProps) {
  return (
    <nav class="catalog-tree" data-testid="catalog-tree" aria-label="Databases and tables">
      {props.databases.length === 0 && <div class="muted empty">No databases yet.</div>}
      {props.databases.map((db) => {
        const tables = props.tables.filter((t) => t.database === db.name);
        return (
          <details key={db.name} open class="tree-database" data-database={db.name}>
            <summary>
              <span class="tree-name">{db.name}</span>
              <span class="muted tree-count">{tables.length}</span>
            </summary>
            <ul>
              {tables.length === 0 && <li class="muted">no tables</li>}
              {tables.map((t) => {
                const current = db.name === props.database && t.measurement === props.table;
                return (
                  <li key={t.measurement}>
                    <a
                      href={href(['browse', db.name, t.measurement])}
                      class={current ? 'tree-table current' : 'tree-table'}
                      data-table={`${db.name}.${t.measurement}`}
                    >
                      {t.measurement}
                    </a>
                  </li>
                );
              })}
            </ul>
          </details>
        );
      })}
    </nav>
  );
}
