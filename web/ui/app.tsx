/** The console: sign-in until a token is accepted, then the shell with the page the hash names. */
import { useEffect, useState } from 'preact/hooks';
import { AuthenticationError } from '../../sdk/index.js';
import {
  forgetToken,
  openSession,
  type Session,
  SessionProvider,
  SignInError,
  storedToken,
  storeToken,
} from './api.js';
import { BrowsePage } from './browse/browse-page.js';
import { Empty, errorMessage } from './common.js';
import { LineagePage } from './lineage/lineage-page.js';
import { forgetSavedQuery, QueryPage } from './query/query-page.js';
import { type Route, useRoute } from './router.js';
import { RunPage } from './runs/run-page.js';
import { RunsPage } from './runs/runs-page.js';
import { Nav } from './shell/nav.js';
import { TopBar } from './shell/top-bar.js';
import { SignIn } from './sign-in.js';

type Auth =
  | { state: 'checking' }
  | { state: 'signed-out'; notice?: string }
  | { state: 'signed-in'; session: Session };

/** Forgets the token and the query saved with it (statement, database, engine): they are its user's. */
function forgetUser(): void {
  forgetToken();
  forgetSavedQuery();
}

export function App() {
  const [auth, setAuth] = useState<Auth>(() =>
    storedToken() ? { state: 'checking' } : { state: 'signed-out' },
  );

  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    openSession(token).then(
      (session) => setAuth({ state: 'signed-in', session }),
      (error: unknown) => {
        // A rejected token is forgotten with its user's query; an unreachable server is not its fault.
        if (error instanceof SignInError || error instanceof AuthenticationError) forgetUser();
        setAuth({ state: 'signed-out', notice: errorMessage(error) });
      },
    );
  }, []);

  if (auth.state === 'checking') return <div class="muted loading">Checking the saved token…</div>;
  if (auth.state === 'signed-out') {
    return (
      <SignIn
        notice={auth.notice}
        onSignedIn={(session, token) => {
          storeToken(token);
          setAuth({ state: 'signed-in', session });
        }}
      />
    );
  }
  const signOut = () => {
    forgetUser();
    // A new page keeps nothing of this user in memory either (loaded files, answers, the editor).
    location.reload();
  };
  return (
    <SessionProvider value={{ session: auth.session, signOut }}>
      <Console />
    </SessionProvider>
  );
}

function Console() {
  const route = useRoute();
  const page = route.path[0] ?? 'query';
  // The query page stays mounted once opened, so its editor and last answer survive a look elsewhere.
  const [queryOpened, setQueryOpened] = useState(false);
  useEffect(() => {
    if (page === 'query') setQueryOpened(true);
  }, [page]);
  return (
    <div class="console">
      <TopBar page={page} />
      <Nav current={page} />
      <main class="page">
        {(queryOpened || page === 'query') && <QueryPage active={page === 'query'} params={route.params} />}
        {page !== 'query' && <PageFor route={route} />}
      </main>
    </div>
  );
}

function PageFor(props: { route: Route }) {
  const { path, params } = props.route;
  switch (path[0]) {
    case 'browse':
      return (
        <BrowsePage database={path[1]} table={path[2]} asOfVersion={params.get('version') ?? undefined} />
      );
    case 'runs':
      return path[1] ? <RunPage runId={path[1]} /> : <RunsPage params={params} />;
    case 'lineage':
      return <LineagePage params={params} />;
    default:
      return <Empty>No page at {location.hash}.</Empty>;
  }
}
