/**
 * The SQL page: editor, database, engine and version, then the answer as a status line, a chart
 * when it is a time series, and a table. The statement, database and engine are remembered
 * across visits (localStorage).
 */
import type { SQLNamespace } from '@codemirror/lang-sql';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { preloadBrowserEngine } from '../../engine/index.js';
import { useClient } from '../api.js';
import { ErrorBox, errorMessage, PageHeader } from '../common.js';
import { quotedName } from '../format.js';
import { useAsync } from '../use-async.js';
import { QueryToolbar } from './query-toolbar.js';
import type { Engine, QueryResult } from './result.js';
import { ResultChart } from './result-chart.js';
import { ResultStatus } from './result-status.js';
import { ResultTable } from './result-table.js';
import { runQuery } from './run-query.js';
import { SqlEditor, type SqlEditorHandle } from './sql-editor.js';
import { exposeSetSql, recordError, recordResult } from './test-hooks.js';

const SAVED = { sql: 'weir.query.sql', database: 'weir.query.database', engine: 'weir.query.engine' };

/** Forgets the remembered statement, database and engine: they are the signed-in user's. */
export function forgetSavedQuery(): void {
  for (const key of Object.values(SAVED)) localStorage.removeItem(key);
}

/** A value kept in localStorage under `key`. */
function useSaved<T extends string>(key: string, initial: T): [T, (value: T) => void] {
  const [value, setValue] = useState<T>(() => (localStorage.getItem(key) as T | null) ?? initial);
  const save = useCallback(
    (next: T) => {
      localStorage.setItem(key, next);
      setValue(next);
    },
    [key],
  );
  return [value, save];
}

/**
 * The database to query among those the token sees: the saved one while it is still among them,
 * else the client's default, else the first; '' when the token sees none.
 */
function chooseDatabase(visible: readonly string[], saved: string, fallback: string): string {
  if (visible.includes(saved)) return saved;
  return visible.includes(fallback) ? fallback : (visible[0] ?? '');
}

type Outcome =
  | { state: 'idle' }
  | { state: 'running'; engine: Engine }
  | { state: 'done'; result: QueryResult }
  | { state: 'failed'; error: unknown };

/**
 * `active`: the page stays mounted while hidden (app.tsx). `params` may carry `sql` and
 * `database` from a link elsewhere in the console ("query this table").
 */
export function QueryPage(props: { active: boolean; params: URLSearchParams }) {
  const client = useClient();
  const [sql, setSql] = useSaved<string>(SAVED.sql, '');
  // '' until chosen: the client's default database may not exist or may be out of the token's reach.
  const [savedDatabase, setDatabase] = useSaved<string>(SAVED.database, '');
  const [engine, setEngine] = useSaved<Engine>(SAVED.engine, 'browser');
  const [asOfVersion, setAsOfVersion] = useState('');
  const [outcome, setOutcome] = useState<Outcome>({ state: 'idle' });

  // Text from elsewhere (a link, a first visit, the test hook) goes through the editor, which reports it back.
  const editor = useRef<SqlEditorHandle | null>(null);
  const replaceSql = useCallback(
    (text: string) => {
      setSql(text);
      editor.current?.setText(text);
    },
    [setSql],
  );

  const databases = useAsync(() => client.databases.list(), [client]);
  const databaseNames = useMemo(
    () => (databases.state === 'done' ? databases.value.map((d) => d.name).sort() : undefined),
    [databases],
  );
  // Until the list loads the saved choice stands (the server judges it on a run).
  const database = databaseNames
    ? chooseDatabase(databaseNames, savedDatabase, client.database)
    : savedDatabase;
  const databaseHint =
    databases.state === 'failed'
      ? `The databases did not load: ${errorMessage(databases.error)}`
      : databaseNames?.length === 0
        ? 'This token sees no database: nothing to query.'
        : undefined;
  const tables = useAsync(() => client.tables.list(), [client]);
  const tableList = tables.state === 'done' ? tables.value : undefined;
  const completion = useMemo<SQLNamespace>(() => {
    const namespace: Record<string, Record<string, string[]>> = {};
    for (const t of tableList ?? [])
      namespace[t.database] = { ...namespace[t.database], [t.measurement]: [] };
    return namespace;
  }, [tableList]);

  // A first visit starts from a look at one of the tenant's tables (quoted: `default` is a keyword).
  const firstTable = tableList?.[0];
  // The browser engine starts while the user writes the first query.
  useEffect(preloadBrowserEngine, []);

  useEffect(() => {
    if (firstTable && localStorage.getItem(SAVED.sql) === null) {
      replaceSql(
        `SELECT * FROM ${quotedName(firstTable.database)}.${quotedName(firstTable.measurement)} ORDER BY time DESC LIMIT 100`,
      );
    }
  }, [firstTable, replaceSql]);

  const linkedSql = props.params.get('sql');
  const linkedDatabase = props.params.get('database');
  useEffect(() => {
    if (linkedSql === null) return;
    replaceSql(linkedSql);
    if (linkedDatabase) setDatabase(linkedDatabase);
    // The link has been followed; keep the address short and a reload from re-applying it.
    history.replaceState(null, '', '#/query');
  }, [linkedSql, linkedDatabase, replaceSql, setDatabase]);

  useEffect(() => exposeSetSql(replaceSql), [replaceSql]);

  // Ctrl-Enter in the editor (bound once) reaches the latest choices through this ref.
  const request = useRef({ sql, database, engine, asOfVersion });
  request.current = { sql, database, engine, asOfVersion };
  const running = useRef(false);

  const run = useCallback(async () => {
    const { sql, database, engine, asOfVersion } = request.current;
    if (running.current || sql.trim() === '') return;
    if (database === '') {
      // Ctrl-Enter while Run is disabled: the client would otherwise query its own default.
      const error = new Error('No database chosen: this token sees none, or the list has not loaded.');
      setOutcome({ state: 'failed', error });
      recordError(engine, error.message);
      return;
    }
    running.current = true;
    setOutcome({ state: 'running', engine });
    try {
      const version = asOfVersion.trim();
      const result = await runQuery(client, {
        sql,
        database,
        engine,
        ...(version ? { asOf: { version: Number(version) } } : {}),
      });
      setOutcome({ state: 'done', result });
      recordResult(result);
    } catch (error) {
      setOutcome({ state: 'failed', error });
      recordError(engine, errorMessage(error));
    } finally {
      running.current = false;
    }
  }, [client]);

  return (
    <section class="query-page" hidden={!props.active}>
      <PageHeader title="Query" />
      <QueryToolbar
        databases={databaseNames ?? []}
        database={database}
        databaseHint={databaseHint}
        onDatabase={setDatabase}
        engine={engine}
        onEngine={setEngine}
        asOfVersion={asOfVersion}
        onAsOfVersion={setAsOfVersion}
        running={outcome.state === 'running'}
        onRun={run}
      />
      <SqlEditor
        initialText={sql}
        handle={editor}
        onChange={setSql}
        onRun={run}
        tables={completion}
        database={database}
      />
      {outcome.state === 'running' && (
        <div class="result-status muted" data-testid="result-status">
          Running on the {outcome.engine === 'browser' ? 'browser (DuckDB-WASM)' : 'server'}…
        </div>
      )}
      {outcome.state === 'failed' && <ErrorBox error={outcome.error} testId="query-error" />}
      {outcome.state === 'done' && (
        <>
          <ResultStatus result={outcome.result} />
          <ResultChart result={outcome.result} />
          <ResultTable result={outcome.result} />
        </>
      )}
    </section>
  );
}
