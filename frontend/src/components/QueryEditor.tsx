// The query editor: CodeMirror 6 with PostgreSQL highlighting and completion of the connection's
// tables and columns, or JSON for a Mongo pipeline. This module (and CodeMirror with it) is loaded
// only when an editor opens: import it with React.lazy, never statically.
import { autocompletion, completeFromList, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { json } from "@codemirror/lang-json";
import { PostgreSQL, sql } from "@codemirror/lang-sql";
import { bracketMatching, defaultHighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorState, Prec, type Extension } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { useEffect, useRef } from "react";
import type { DbObject } from "../api";
import { useAuth } from "../auth";
import { mongoCompletionWords, sqlCompletionSchema, type QueryLanguage } from "../lib/queryText";

// A connection's schema, fetched once per connection while the page lives.
const schemas = new Map<string, Promise<DbObject[]>>();

export interface QueryEditorProps {
  /** The text the editor starts with; later changes come back through `onChange`. */
  initial: string;
  language: QueryLanguage;
  connectionId: string;
  label: string;
  onChange: (text: string) => void;
  /** Ctrl/Cmd+Enter. */
  onRun: () => void;
}

export function languageExtension(language: QueryLanguage, objects: DbObject[]): Extension {
  if (language === "mongo") {
    const words = mongoCompletionWords(objects);
    return [json(), autocompletion({ override: [completeFromList(words)] })];
  }
  const { namespace, defaultSchema } = sqlCompletionSchema(objects);
  return [sql({ dialect: PostgreSQL, schema: namespace, defaultSchema, upperCaseKeywords: true }), autocompletion()];
}

export default function QueryEditor({ initial, language, connectionId, label, onChange, onRun }: QueryEditorProps) {
  const { api } = useAuth();
  const host = useRef<HTMLDivElement | null>(null);
  // The latest callbacks, read by the editor's listeners (which are set up once).
  const callbacks = useRef({ onChange, onRun });
  useEffect(() => {
    callbacks.current = { onChange, onRun };
  });

  useEffect(() => {
    if (!host.current) return;
    const languageSlot = new Compartment();
    const view = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          history(),
          bracketMatching(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          EditorView.lineWrapping,
          placeholder(language === "mongo" ? '{"collection": "…", "pipeline": [ … ]}' : "SELECT …"),
          Prec.highest(
            keymap.of([
              {
                key: "Mod-Enter",
                run: () => {
                  callbacks.current.onRun();
                  return true;
                },
              },
            ]),
          ),
          keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap]),
          languageSlot.of(languageExtension(language, [])),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) callbacks.current.onChange(update.state.doc.toString());
          }),
          EditorView.contentAttributes.of({ "aria-label": label, "data-testid": "query-editor" }),
          EditorView.theme({
            // Light in both themes: the highlight colours are made for a light background.
            "&": { fontSize: "0.8125rem", maxHeight: "24rem", backgroundColor: "#ffffff", color: "#0f172a" },
            ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace", overflow: "auto" },
            ".cm-content": { minHeight: "5rem" },
          }),
        ],
      }),
    });
    view.focus();
    let alive = true;
    let known = schemas.get(connectionId);
    if (!known) {
      known = api.schema(connectionId).then((s) => s.objects);
      known.catch(() => schemas.delete(connectionId));
      schemas.set(connectionId, known);
    }
    known
      .then((objects) => {
        if (alive) view.dispatch({ effects: languageSlot.reconfigure(languageExtension(language, objects)) });
      })
      .catch(() => undefined); // no completion of names; the editor works without it
    return () => {
      alive = false;
      view.destroy();
    };
    // The editor is made once per mount; `initial` is only its starting text.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, connectionId, language]);

  return <div ref={host} className="query-editor overflow-hidden rounded border border-slate-300" />;
}
