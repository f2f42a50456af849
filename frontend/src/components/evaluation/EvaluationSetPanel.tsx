import { useId, useState, type FormEvent } from "react";
import type { EvaluationImportResult } from "../../api";
import { guessFormat } from "../../lib/evaluation";
import { errorText, useClearEvaluationSet, useEvaluationSet, useImportEvaluationSet } from "../../lib/queries";
import { Alert, Button, SelectField } from "../ui";

const EXAMPLE = '{"question": "How many films are there?", "query": "SELECT count(*) FROM film"}';

/** A connection's evaluation set: its size and questions, and an import from a file or pasted text. */
export default function EvaluationSetPanel({ connectionId }: { connectionId: string }) {
  const setQuery = useEvaluationSet(connectionId);
  const importSet = useImportEvaluationSet(connectionId);
  const clearSet = useClearEvaluationSet(connectionId);
  const [content, setContent] = useState("");
  const [fileName, setFileName] = useState("");
  const [format, setFormat] = useState<"auto" | "jsonl" | "csv">("auto");
  const [mode, setMode] = useState<"replace" | "append">("replace");
  const [result, setResult] = useState<EvaluationImportResult | null>(null);
  const fileId = useId();
  const pasteId = useId();
  const set = setQuery.data;

  async function readFile(file: File | undefined) {
    if (!file) return;
    setFileName(file.name);
    setContent(await file.text());
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    setResult(null);
    const chosen = format === "auto" ? guessFormat(fileName, content) : format;
    importSet.mutate({ format: chosen, content, mode }, { onSuccess: setResult });
  }

  const loadError = errorText(setQuery.error, "Could not load the evaluation set.");
  const importError = errorText(importSet.error, "The import failed.");
  return (
    <section aria-labelledby="set-heading" className="flex flex-col gap-3 rounded border border-slate-200 bg-white p-4">
      <h2 id="set-heading" className="text-lg font-semibold text-slate-900">
        Evaluation set
      </h2>
      {loadError && <Alert>{loadError}</Alert>}
      {set && (
        <p className="text-sm text-slate-700" data-testid="set-size">
          {set.total === 1 ? "1 question" : `${set.total} questions`} with their expected{" "}
          {set.language === "mongo" ? "pipeline" : "SQL"} (at most {set.max_cases}).
        </p>
      )}
      {set && set.total > 0 && (
        <details className="text-sm">
          <summary className="cursor-pointer text-blue-700">Show the questions</summary>
          <ol className="mt-2 flex list-decimal flex-col gap-2 pl-6">
            {set.cases.map((c) => (
              <li key={c.position}>
                <span className="text-slate-900">{c.question}</span>
                <pre className="mt-1 overflow-x-auto whitespace-pre-wrap break-all rounded bg-slate-100 p-2 text-xs">
                  {c.expected_query}
                </pre>
              </li>
            ))}
          </ol>
        </details>
      )}
      <form onSubmit={submit} className="flex flex-col gap-3" aria-label="Import an evaluation set">
        <p className="text-xs text-slate-600">
          JSONL, one question a line: <code className="break-all">{EXAMPLE}</code> (for MongoDB, the query is{" "}
          <code>{'{"collection", "pipeline"}'}</code>); or CSV with a <code>question,query</code> header. Each query is
          checked by the read-only guard; refused lines are listed, not imported.
        </p>
        <div className="flex flex-col gap-1">
          <label htmlFor={fileId} className="text-sm font-medium text-slate-700">
            File (.jsonl or .csv)
          </label>
          <input
            id={fileId}
            type="file"
            accept=".jsonl,.json,.ndjson,.csv,.txt,text/csv,application/json"
            onChange={(e) => void readFile(e.target.files?.[0])}
            className="text-sm"
          />
        </div>
        <div className="flex flex-col gap-1">
          <label htmlFor={pasteId} className="text-sm font-medium text-slate-700">
            Or paste the lines
          </label>
          <textarea
            id={pasteId}
            value={content}
            onChange={(e) => setContent(e.target.value)}
            rows={5}
            spellCheck={false}
            className="rounded border border-slate-300 px-3 py-2 font-mono text-xs"
          />
        </div>
        <div className="flex flex-wrap items-end gap-3">
          <SelectField label="Format" value={format} onChange={(e) => setFormat(e.target.value as typeof format)}>
            <option value="auto">From the file</option>
            <option value="jsonl">JSONL</option>
            <option value="csv">CSV</option>
          </SelectField>
          <SelectField label="Existing questions" value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
            <option value="replace">Replace them</option>
            <option value="append">Keep them, add these</option>
          </SelectField>
          <Button type="submit" disabled={!content.trim() || importSet.isPending}>
            {importSet.isPending ? "Importing…" : "Import"}
          </Button>
          {set && set.total > 0 && (
            <Button
              variant="secondary"
              disabled={clearSet.isPending}
              onClick={() => {
                if (window.confirm("Delete every question of the evaluation set? Runs already made stay.")) {
                  setResult(null);
                  clearSet.mutate();
                }
              }}
            >
              Clear the set
            </Button>
          )}
        </div>
      </form>
      {importError && <Alert>{importError}</Alert>}
      {result && (
        <Alert kind={result.refused.length ? "warning" : "success"}>
          <p>
            Imported {result.added === 1 ? "1 question" : `${result.added} questions`}; the set now holds {result.total}
            .
            {result.refused.length > 0 &&
              ` ${result.refused.length === 1 ? "1 line was" : `${result.refused.length} lines were`} refused:`}
          </p>
          {result.refused.length > 0 && (
            <ul className="mt-1 list-disc pl-5" aria-label="Refused lines">
              {result.refused.map((r) => (
                <li key={`${r.line}-${r.reason}`}>
                  Line {r.line}: {r.reason}
                </li>
              ))}
            </ul>
          )}
        </Alert>
      )}
    </section>
  );
}
