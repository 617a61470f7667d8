/** The top bar: which tenant and token the console acts as, the catalog's version, sign-out. */
import { useSession, useSignOut } from '../api.js';
import { useAsync } from '../use-async.js';

/** `page` is the current page: moving between pages re-reads the version, which moves with writes. */
export function TopBar(props: { page: string }) {
  const session = useSession();
  const signOut = useSignOut();
  // Tenant-wide: a token limited to some databases may not read it.
  const scoped = session.databases !== null;
  const latest = useAsync(
    async () => (scoped ? [] : session.client.catalogVersions({ limit: 1 })),
    [session, props.page],
  );
  const version = latest.state === 'done' ? latest.value[0]?.version : undefined;
  return (
    <header class="top-bar">
      <a class="brand" href="#/query">
        Weir
      </a>
      <div class="top-bar-facts">
        <span class="fact" title="Tenant">
          <span class="fact-label">tenant</span> <span data-testid="tenant">{session.tenant}</span>
        </span>
        <span class="fact" title="Token">
          <span class="fact-label">token</span> {session.tokenName}
          <span class="muted"> ({session.permissions.join(', ')})</span>
        </span>
        {scoped ? (
          <span class="fact" title="Databases this token may use">
            <span class="fact-label">databases</span>{' '}
            <span data-testid="token-databases">{session.databases!.join(', ')}</span>
          </span>
        ) : (
          <span class="fact" title="Latest catalog version">
            <span class="fact-label">catalog</span>{' '}
            <span data-testid="catalog-version">{version === undefined ? '…' : `v${version}`}</span>
          </span>
        )}
      </div>
      <button type="button" class="sign-out" data-testid="sign-out" onClick={signOut}>
        Sign out
      </button>
    </header>
  );
}
