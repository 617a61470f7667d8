/**
 * The SQL editor: CodeMirror 6 with SQL highlighting, completion of keywords and of the tenant's
 * `db.table` names, and Ctrl/Cmd-Enter to run. The editor owns its text and reports each change;
 * a parent that wants another text says so through `handle`. (Following a `text` prop instead
 * races the typing: effects run after a render, so they would write back a text already stale.)
 */
import {
  autocompletion,
  closeBrackets,
  closeBracketsKeymap,
  completionKeymap,
} from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { PostgreSQL, type SQLNamespace, sql } from '@codemirror/lang-sql';
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language';
import { Compartment, EditorState, Prec } from '@codemirror/state';
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  placeholder,
} from '@codemirror/view';
import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

export interface SqlEditorHandle {
  setText(text: string): void;
}

export interface SqlEditorProps {
  /** The text when the editor opens. */
  readonly initialText: string;
  readonly handle: RefObject<SqlEditorHandle | null>;
  readonly onChange: (text: string) => void;
  readonly onRun: () => void;
  /** Completion: `{db: {table: []}}`; bare names complete in `database`. */
  readonly tables: SQLNamespace;
  readonly database: string;
}

/** DuckDB's SQL is closest to PostgreSQL's among the dialects CodeMirror knows. */
const language = (props: Pick<SqlEditorProps, 'tables' | 'database'>) =>
  sql({ dialect: PostgreSQL, schema: props.tables, defaultSchema: props.database });

export function SqlEditor(props: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const languageSlot = useRef(new Compartment());
  // The editor is made once: its callbacks reach the current props through `latest`, and the
  // completion schema follows through the effect below.
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.initialText,
        extensions: [
          Prec.highest(
            keymap.of([
              {
                key: 'Mod-Enter',
                run: () => {
                  latest.current.onRun();
                  return true;
                },
              },
            ]),
          ),
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightSpecialChars(),
          drawSelection(),
          history(),
          indentOnInput(),
          bracketMatching(),
          closeBrackets(),
          autocompletion(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          keymap.of([
            ...closeBracketsKeymap,
            ...completionKeymap,
            ...historyKeymap,
            ...defaultKeymap,
            indentWithTab,
          ]),
          placeholder('SELECT … — Ctrl/Cmd-Enter runs'),
          languageSlot.current.of(language(props)),
          EditorView.lineWrapping,
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    props.handle.current = {
      setText: (text) => editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } }),
    };
    return () => {
      props.handle.current = null;
      editor.destroy();
    };
  }, []);

  useEffect(() => {
    view.current?.dispatch({
      effects: languageSlot.current.reconfigure(language({ tables: props.tables, database: props.database })),
    });
  }, [props.tables, props.database]);

  return <div class="sql-editor" data-testid="sql-editor" ref={host} />;
}
