/** The tenant's catalog commits, newest first; each may open the current view as of that version. */
import { useClient, useSession } from '../api.js';
import { AsyncView } from '../common.js';
import { formatTime } from '../format.js';
import { href } from '../router.js';
import { useAsync } from '../use-async.js';

const SHOWN_VERSIONS = 50;

export interface CatalogVersionsProps {
  /** The version on screen; undefined for the latest. */
  readonly current?: number;
  /** The link that opens a version; without it versions are listed only. */
  readonly openHref?: (version: number) => string;
}

/** Tenant-wide, so not shown to a token limited to some databases (the server refuses it). */
export function CatalogVersions(props: CatalogVersionsProps) {
  return useSession().databases === null ? <VersionList {...props} /> : null;
}

function VersionList(props: CatalogVersionsProps) {
  const client = useClient();
  const versions = useAsync(() => client.catalogVersions({ limit: SHOWN_VERSIONS }), [client]);
  return (
    <section class="panel">
      <h2>
        Catalog versions <span class="muted">(tenant-wide, latest {SHOWN_VERSIONS})</span>
      </h2>
      <AsyncView value={versions} what="versions">
        {(list) => (
          <div class="table-scroll short">
            <table class="grid" data-testid="catalog-versions">
              <thead>
                <tr>
                  <th class="kind-number">version</th>
                  <th>committed at (UTC)</th>
                  <th>operation</th>
                  <th>author</th>
                  <th>run</th>
                  <th class="kind-number">actions</th>
                  {props.openHref && <th />}
                </tr>
              </thead>
              <tbody>
                {list.map((v, i) => {
                  const current = props.current === undefined ? i === 0 : props.current === v.version;
                  return (
                    <tr key={v.version} class={current ? 'selected' : ''} data-version={v.version}>
                      <td class="kind-number">{v.version}</td>
                      <td class="kind-time">{formatTime(v.committed_at)}</td>
                      <td>{v.operation ?? ''}</td>
                      <td>{v.author ?? ''}</td>
                      <td>{v.run_id && <a href={href(['runs', v.run_id])}>{v.run_id.slice(0, 12)}…</a>}</td>
                      <td class="kind-number">{v.action_count}</td>
                      {props.openHref && (
                        <td>
                          {current ? (
                            <span class="muted">on screen</span>
                          ) : (
                            <a href={props.openHref(v.version)}>open as of</a>
                          )}
                        </td>
                      )}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </AsyncView>
    </section>
  );
}
