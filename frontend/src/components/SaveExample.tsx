// "Save as verified example": the question (editable) and the query in the editor; Run checks and
// runs it read-only without saving and shows its rows; Save keeps it, only once the text in the
// editor is the one that ran without error. Also the add/edit form of the examples page.
import { Suspense, useId, useState } from "react";
import { Link } from "react-router-dom";
import type { Example } from "../api";
import { canSaveExample, saveHint, type LastRun } from "../lib/examples";
import { errorText, useCheckExample, useSaveExample } from "../lib/queries";
import type { QueryLanguage } from "../lib/queryText";
import { QueryEditor } from "./QueryBox";
import ResultTable from "./ResultTable";
import { Alert, Button } from "./ui";

export interface SaveExampleProps {
  connectionId: string;
  language: QueryLanguage;
  question: string;
  query: string;
  /** The answer it is saved from (its source is then "feedback"). */
  historyId?: string | null;
  /** The example being edited (PUT); absent: a new one. */
  exampleId?: string;
  title?: string;
  onSaved?: (example: Example) => void;
  onClose?: () => void;
  /** After saving, say so with a link to the examples page (the chat); the page itself does not need it. */
  linkAfterSave?: boolean;
}

export default function SaveExample({
  connectionId,
  language,
  question: initialQuestion,
  query: initialQuery,
  historyId = null,
  exampleId,
  title = "Save as verified example",
  onSaved,
  onClose,
  linkAfterSave = true,
}: SaveExampleProps) {
  const [question, setQuestion] = useState(initialQuestion);
  const [text, setText] = useState(initialQuery);
  const [lastRun, setLastRun] = useState<LastRun | null>(null);
  const [saved, setSaved] = useState<Example | null>(null);
  const check = useCheckExample();
  const save = useSaveExample();
  const questionId = useId();
  const busy = check.isPending || save.isPending;
  const state = { question, text, lastRun, busy };

  const run = () => {
    if (busy || !text.trim()) return;
    const sent = text;
    check.mutate({ connectionId, query: sent }, { onSuccess: (result) => setLastRun({ text: sent, result }) });
  };

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (!canSaveExample(state)) return;
    save.mutate(
      { connectionId, id: exampleId, body: { question: question.trim(), query: text, history_id: historyId } },
      {
        onSuccess: (example) => {
          setSaved(example);
          onSaved?.(example);
        },
      },
    );
  };

  if (saved && linkAfterSave) {
    return (
      <Alert kind="success">
        Saved as a verified example.{" "}
        <Link className="underline" to={`/connections/${connectionId}/examples`}>
          See the examples of this connection
        </Link>
      </Alert>
    );
  }

  const result = lastRun?.result;
  const hint = saveHint(state);
  return (
    <form
      className="flex flex-col gap-2 rounded border border-slate-300 bg-slate-100 p-3"
      aria-label={title}
      onSubmit={submit}
      data-testid="save-example"
    >
      <h3 className="text-sm font-semibold">{title}</h3>
      <div className="flex flex-col gap-1">
        <label htmlFor={questionId} className="text-sm font-medium text-slate-700">
          Question
        </label>
        <input
          id={questionId}
          value={question}
          maxLength={4000}
          onChange={(e) => setQuestion(e.target.value)}
          className="rounded border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900"
        />
      </div>
      <Suspense fallback={<p className="text-sm text-slate-600">Loading the editor…</p>}>
        <QueryEditor
          initial={initialQuery}
          language={language}
          connectionId={connectionId}
          label="The example's query"
          onChange={setText}
          onRun={run}
        />
      </Suspense>
      <div className="flex flex-wrap items-center gap-2">
        <Button variant="secondary" onClick={run} disabled={busy || !text.trim()}>
          {check.isPending ? "Running…" : "Run"}
        </Button>
        <Button type="submit" disabled={!canSaveExample(state)}>
          {save.isPending ? "Saving…" : "Save"}
        </Button>
        {onClose && (
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
        )}
        <span className="text-xs text-slate-600" role="status" data-testid="save-hint">
          {hint}
        </span>
      </div>
      {check.isError && <Alert>{errorText(check.error, "The query could not be checked.")}</Alert>}
      {result?.error && (
        <Alert kind="warning">
          <span data-testid="refusal">{result.error}</span>
        </Alert>
      )}
      {result && !result.error && result.executed && (
        <>
          <p className="text-xs text-slate-600" role="status">
            {result.row_count === 1 ? "1 row" : `${result.row_count.toLocaleString()} rows`}
            {result.truncated ? " (more than shown)" : ""}.
          </p>
          <ResultTable columns={result.columns} rows={result.rows} truncated={result.truncated} />
        </>
      )}
      {save.isError && <Alert>{errorText(save.error, "The example could not be saved.")}</Alert>}
    </form>
  );
}
