// An answer's query: formatted and wrapped, with Copy and "Edit and run". The editor (CodeMirror)
// is a separate chunk, loaded the first time an editor opens.
import { lazy, Suspense, useEffect, useState } from "react";
import { copyText } from "../lib/clipboard";
import { formatQuery, type QueryLanguage } from "../lib/queryText";
import { Button } from "./ui";

export const QueryEditor = lazy(() => import("./QueryEditor"));

/** `query` formatted for reading (SQL by sql-formatter, loaded on first use); raw until then. */
export function useFormatted(query: string, language: string): string {
  const [formatted, setFormatted] = useState<{ from: string; text: string } | null>(null);
  useEffect(() => {
    let alive = true;
    formatQuery(query, language).then((text) => alive && setFormatted({ from: query, text }));
    return () => {
      alive = false;
    };
  }, [query, language]);
  return formatted && formatted.from === query ? formatted.text : query;
}

/** The editor with its Run button: Ctrl/Cmd+Enter runs too. */
export function EditorWithRun({
  initial,
  language,
  connectionId,
  label,
  busy,
  onRun,
  onClose,
}: {
  initial: string;
  language: QueryLanguage;
  connectionId: string;
  label: string;
  busy: boolean;
  onRun: (query: string) => void;
  onClose?: () => void;
}) {
  const [text, setText] = useState(initial);
  const run = () => {
    if (!busy && text.trim()) onRun(text);
  };
  return (
    <div className="flex flex-col gap-2">
      <Suspense fallback={<p className="text-sm text-slate-600">Loading the editor…</p>}>
        <QueryEditor
          initial={initial}
          language={language}
          connectionId={connectionId}
          label={label}
          onChange={setText}
          onRun={run}
        />
      </Suspense>
      <div className="flex flex-wrap items-center gap-2">
        <Button onClick={run} disabled={busy || !text.trim() || !connectionId}>
          {busy ? "Running…" : "Run"}
        </Button>
        {onClose && (
          <Button variant="secondary" onClick={onClose}>
            Close the editor
          </Button>
        )}
        <span className="text-xs text-slate-500">
          Ctrl+Enter (⌘+Enter) runs it. Only read-only queries run; anything else is refused with the reason.
        </span>
      </div>
    </div>
  );
}

export default function QueryBox({
  query,
  language,
  executed,
  connectionId,
  onRun,
}: {
  query: string;
  language: string;
  executed: boolean;
  /** Where "Edit and run" runs; without it (or `onRun`) the query is read-only. */
  connectionId: string | null;
  onRun?: (query: string) => Promise<void>;
}) {
  const [copied, setCopied] = useState<"yes" | "no" | null>(null);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const shown = useFormatted(query, language);
  const lang: QueryLanguage = language === "mongo" ? "mongo" : "sql";
  return (
    <div>
      <div className="flex flex-wrap items-center gap-2">
        <span className="text-xs font-medium text-slate-600">
          {language === "mongo" ? "Pipeline" : "SQL"} {executed ? "that ran" : "(not run)"}
        </span>
        <Button variant="secondary" onClick={() => copyText(shown).then((ok) => setCopied(ok ? "yes" : "no"))}>
          {copied === "yes" ? "Copied" : "Copy query"}
        </Button>
        {onRun && connectionId && !editing && (
          <Button variant="secondary" onClick={() => setEditing(true)}>
            Edit and run
          </Button>
        )}
      </div>
      {copied === "no" && (
        <p className="text-xs text-slate-600">This browser refused to copy: select the query and copy it.</p>
      )}
      {editing && onRun && connectionId ? (
        <div className="mt-1">
          <EditorWithRun
            initial={shown}
            language={lang}
            connectionId={connectionId}
            label="Edit the query"
            busy={busy}
            onClose={() => setEditing(false)}
            onRun={(text) => {
              setBusy(true);
              onRun(text).finally(() => setBusy(false));
            }}
          />
        </div>
      ) : (
        <pre
          className="mono mt-1 whitespace-pre-wrap break-words rounded bg-slate-900 p-2 text-xs text-slate-100"
          data-testid="query"
        >
          {shown}
        </pre>
      )}
    </div>
  );
}
