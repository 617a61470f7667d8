/** The controls above the editor: database, engine, catalog version, Run. */
import type { Engine } from './result.js';

export interface QueryToolbarProps {
  /** Sorted; empty while they load. */
  readonly databases: readonly string[];
  /** '' when none is chosen: Run is disabled. */
  readonly database: string;
  /** Why the picker is empty. */
  readonly databaseHint?: string | undefined;
  readonly onDatabase: (database: string) => void;
  readonly engine: Engine;
  readonly onEngine: (engine: Engine) => void;
  /** Empty: the latest version. */
  readonly asOfVersion: string;
  readonly onAsOfVersion: (version: string) => void;
  readonly running: boolean;
  readonly onRun: () => void;
}

const ENGINES: readonly { engine: Engine; label: string; title: string }[] = [
  {
    engine: 'browser',
    label: 'Browser',
    title: 'DuckDB-WASM in this page, over Parquet read from signed URLs',
  },
  { engine: 'server', label: 'Server', title: 'DuckDB on the Weir server' },
];

export function QueryToolbar(props: QueryToolbarProps) {
  // A remembered database shows as chosen while the list loads.
  const databases =
    props.database === '' || props.databases.includes(props.database)
      ? props.databases
      : [props.database, ...props.databases];
  return (
    <div class="toolbar">
      <label class="field-inline">
        <span>Database</span>
        <select
          data-testid="database-select"
          value={props.database}
          onChange={(e) => props.onDatabase(e.currentTarget.value)}
        >
          {databases.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      {props.databaseHint && (
        <span class="muted hint" data-testid="database-hint">
          {props.databaseHint}
        </span>
      )}
      <fieldset class="segmented" aria-label="Engine">
        {ENGINES.map(({ engine, label, title }) => (
          <label key={engine} title={title} class={props.engine === engine ? 'checked' : ''}>
            <input
              type="radio"
              name="engine"
              value={engine}
              data-testid={`engine-${engine}`}
              checked={props.engine === engine}
              onChange={() => props.onEngine(engine)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <label class="field-inline" title="Read the catalog as it was at this version; empty for the latest">
        <span>As of version</span>
        <input
          class="version-input"
          type="number"
          min={0}
          placeholder="latest"
          value={props.asOfVersion}
          onInput={(e) => props.onAsOfVersion(e.currentTarget.value)}
        />
      </label>
      <span class="toolbar-spacer" />
      <span class="muted hint">Ctrl/Cmd-Enter</span>
      <button
        type="button"
        class="primary"
        data-testid="run-query"
        disabled={props.running || props.database === ''}
        onClick={props.onRun}
      >
        {props.running ? 'Running…' : 'Run'}
      </button>
    </div>
  );
}
