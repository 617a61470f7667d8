/** Every table of the tenant (or of one database) with its file count and size, and the versions. */
import type { TableInfo } from '../../../sdk/index.js';
import { PageHeader } from '../common.js';
import { formatCount } from '../format.js';
import { href } from '../router.js';
import { CatalogVersions } from './catalog-versions.js';

export function CatalogOverview(props: { tables: readonly TableInfo[]; database?: string }) {
  const tables = props.tables.filter((t) => !props.database || t.database === props.database);
  return (
    <div>
      <PageHeader title={props.database ?? 'Catalog'} />
      <section class="panel">
        <h2>
          Tables <span class="muted">({formatCount(tables.length)})</span>
        </h2>
        <table class="grid">
          <thead>
            <tr>
              <th>database</th>
              <th>table</th>
              <th class="kind-number">files</th>
              <th class="kind-number">size (MB)</th>
            </tr>
          </thead>
          <tbody>
            {tables.length === 0 && (
              <tr>
                <td colSpan={4} class="muted">
                  No tables yet: write some data first.
                </td>
              </tr>
            )}
            {tables.map((t) => (
              <tr key={`${t.database}.${t.measurement}`}>
                <td>{t.database}</td>
                <td>
                  <a href={href(['browse', t.database, t.measurement])}>{t.measurement}</a>
                </td>
                <td class="kind-number">{formatCount(t.file_count)}</td>
                <td class="kind-number">{t.total_size_mb.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <CatalogVersions />
    </div>
  );
}
